// S3-compatible server for tests: s3rver 3.7.1 (patched, see s3rver-launch.cjs) in a child process
// running under the same bun as the tests, so the suite does not depend on Node being installed.
//
// Optionally over HTTPS (certificate from test/fixtures/tls, see its README) and always reachable
// virtual-hosted style as BUCKET.s3.localhost:PORT. `*.localhost` names do not resolve through
// the system resolver (glibc, hence node:dns) here, only through Bun's fetch; HTTP clients built
// on node:http/https must map them to 127.0.0.1 themselves, e.g. with `localhostLookup` below
// as the `lookup` option of their http.Agent / https.Agent.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { S3Store } from "../../src/storage/s3.ts";

const TLS_DIR = path.join(import.meta.dirname, "..", "fixtures", "tls");

/** Test-only TLS material (absolute paths); the server certificate is signed by the CA in `caFile`. */
export const TEST_TLS = {
  /** The private CA's certificate: what a client must trust. */
  caFile: path.join(TLS_DIR, "ca.pem"),
  /** Server certificate for localhost, *.localhost, s3.localhost, *.s3.localhost, 127.0.0.1, ::1. */
  certFile: path.join(TLS_DIR, "server.pem"),
  keyFile: path.join(TLS_DIR, "server-key.pem"),
} as const;

/** True for "localhost" and any name under it ("s3.localhost", "bucket.s3.localhost"). */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.Agent / https.Agent (net.LookupFunction): answers 127.0.0.1 for
 * localhost names, where the test server listens, and defers to dns.lookup for anything else.
 * Honours `all: true`, which both Node (autoSelectFamily) and Bun pass.
 */
export function localhostLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (!isLocalhostName(hostname)) {
    dnsLookup(hostname, options, callback);
    return;
  }
  if (options.all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
}

export interface S3Server {
  /** "http://127.0.0.1:PORT", or "https://…" with `tls: true`; use with `forcePathStyle: true`. */
  readonly endpoint: string;
  /**
   * "http://s3.localhost:PORT" (or "https://…"): with `forcePathStyle: false` an SDK client sends
   * requests to BUCKET.s3.localhost:PORT, which s3rver reads as virtual-hosted style. Clients
   * must resolve *.localhost to 127.0.0.1 (see `localhostLookup`). The SDK (3.x here) sends
   * path-style requests to s3.localhost instead, which s3rver also serves, for bucket names with
   * dots (even over HTTP) and for IP-literal endpoints: use dot-free names to test vhost.
   */
  readonly vhostEndpoint: string;
  /** Whether the server speaks HTTPS. */
  readonly tls: boolean;
  /** Absolute path of the CA certificate that signed the server's certificate (TEST_TLS.caFile). */
  readonly caFile: string;
  readonly port: number;
  /** s3rver's storage directory (a fresh temp dir, removed by stop()). */
  readonly dir: string;
  /** The server process, for benchmarks that count its CPU time. */
  readonly pid: number;
  /** s3rver's hard-coded dummy account (lib/models/account.js). */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** s3rver only accepts us-east-1 in continuation tokens. */
  readonly region: string;
  /** Creates a bucket through the S3 API (so s3rver validates the name). */
  createBucket(name: string): Promise<void>;
  /** walship's S3 store for `bucket` under `prefix` ("" for the root), path-style with the server's keys. */
  store(bucket: string, prefix: string): S3Store;
  /** The bytes s3rver stored for an object, read from disk; null if there is no such object. */
  objectBytes(bucket: string, key: string): Promise<Uint8Array | null>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartS3ServerOptions {
  /** Buckets to create before returning. */
  buckets?: string[];
  /** Serve HTTPS with the test certificate (test/fixtures/tls) instead of HTTP. Default false. */
  tls?: boolean;
  /** Listen on this loopback port (a client may already be trying it); default any free port. */
  port?: number;
}

const LAUNCHER = path.join(import.meta.dirname, "s3rver-launch.cjs");
const STARTUP_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3_000;
// Keep only the tail of stderr: enough to explain a startup failure, bounded for long runs.
const STDERR_KEEP_CHARS = 16_384;
const OBJECT_SUFFIX = "._S3rver_object";

interface ListeningLine {
  s3rver: "listening";
  address: string;
  port: number;
  protocol: "http" | "https";
}

function parseListeningLine(line: string): ListeningLine | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    if (
      typeof value === "object" &&
      value !== null &&
      "s3rver" in value &&
      value.s3rver === "listening" &&
      "port" in value &&
      typeof value.port === "number" &&
      "address" in value &&
      typeof value.address === "string"
    ) {
      const protocol = "protocol" in value && value.protocol === "https" ? "https" : "http";
      return { s3rver: "listening", address: value.address, port: value.port, protocol };
    }
  } catch {
    // Not our line (verbose s3rver logs share stdout).
  }
  return null;
}

/** Reads a stream to its end, feeding decoded text to `onText`. Never rejects. */
async function drain(stream: ReadableStream<Uint8Array>, onText: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
    onText(decoder.decode());
  } catch {
    // The child was killed mid-read; nothing more to collect.
  }
}

function sleep(ms: number): Promise<"timeout"> {
  return new Promise((resolve) => setTimeout(() => resolve("timeout"), ms));
}

