/**
 * `walship doctor`: checks a replica target step by step (how it was understood, name resolution, TCP,
 * TLS, credentials, bucket access, a put/get/delete probe, clock skew, whether the age identities open
 * the newest object) and says, for each failure, the
 * likely cause and the fix. Never prints a secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AgeConfig } from "../config/age-config.ts";
import { type Credentials, findCredentials } from "../config/credentials.ts";
import { DEFAULT_REGION, type ReplicaTarget, type S3Target } from "../config/replica-target.ts";
import { generationsPath } from "../format/layout.ts";
import { readFileAt } from "../io/file-io.ts";
import { errorHint, errorMessage } from "../observe/error-text.ts";
import { MetaDirectory } from "../replicate/meta-directory.ts";
import { decodeDbHeader } from "../sqlite/db-header.ts";
import { networkAdvice } from "../storage/network-advice.ts";
import { classifyNetworkError, type NetworkFailure } from "../storage/network-error.ts";
import { StorageError } from "../storage/object-store.ts";
import { describeTarget, openReplicaClient } from "../storage/open.ts";
import type { ReplicaClient } from "../storage/replica-client.ts";
import { ambiguityHint } from "../storage/s3-errors.ts";
import { storageAdvice } from "../storage/storage-advice.ts";
import { isRefusal } from "../storage/storage-refusal.ts";
import { absSteps } from "./abs-steps.ts";
import { encryptionStep } from "./encryption-step.ts";
import {
  connectTcp,
  type Endpoint,
  handshakeTls,
  parseEndpoint,
  resolveHost,
  serverDate,
} from "./network.ts";
import { sftpSteps } from "./sftp-steps.ts";
import { errCode, probeStep, type Step, skipRest } from "./step.ts";

export interface TargetReport {
  /** Replica name, or "url" for a URL given on the command line. */
  replica: string;
  db?: string;
  target: Record<string, string>;
  steps: Step[];
  ok: boolean;
}

export interface DiagnoseInput {
  replica: string;
  db?: string;
  target: ReplicaTarget;
  /** Keys from the config (replica or global), if any. */
  configCredentials: Credentials;
  /** The replica's age keys from the config, if any. */
  age?: AgeConfig | undefined;
  env: (name: string) => string | undefined;
}

/** S3 rejects requests whose clock is off by more than 15 minutes (RequestTimeTooSkewed). */
const MAX_SKEW_MS = 15 * 60 * 1000;
const WARN_SKEW_MS = 60 * 1000;

export async function diagnoseReplica(input: DiagnoseInput): Promise<TargetReport> {
  const steps: Step[] = [];
  const { target } = input;
  const credentials = resolveCredentialSource(input);
  let client: ReplicaClient | undefined;
  if (target.type === "sftp") client = await sftpSteps(target, input.env, steps);
  else if (target.type === "abs") client = await absSteps(target, input.env, steps);
  else {
    client = openReplicaClient(target, credentials.credentials, input.env);
    if (target.type === "file") await fileSteps(target.path, client, steps);
    else await s3Steps(s3Check(target, client, credentials.source, input.env), steps);
  }
  // Only once the replica can be read at all.
  if (client && steps.every((s) => s.status !== "fail")) steps.push(await encryptionStep(client, input.age));
  const report: TargetReport = {
    replica: input.replica,
    target: describeTarget(target),
    steps,
    ok: steps.every((s) => s.status !== "fail"),
  };
  if (input.db) report.db = input.db;
  return report;
}

