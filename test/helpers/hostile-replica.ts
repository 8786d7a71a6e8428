/**
 * Tools for restoring from hostile replicas: LZ4 decompression bombs built without allocating what they
 * expand to, frames that lie about their content size, a scripted S3 server that answers listings and
 * downloads with whatever a test wants (keys with `..`, absolute keys, absurd sizes, short bodies), a CLI
 * runner that records the process's peak resident memory, and a snapshot of a directory tree to prove a
 * restore wrote nothing but its output.
 */
// biome-ignore-all lint/style/noNonNullAssertion: indexes into test buffers are in range by construction.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { compressBlock } from "lz4js";
import { concatBytes } from "../../src/format/bytes.ts";
import { MAIN } from "./cli.ts";
import { rssKiB } from "./proc-usage.ts";

const MAGIC = 0x184d2204;
const BLOCK = 4 * 1024 * 1024;

const xxh32 = (b: Uint8Array): number => Bun.hash.xxHash32(b, 0);

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

/** Frame magic, descriptor (4 MiB blocks, independent) and header checksum. */
function frameHeader(opts: { contentSize?: number; contentChecksum?: boolean }): Uint8Array {
  const flg = 0x40 | 0x20 | (opts.contentSize !== undefined ? 0x08 : 0) | (opts.contentChecksum ? 0x04 : 0);
  const descriptor = [flg, 7 << 4];
  if (opts.contentSize !== undefined) {
    const cs = new Uint8Array(8);
    new DataView(cs.buffer).setBigUint64(0, BigInt(opts.contentSize), true);
    descriptor.push(...cs);
  }
  const d = Uint8Array.from(descriptor);
  return concatBytes([u32le(MAGIC), d, Uint8Array.of((xxh32(d) >>> 8) & 0xff)]);
}

/** One compressed LZ4 block holding `data` (at most 4 MiB), with its block header. */
function compressedBlock(data: Uint8Array): Uint8Array {
  const dst = new Uint8Array(data.length + 1024);
  const n = compressBlock(data, dst, 0, data.length, new Uint32Array(1 << 16));
  if (n <= 0 || n >= data.length) throw new Error("block data is not compressible");
  return concatBytes([u32le(n), dst.subarray(0, n)]);
}

let zeroBlock: Uint8Array | undefined;

/**
 * A valid LZ4 frame that decompresses to `totalBytes` (rounded up to 4 MiB): `prefix` (if any) followed by
 * zeros. One 4 MiB all-zero block compresses to ~16 KiB, and the frame repeats it, so a 2 GiB bomb is an
 * 8 MiB frame and building it never allocates more than one block. No content checksum (computing it
 * would mean hashing the whole output), which the format allows; `contentSize` optionally declares the
 * size, truthfully or not.
 */
export function lz4ZeroBomb(
  totalBytes: number,
  opts: { prefix?: Uint8Array; contentSize?: number } = {},
): Uint8Array {
  zeroBlock ??= compressedBlock(new Uint8Array(BLOCK));
  const blocks = Math.ceil(totalBytes / BLOCK);
  const parts: Uint8Array[] = [
    frameHeader(opts.contentSize === undefined ? {} : { contentSize: opts.contentSize }),
  ];
  for (let i = 0; i < blocks; i++) {
    if (i === 0 && opts.prefix) {
      const first = new Uint8Array(BLOCK);
      first.set(opts.prefix);
      parts.push(compressedBlock(first));
    } else {
      parts.push(zeroBlock);
    }
  }
  parts.push(u32le(0));
  return concatBytes(parts);
}

/** A valid frame holding `data` whose content-size field says `declaredSize` (which may be a lie). */
export function lz4FrameDeclaring(data: Uint8Array, declaredSize: number): Uint8Array {
  const parts = [frameHeader({ contentSize: declaredSize, contentChecksum: true })];
  for (let at = 0; at < data.length; at += BLOCK) {
    const chunk = data.subarray(at, Math.min(data.length, at + BLOCK));
    parts.push(u32le(0x80000000 | chunk.length), chunk);
  }
  parts.push(u32le(0), u32le(xxh32(data)));
  return concatBytes(parts);
}

// ---------------------------------------------------------------------------------------------------------
// The CLI under a memory meter
// ---------------------------------------------------------------------------------------------------------

export interface MeteredRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Highest VmRSS seen, in KiB. */
  peakRssKiB: number;
  /** The process was killed for passing `killAboveKiB` (so `peakRssKiB` is a lower bound). */
  killedForMemory: boolean;
  /** Highest disk space taken by the files in `watchDir` (allocated blocks, so sparse files count little). */
  peakDirBytes: number;
  elapsedMs: number;
}

export interface MeteredOptions {
  env?: Record<string, string | undefined>;
  /** SIGKILL the process once its RSS passes this (protects the machine from a bomb that works). */
  killAboveKiB?: number;
  timeoutMs?: number;
  /** RSS poll interval (default 20 ms). */
  pollMs?: number;
  /** A directory (the output's) whose files' disk usage is polled too. */
  watchDir?: string;
}

/** Disk space allocated to the files directly in `dir`. */
function dirBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      total += fs.lstatSync(path.join(dir, name)).blocks * 512;
    } catch {
      // Removed between readdir and lstat.
    }
  }
  return total;
}

/**
 * Runs `bun src/cli/main.ts ARGS` like runCli (same environment scrubbing), polling /proc/PID/status VmRSS
 * every `pollMs` for the peak.
 */
