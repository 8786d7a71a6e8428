/**
 * `walship doctor` for an SFTP replica: how it was understood, the name, TCP, the server's host key, the
 * login, the replica directory and a put/get/delete probe. Each step needs the one before it.
 */
import type { SftpTarget } from "../config/replica-target.ts";
import { generationsPath } from "../format/layout.ts";
import { StorageError } from "../storage/object-store.ts";
import { describeTarget, openSftpStore } from "../storage/open.ts";
import { ReplicaClient } from "../storage/replica-client.ts";
import { sha256Fingerprint, wireKeyType } from "../storage/ssh-known-hosts.ts";
import { reachSteps } from "./reach-steps.ts";
import { failedStep, probeStep, type Step, skipRest } from "./step.ts";

export async function sftpSteps(
  target: SftpTarget,
  env: (name: string) => string | undefined,
  steps: Step[],
): Promise<ReplicaClient> {
  let offered: Buffer | undefined;
  const store = openSftpStore(target, env, (key) => {
    offered = key;
  });
  const client = new ReplicaClient(store);
  steps.push(understoodStep(target));
  const at = `${target.host}:${target.port}`;
  const reached = await reachSteps(target.host, target.port, steps, {
    hostFix: "check host in the replica (or the sftp:// URL); an IP address works too",
    server: "SSH server",
  });
  if (!reached) {
    skipRest(steps, ["host-key", "login", "directory", "probe"]);
    return client;
  }

  let gens: string[] | undefined;
  let failure: unknown;
  try {
    gens = await client.generations();
  } catch (err) {
    failure = err;
  }
  const code = failure instanceof StorageError ? failure.code : undefined;
  const hostKeyFailed = code === "host-key-unknown" || code === "host-key-mismatch";
  if (offered === undefined) {
    steps.push(failedStep("host-key", failure, "the server did not complete the SSH handshake"));
    skipRest(steps, ["login", "directory", "probe"]);
    return client;
  }
  const fingerprint = `${sha256Fingerprint(offered)} (${wireKeyType(offered)})`;
  if (hostKeyFailed) {
    steps.push(failedStep("host-key", failure, `the server's host key ${fingerprint} is not trusted`));
    skipRest(steps, ["login", "directory", "probe"]);
    return client;
  }
  steps.push(
    target.hostKey.kind === "ignore"
      ? {
          name: "host-key",
          status: "warn",
          detail: `${fingerprint}, NOT checked (insecure-ignore-host-key)`,
          cause: "anyone between this host and the server can read and replace the backups",
          fix: `pin it: host-key-fingerprint: ${sha256Fingerprint(offered)}`,
        }
      : { name: "host-key", status: "ok", detail: `${fingerprint} is trusted (${target.hostKey.kind})` },
  );
  if (code === "credentials-rejected") {
    steps.push(failedStep("login", failure, `the server refused ${target.user}'s login`));
    skipRest(steps, ["directory", "probe"]);
    return client;
  }
  steps.push({ name: "login", status: "ok", detail: `logged in as ${target.user}` });
  if (gens === undefined) {
    steps.push(failedStep("directory", failure, `cannot list ${target.path}`));
    skipRest(steps, ["probe"]);
    return client;
  }
  steps.push({
    name: "directory",
    status: "ok",
    detail: `${gens.length} generation(s) under ${generationsPath(target.path)}/`,
  });
  steps.push(await probeStep(client, `${at}:${target.path}`));
  return client;
}

function understoodStep(target: SftpTarget): Step {
  const detail = Object.entries(describeTarget(target))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return { name: "understood", status: "ok", detail };
}