async function fileSteps(dir: string, client: ReplicaClient, steps: Step[]): Promise<void> {
  steps.push({ name: "understood", status: "ok", detail: `directory replica at ${dir}` });
  const existing = nearestExisting(dir);
  if (existing !== dir) {
    steps.push({
      name: "directory",
      status: "ok",
      detail: `${dir} does not exist yet; it will be created under ${existing}`,
    });
  } else if (!fs.statSync(dir).isDirectory()) {
    steps.push({
      name: "directory",
      status: "fail",
      detail: `${dir} is not a directory`,
      cause: "a file has the replica directory's name",
      fix: "point the replica at a directory",
    });
    return;
  } else {
    steps.push({ name: "directory", status: "ok", detail: `${dir} exists` });
  }
  steps.push(await probeStep(client, `${dir}/`));
}

function nearestExisting(p: string): string {
  let d = p;
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

/** What the S3 steps share: the target, where its requests go, and how TLS is checked. */
interface S3Check {
  target: S3Target;
  client: ReplicaClient;
  credentialSource: string;
  /** The endpoint URL requests go to: the configured one, else AWS's for the region. */
  endpoint: string;
  ep: Endpoint;
  /** The host requests go to: BUCKET.HOST with virtual-hosted addressing. */
  host: string;
  /** For a dotted URL host read as an AWS bucket: what the user more likely meant. */
  ambiguity: string | undefined;
  tls: { skipVerify: boolean; caFile?: string | undefined };
}

/**
 * Each step needs the one before it: a name that does not resolve leaves nothing to connect to, and
 * so on. A failure skips the rest, except that the clock is read from any server that was reached.
 */
async function s3Steps(s3: S3Check, steps: Step[]): Promise<void> {
  steps.push(understoodStep(s3));
  const dns = await dnsStep(s3);
  steps.push(dns.step);
  if (dns.addresses === undefined)
    return skipRest(steps, ["tcp", "tls", "credentials", "bucket", "probe", "clock"]);
  const tcp = await tcpStep(s3, dns.addresses[0]!);
  steps.push(tcp);
  if (tcp.status === "fail") return skipRest(steps, ["tls", "credentials", "bucket", "probe", "clock"]);
  const tls = await tlsStep(s3);
  steps.push(tls);
  if (tls.status === "fail") return skipRest(steps, ["credentials", "bucket", "probe", "clock"]);
  steps.push({ name: "credentials", status: "ok", detail: s3.credentialSource });
  const bucket = await bucketStep(s3);
  steps.push(bucket);
  if (bucket.status === "fail") skipRest(steps, ["probe"]);
  else steps.push(await probeStep(s3.client, `s3://${s3.target.bucket}/${s3.target.path}`));
  steps.push(await clockStep(s3));
}

function s3Check(
  target: S3Target,
  client: ReplicaClient,
  credentialSource: string,
  env: (name: string) => string | undefined,
): S3Check {
  const endpoint = target.endpoint ?? `https://s3.${target.region ?? DEFAULT_REGION}.amazonaws.com`;
  const ep = parseEndpoint(endpoint);
  return {
    target,
    client,
    credentialSource,
    endpoint,
    ep,
    host: target.forcePathStyle || !target.endpoint ? ep.host : `${target.bucket}.${ep.host}`,
    ambiguity: target.ambiguousHost ? ambiguityHint(target.bucket, target.path) : undefined,
    tls: { skipVerify: target.skipVerify, caFile: target.caFile ?? env("AWS_CA_BUNDLE") },
  };
}

/** How the target was understood; a warning when the URL may have meant something else. */
function understoodStep({ target, ambiguity }: S3Check): Step {
  const understood = Object.entries(describeTarget(target))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const source = target.endpointSource ? ` (endpoint from ${target.endpointSource})` : "";
  const detail = `${understood}${source}`;
  if (ambiguity === undefined) return { name: "understood", status: "ok", detail };
  return {
    name: "understood",
    status: "warn",
    detail,
    cause: `the URL host "${target.bucket}" contains dots and no endpoint was given, so it is an AWS bucket name`,
    fix: ambiguity,
  };
}

/** Resolves the host; `addresses` is absent when the name does not resolve. */
async function dnsStep({
  host,
  endpoint,
  ambiguity,
}: S3Check): Promise<{ step: Step; addresses?: string[] }> {
  try {
    const addresses = await resolveHost(host);
    return {
      step: { name: "dns", status: "ok", detail: `${host} resolves to ${addresses.join(", ")}` },
      addresses,
    };
  } catch (err) {
    const advice = adviceFor(err, "dns", endpoint);
    return {
      step: {
        name: "dns",
        status: "fail",
        detail: `${host} does not resolve (${errCode(err)})`,
        cause: advice.cause,
        fix: ambiguity ?? advice.fix,
      },
    };
  }
}

async function tcpStep({ ep, endpoint }: S3Check, address: string): Promise<Step> {
  try {
    const ms = await connectTcp(address, ep.port);
    return { name: "tcp", status: "ok", detail: `connected to ${address}:${ep.port} in ${ms} ms` };
  } catch (err) {
    return {
      name: "tcp",
      status: "fail",
      detail: `cannot connect to ${address}:${ep.port} (${errCode(err)})`,
      ...adviceFor(err, "timeout", endpoint),
    };
  }
}

/** The TLS handshake, with the certificate checked as the S3 client checks it; skipped for plain HTTP. */
async function tlsStep({ target, ep, host, endpoint, tls }: S3Check): Promise<Step> {
  if (ep.protocol === "http:") return { name: "tls", status: "skip", detail: "plain HTTP: no TLS" };
  try {
    const info = await handshakeTls(host, ep.port, tls);
    const how = target.skipVerify ? "certificate NOT verified (skip-verify)" : "certificate verified";
    return {
      name: "tls",
      status: target.skipVerify ? "warn" : "ok",
      detail: `${info.protocol}, ${how}, subject ${info.subject || "?"}, issuer ${info.issuer || "?"}, valid to ${info.validTo}`,
      ...(target.skipVerify
        ? {
            cause: "skip-verify is on",
            fix: "trust the server's CA with ca-file: PATH instead of skipping verification",
          }
        : {}),
    };
  } catch (err) {
    return {
      name: "tls",
      status: "fail",
      detail: `TLS handshake failed (${errCode(err)}: ${errorMessage(err)})`,
      ...adviceFor(err, "tls-other", endpoint),
    };
  }
}

/** Lists the replica's generations: the credentials, the bucket and read access, in one request. */
async function bucketStep({ target, client, credentialSource, endpoint }: S3Check): Promise<Step> {
  try {
    const gens = await client.generations();
    return {
      name: "bucket",
      status: "ok",
      detail: `bucket ${target.bucket} is readable; ${gens.length} generation(s) under ${generationsPath(target.path)}/`,
    };
  } catch (err) {
    return {
      name: "bucket",
      status: "fail",
      detail: errorMessage(err),
      ...bucketAdvice(err, target.bucket, credentialSource, endpoint),
    };
  }
}

/** Compares this host's clock with the server's Date header. */
async function clockStep({ endpoint, tls }: S3Check): Promise<Step> {
  try {
    const server = await serverDate(endpoint, tls);
    // The Date header has whole seconds: allow for that and the round trip.
    const skew = Date.now() - server.getTime();
    const abs = Math.abs(skew);
    const detail = `local clock is ${(skew / 1000).toFixed(1)} s ${skew >= 0 ? "ahead of" : "behind"} the server`;
    if (abs > MAX_SKEW_MS) {
      return {
        name: "clock",
        status: "fail",
        detail,
        cause: "S3 rejects signed requests more than 15 minutes off (RequestTimeTooSkewed)",
        fix: "synchronise this host's clock (e.g. enable systemd-timesyncd or chrony)",
      };
    }
    if (abs > WARN_SKEW_MS) {
      return {
        name: "clock",
        status: "warn",
        detail,
        cause: "a drifting clock",
        fix: "synchronise this host's clock; point-in-time restore relies on server timestamps",
      };
    }
    return { name: "clock", status: "ok", detail };
  } catch (err) {
    return { name: "clock", status: "warn", detail: `cannot read the server's clock (${errorMessage(err)})` };
  }
}

/** Where the credentials come from, by the same order the S3 layer uses. Never includes a value. */
function resolveCredentialSource(input: DiagnoseInput): { source: string; credentials: Credentials } {
  const { source, credentials } = findCredentials(input.configCredentials, input.env);
  if (source === "config")
    return { source: "config file keys (access-key-id/secret-access-key)", credentials };
  if (source === "litestream-env") {
    return { source: "environment LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY", credentials };
  }
  let chain = "AWS SDK default chain";
  if (input.env("AWS_ACCESS_KEY_ID")) chain += ": environment AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";
  else if (input.env("AWS_WEB_IDENTITY_TOKEN_FILE")) chain += ": web identity (AWS_WEB_IDENTITY_TOKEN_FILE)";
  else if (input.env("AWS_PROFILE")) chain += `: profile ${input.env("AWS_PROFILE")}`;
  else if (
    input.env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
    input.env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
  )
    chain += ": container credentials";
  else chain += ": shared credentials file or instance role, if any";
  return { source: chain, credentials: {} };
}

/** The shared advice for a network failure (`fallback` when the error's code is not one it knows). */
function adviceFor(err: unknown, fallback: NetworkFailure, endpoint: string): { cause: string; fix: string } {
  const failure = classifyNetworkError(err) ?? { kind: fallback, code: errCode(err) };
  return networkAdvice(failure, { endpoint });
}

/**
 * The advice for a failed listing, by the StorageError's code: the same as the S3 store's hint (a plain
 * HTTP request to a TLS port fails only here: the TLS step is skipped for http endpoints), and for a
 * refusal, whose keys were refused.
 */
function bucketAdvice(
  err: unknown,
  bucket: string,
  credentialSource: string,
  endpoint: string,
): { cause: string; fix: string } {
  const unknown = { cause: errorMessage(err), fix: errorHint(err) ?? "see the error above" };
  if (!(err instanceof StorageError)) return unknown;
  const advice = storageAdvice(err.code, { bucket, at: { endpoint }, status: err.status });
  if (advice === undefined) return unknown;
  if (!isRefusal(err.code) || err.code === "no-credentials") return advice;
  return { cause: `${advice.cause} (credentials from ${credentialSource})`, fix: advice.fix };
}

/** Checks the database file itself, for `walship doctor DB_PATH`. */
export function diagnoseDatabase(dbPath: string, metaPath: string): Step[] {
  if (!fs.existsSync(dbPath)) {
    return [
      {
        name: "database",
        status: "fail",
        detail: `${dbPath} does not exist`,
        cause: "the path in the config is wrong, or the application has not created the database yet",
        fix: "fix dbs[].path, or start the application first",
      },
    ];
  }
  const steps: Step[] = [];
  try {
    // An ad-hoc open of the database file is safe here: doctor holds no SQLite connection to it.
    const header = decodeDbHeader(readFileAt(dbPath, 0, 100));
    const wal = header.writeVersion === 2 && header.readVersion === 2;
    steps.push({
      name: "database",
      status: "ok",
      detail: `SQLite database, page size ${header.pageSize}, ${wal ? "WAL mode" : "not yet in WAL mode (walship switches it on start)"}`,
    });
  } catch (err) {
    steps.push({
      name: "database",
      status: "fail",
      detail: errorMessage(err),
      cause: "not an SQLite database",
      fix: "check dbs[].path",
    });
    return steps;
  }
  const generation = new MetaDirectory(metaPath).generationFile.read();
  steps.push({
    name: "state",
    status: "ok",
    detail: generation
      ? `meta directory ${metaPath}, current generation ${generation}`
      : `no replication state yet in ${metaPath} (created by the first run)`,
  });
  return steps;
}