export async function runCliMetered(args: string[], opts: MeteredOptions = {}): Promise<MeteredRun> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(base)) if (/^(AWS_|LITESTREAM_|WALSHIP_)/.test(k)) delete base[k];
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    env: { ...base, AWS_EC2_METADATA_DISABLED: "true", ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let peak = 0;
  let peakDirBytes = 0;
  let killedForMemory = false;
  const sample = () => {
    if (opts.watchDir !== undefined) peakDirBytes = Math.max(peakDirBytes, dirBytes(opts.watchDir));
    try {
      peak = Math.max(peak, rssKiB(proc.pid));
    } catch {
      return; // exited between polls
    }
    if (opts.killAboveKiB !== undefined && peak > opts.killAboveKiB && !killedForMemory) {
      killedForMemory = true;
      proc.kill("SIGKILL");
    }
  };
  const poll = setInterval(sample, opts.pollMs ?? 20);
  const timeout = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  sample();
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearInterval(poll);
  clearTimeout(timeout);
  return {
    code,
    stdout,
    stderr,
    peakRssKiB: peak,
    killedForMemory,
    peakDirBytes,
    elapsedMs: performance.now() - started,
  };
}

// ---------------------------------------------------------------------------------------------------------
// What a restore left behind
// ---------------------------------------------------------------------------------------------------------

/** Every path under `root` (directories with a trailing `/`), with file sizes and mtimes. */
export function treeSnapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const st = fs.lstatSync(p);
      if (e.isDirectory()) {
        out.set(`${p}/`, "dir");
        walk(p);
      } else {
        out.set(p, `${st.size}@${st.mtimeMs}`);
      }
    }
  };
  walk(root);
  return out;
}

/** Paths added, removed or changed between two snapshots. */
export function treeChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [p, v] of after) {
    const old = before.get(p);
    if (old === undefined) changes.push(`+ ${p}`);
    else if (old !== v) changes.push(`~ ${p}`);
  }
  for (const p of before.keys()) if (!after.has(p)) changes.push(`- ${p}`);
  return changes.sort();
}

// ---------------------------------------------------------------------------------------------------------
// A scripted S3 server
// ---------------------------------------------------------------------------------------------------------

export interface HostileObject {
  key: string;
  /** The size the listing claims (default: the body's length). */
  listedSize?: number;
  /** Served by GET at `key`; absent: GET answers 404. */
  body?: Uint8Array;
  /** Content-Length the GET response claims while sending only `body` (then the connection is cut). */
  claimedLength?: number;
  /** Listed in every listing, whatever prefix was asked for (for keys outside the replica). */
  alwaysListed?: boolean;
}

export interface HostileS3 {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** Every request, as "METHOD path?query". */
  requests: string[];
  /** Keys requested by GET. */
  gets: string[];
  stop(): Promise<void>;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * A path-style S3 endpoint for one bucket that lists `objects` and serves their bodies. Listings are
 * deliberately non-conforming: every object whose key starts with the prefix is listed as an object (even
 * with a delimiter), and `extraPrefixes` are returned as common prefixes whatever was asked. Signatures are
 * not checked.
 */
export async function startHostileS3(
  bucket: string,
  objects: HostileObject[],
  extraPrefixes: (prefix: string) => string[] = () => [],
): Promise<HostileS3> {
  const requests: string[] = [];
  const gets: string[] = [];
  const xml = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const [, b, ...rest] = url.pathname.split("/");
    if (b !== bucket) {
      xml(res, 404, "<Error><Code>NoSuchBucket</Code><Message>no such bucket</Message></Error>");
      return;
    }
    const key = decodeURIComponent(rest.join("/"));
    if (req.method === "GET" && key === "" && url.searchParams.get("list-type") === "2") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const delimiter = url.searchParams.get("delimiter");
      const listed = objects.filter((o) => o.key.startsWith(prefix) || o.alwaysListed);
      const prefixes = new Set(extraPrefixes(prefix));
      if (delimiter) {
        for (const o of objects) {
          if (!o.key.startsWith(prefix)) continue;
          const rel = o.key.slice(prefix.length);
          const cut = rel.indexOf(delimiter);
          // A conforming server would only roll these into common prefixes; this one lists both.
          if (cut >= 0) prefixes.add(prefix + rel.slice(0, cut + 1));
        }
      }
      const contents = listed
        .map(
          (o) =>
            `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>${o.listedSize ?? o.body?.length ?? 0}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        )
        .join("");
      const common = [...prefixes]
        .map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`)
        .join("");
      xml(
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${listed.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${contents}${common}</ListBucketResult>`,
      );
      return;
    }
    if (req.method !== "GET") {
      xml(res, 405, "<Error><Code>MethodNotAllowed</Code><Message>read-only</Message></Error>");
      return;
    }
    gets.push(key);
    const o = objects.find((x) => x.key === key && x.body !== undefined);
    if (!o?.body) {
      xml(
        res,
        404,
        `<Error><Code>NoSuchKey</Code><Message>no such key</Message><Key>${xmlEscape(key)}</Key></Error>`,
      );
      return;
    }
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": String(o.claimedLength ?? o.body.length),
      "last-modified": "Thu, 01 Jan 2026 00:00:00 GMT",
      etag: '"x"',
    });
    if (o.claimedLength === undefined) {
      res.end(o.body);
      return;
    }
    // Promise more than we send, then cut the connection: the client sees a short body.
    res.write(o.body, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the hostile S3 server has no port");
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    requests,
    gets,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