export async function startS3Server(opts: StartS3ServerOptions = {}): Promise<S3Server> {
  const dir = await mkdtemp(path.join(tmpdir(), "walship-s3rver-"));
  const verbose = process.env.S3RVER_VERBOSE === "1";
  const tls = opts.tls === true;
  // Read before spawning: fails fast, with the path, if the fixture is missing.
  const caPem = tls ? await readFile(TEST_TLS.caFile, "utf8") : undefined;

  const proc = Bun.spawn({
    cmd: [
      process.execPath,
      LAUNCHER,
      "-d",
      dir,
      "-a",
      "127.0.0.1",
      "-p",
      String(opts.port ?? 0),
      "--service-endpoint",
      "localhost",
      // BUCKET.s3.localhost is virtual-hosted style (vhostEndpoint); this only stops any other
      // Host name from being taken as a bucket name.
      "--no-vhost-buckets",
      ...(tls ? ["--key", TEST_TLS.keyFile, "--cert", TEST_TLS.certFile] : []),
      // If the test runner dies without calling stop(), the server exits instead of lingering.
      "--exit-on-stdin-close",
    ],
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });

  let stderrTail = "";
  const stderrDone = drain(proc.stderr, (text) => {
    if (verbose) process.stderr.write(text);
    stderrTail = (stderrTail + text).slice(-STDERR_KEEP_CHARS);
  });

  let resolveListening: (line: ListeningLine) => void = () => {};
  const listening = new Promise<ListeningLine>((resolve) => {
    resolveListening = resolve;
  });
  let stdoutBuffer = "";
  let found = false;
  // Keep draining after startup too: verbose logs would otherwise fill the pipe and block the child.
  const stdoutDone = drain(proc.stdout, (text) => {
    if (verbose) process.stderr.write(text);
    if (found) return;
    stdoutBuffer += text;
    let newline = stdoutBuffer.indexOf("\n");
    while (newline !== -1) {
      const line = parseListeningLine(stdoutBuffer.slice(0, newline).trim());
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      if (line) {
        found = true;
        stdoutBuffer = "";
        resolveListening(line);
        return;
      }
      newline = stdoutBuffer.indexOf("\n");
    }
  });

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        if ((await Promise.race([proc.exited, sleep(STOP_GRACE_MS)])) === "timeout") {
          proc.kill("SIGKILL");
          await Promise.race([proc.exited, sleep(STOP_GRACE_MS)]);
        }
      }
      try {
        // Closing our end of stdin lets the pipe be released; the child is already gone.
        await proc.stdin.end();
      } catch {
        // Already closed.
      }
      await Promise.race([Promise.all([stdoutDone, stderrDone]), sleep(STOP_GRACE_MS)]);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const outcome = await Promise.race([
    listening,
    proc.exited.then((code) => ({ exited: code })),
    sleep(STARTUP_TIMEOUT_MS),
  ]);
  if (outcome === "timeout" || "exited" in outcome) {
    await stop();
    // Give the stderr reader a moment to catch the child's last words.
    await Promise.race([stderrDone, sleep(500)]);
    const why =
      outcome === "timeout"
        ? `did not start listening within ${STARTUP_TIMEOUT_MS} ms`
        : `exited with code ${outcome.exited} during startup`;
    throw new Error(`s3rver ${why}; stderr:\n${stderrTail || "(empty)"}`);
  }

  const port = outcome.port;
  const scheme = tls ? "https" : "http";
  if (outcome.protocol !== scheme) {
    await stop();
    throw new Error(`s3rver listens with ${outcome.protocol}, expected ${scheme}`);
  }
  const endpoint = `${scheme}://127.0.0.1:${port}`;
  const vhostEndpoint = `${scheme}://s3.localhost:${port}`;

  const createBucket = async (name: string): Promise<void> => {
    // Bun's fetch: trust the test CA for our own calls (and verify the certificate as clients do).
    const res = await fetch(`${endpoint}/${encodeURIComponent(name)}`, {
      method: "PUT",
      ...(caPem === undefined ? {} : { tls: { ca: caPem } }),
    });
    if (!res.ok) {
      throw new Error(`creating bucket ${name} failed: HTTP ${res.status}: ${await res.text()}`);
    }
  };

  const objectBytes = async (bucket: string, key: string): Promise<Uint8Array | null> => {
    // Layout of s3rver's FilesystemStore.getResourcePath on POSIX: DIR/bucket/<key dirs>/<last>._S3rver_object
    const parts = key.split("/");
    const last = parts.pop() ?? "";
    const bucketDir = path.join(dir, bucket);
    const file = path.join(bucketDir, ...parts, `${last}${OBJECT_SUFFIX}`);
    if (!file.startsWith(bucketDir + path.sep)) throw new Error(`key escapes the bucket directory: ${key}`);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (err instanceof Error && "code" in err && err.code === "ENOENT") return null;
      throw err;
    }
  };

  const server: S3Server = {
    endpoint,
    vhostEndpoint,
    tls,
    caFile: TEST_TLS.caFile,
    port,
    dir,
    pid: proc.pid,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    region: "us-east-1",
    createBucket,
    store: (bucket, prefix) =>
      new S3Store({
        bucket,
        prefix,
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        skipVerify: false,
        caFile: tls ? TEST_TLS.caFile : undefined,
        accessKeyId: "S3RVER",
        secretAccessKey: "S3RVER",
      }),
    objectBytes,
    stop,
  };

  try {
    for (const bucket of opts.buckets ?? []) await createBucket(bucket);
  } catch (err) {
    await stop();
    throw err;
  }
  return server;
}
