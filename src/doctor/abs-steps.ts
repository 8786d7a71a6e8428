/**
 * `walship doctor` for an Azure Blob Storage replica: how it was understood, the endpoint's name, TCP,
 * TLS, where the account key comes from, the container (a listing: the key and the container in one
 * request), and a put/get/delete probe. Each step needs the one before it.
 */
import type { AbsTarget } from "../config/replica-target.ts";
import { generationsPath } from "../format/layout.ts";
import { StorageError } from "../storage/object-store.ts";
import { describeTarget, openReplicaClient } from "../storage/open.ts";
import type { ReplicaClient } from "../storage/replica-client.ts";
import { handshakeTls } from "./network.ts";
import { reachSteps } from "./reach-steps.ts";
import { errCode, failedStep, probeStep, type Step, skipRest } from "./step.ts";

export async function absSteps(
  target: AbsTarget,
  env: (name: string) => string | undefined,
  steps: Step[],
): Promise<ReplicaClient | undefined> {
  const detail = Object.entries(describeTarget(target))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  steps.push({ name: "understood", status: "ok", detail });
  const endpoint = new URL(describeTarget(target).endpoint!);
  const port = Number(endpoint.port) || (endpoint.protocol === "http:" ? 80 : 443);
  const later = ["tls", "credentials", "container", "probe"];
  const reached = await reachSteps(endpoint.hostname, port, steps, {
    hostFix: "check account-name (the endpoint is https://ACCOUNT.blob.core.windows.net) or endpoint",
    server: "Blob Storage endpoint",
  });
  if (!reached) return void skipRest(steps, later);

  if (endpoint.protocol === "http:")
    steps.push({ name: "tls", status: "skip", detail: "plain HTTP: no TLS" });
  else {
    try {
      const info = await handshakeTls(endpoint.hostname, port, { skipVerify: false });
      steps.push({
        name: "tls",
        status: "ok",
        detail: `${info.protocol}, certificate verified, issuer ${info.issuer}`,
      });
    } catch (err) {
      steps.push({
        name: "tls",
        status: "fail",
        detail: `TLS handshake failed (${errCode(err)})`,
        cause: "the endpoint does not speak TLS, or its certificate is not trusted here",
        fix: "check endpoint (http:// for a plain-HTTP emulator such as Azurite)",
      });
      return void skipRest(steps, later.slice(1));
    }
  }

  let client: ReplicaClient;
  try {
    client = openReplicaClient(target, {}, env);
  } catch (err) {
    steps.push(failedStep("credentials", err, "there is no account key to sign requests with"));
    return void skipRest(steps, later.slice(2));
  }
  const source = target.accountKey ? "account-key in the config" : "LITESTREAM_AZURE_ACCOUNT_KEY";
  steps.push({ name: "credentials", status: "ok", detail: `account key from ${source}` });
  try {
    const gens = await client.generations();
    steps.push({
      name: "container",
      status: "ok",
      detail: `container ${target.container} is readable; ${gens.length} generation(s) under ${generationsPath(target.path)}/`,
    });
  } catch (err) {
    const code = err instanceof StorageError ? err.code : undefined;
    const cause =
      code === "no-bucket"
        ? `the container "${target.container}" does not exist`
        : code === "credentials-rejected" || code === "access-denied"
          ? `the account key was refused, or may not use container "${target.container}" (key from ${source})`
          : "the endpoint did not answer the listing";
    steps.push(failedStep("container", err, cause));
    return void skipRest(steps, ["probe"]);
  }
  steps.push(await probeStep(client, `abs://${target.accountName}@${target.container}/${target.path}`));
  return client;
}
