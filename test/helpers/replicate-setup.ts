/**
 * The setup the integration tests share: an S3 test server for a describe block (with a fault proxy in
 * front of it when asked), a walship.yml, and `walship replicate -config` started with the server's keys
 * in its environment; then, when the config has an `addr`, the URL its status server logs.
 */
import { afterAll, beforeAll } from "bun:test";
import { type Running, startCli, waitFor } from "./cli.ts";
import { type ConfigYaml, writeConfigFile } from "./config.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { type S3Server, startS3Server } from "./s3-server.ts";
import { removeDir } from "./tmp.ts";

/** The S3 test server's keys, as walship reads them from the environment. */
export function s3Keys(s3: Pick<S3Server, "accessKeyId" | "secretAccessKey">): Record<string, string> {
  return { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey };
}

export interface S3ForTests {
  readonly s3: S3Server;
  /** The fault proxy in front of the server (with `proxySeed` only). */
  readonly proxy: FaultProxy;
}

/**
 * Starts an S3 test server holding `buckets` before the tests of the enclosing block, with a fault proxy
 * in front of it when `proxySeed` is given; stops them after, and removes `removeAfter` if given.
 */
export function s3ForTests(opts: {
  buckets: string[];
  proxySeed?: number;
  removeAfter?: string;
}): S3ForTests {
  let s3: S3Server | undefined;
  let proxy: FaultProxy | undefined;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: opts.buckets });
    if (opts.proxySeed !== undefined) proxy = await startFaultProxy(s3.endpoint, { seed: opts.proxySeed });
  });
  afterAll(async () => {
    await proxy?.stop();
    await s3?.stop();
    if (opts.removeAfter) removeDir(opts.removeAfter);
  });
  return {
    get s3() {
      if (!s3) throw new Error("the S3 test server is not running (it starts in beforeAll)");
      return s3;
    },
    get proxy() {
      if (!proxy) throw new Error("no fault proxy: pass proxySeed to s3ForTests");
      return proxy;
    },
  };
}

export interface ReplicateOptions {
  /** Puts this server's keys in walship's environment. */
  s3?: Pick<S3Server, "accessKeyId" | "secretAccessKey">;
  /** Further environment (after the keys). */
  env?: Record<string, string>;
  /** Arguments after `-config FILE`, e.g. ["-exec", "..."]. */
  args?: string[];
}

/** Writes `config` to `file` and starts `walship replicate -config FILE`. */
export function startReplicating(file: string, config: ConfigYaml, opts: ReplicateOptions = {}): Running {
  writeConfigFile(file, config);
  const env = { ...(opts.s3 ? s3Keys(opts.s3) : {}), ...opts.env };
  return startCli(["replicate", "-config", file, ...(opts.args ?? [])], { env });
}

const SERVING = /msg="serving metrics" url=(\S+)\/metrics/;

/** Waits for walship's status server (the config's `addr`) to say where it serves; returns that URL. */
export async function statusUrl(walship: Running, what = "the metrics server"): Promise<string> {
  await waitFor(() => SERVING.test(walship.stderr()), 20_000, what);
  return SERVING.exec(walship.stderr())![1]!;
}
