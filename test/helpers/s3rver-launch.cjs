#!/usr/bin/env node
// Launches s3rver 3.7.1 for the test suite, after patching three of its bugs that break
// Litestream-style usage. Runs under both `node` and `bun`.
//
// Usage:
//   s3rver-launch.cjs -d DIR [-a ADDRESS] [-p PORT] [--service-endpoint HOST]
//                     [--configure-bucket NAME]... [--no-vhost-buckets]
//                     [--allow-mismatched-signatures] [--exit-on-stdin-close]
//                     [--key KEY.pem --cert CERT.pem]
//
// A subset of the s3rver CLI flags (bucket config XML files are not supported). Port 0 picks a
// free port. With --key and --cert (PEM files, both or neither) s3rver serves HTTPS instead of
// HTTP: it builds an https.Server from its options when `key` and `cert` are set.
//
// Virtual-hosted-style requests: s3rver's vhost middleware takes the bucket from a Host matching
// `BUCKET.s3[-website][-.REGION].SERVICE_ENDPOINT`, whatever --no-vhost-buckets says; that flag
// only turns off its fallback of treating any other non-IP Host as a bucket name.
//
// Once listening, one JSON line is printed on stdout:
//   {"s3rver":"listening","address":"127.0.0.1","port":41234,"protocol":"http"}
// Request logging is off unless S3RVER_VERBOSE=1 (it then also goes to stdout, so readers
// must look for the JSON line rather than assume it is the first line).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

// --- Fix 2: sorted directory listings --------------------------------------------------------
// Node's libuv sorts scandir results, Bun returns raw directory order. s3rver (its walk, and
// ListBuckets) assumes sorted order. Patch the core module before fs-extra/graceful-fs load,
// since they capture these functions when first required.

function entryName(entry) {
  // Entries are strings, Buffers (encoding: "buffer") or Dirents (withFileTypes).
  if (typeof entry === "string" || Buffer.isBuffer(entry)) return entry;
  return entry.name;
}

function compareEntries(a, b) {
  const na = entryName(a);
  const nb = entryName(b);
  if (Buffer.isBuffer(na) || Buffer.isBuffer(nb)) return Buffer.compare(Buffer.from(na), Buffer.from(nb));
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function sortEntries(list) {
  return Array.isArray(list) ? list.sort(compareEntries) : list;
}

const originalReaddirSync = fs.readdirSync;
fs.readdirSync = function readdirSync(...args) {
  return sortEntries(originalReaddirSync.apply(this, args));
};

const originalReaddir = fs.readdir;
fs.readdir = function readdir(...args) {
  const callback = args[args.length - 1];
  if (typeof callback !== "function") return originalReaddir.apply(this, args);
  const rest = args.slice(0, -1);
  return originalReaddir.call(this, ...rest, (err, list) => callback(err, err ? list : sortEntries(list)));
};

const originalPromisesReaddir = fs.promises.readdir;
fs.promises.readdir = async function readdir(...args) {
  return sortEntries(await originalPromisesReaddir.apply(this, args));
};

// --- Fix 1: continuation tokens without DES ---------------------------------------------------
// lib/controllers/bucket.js (generateContinuationToken / decipherContinuationToken) encrypts
// ListObjectsV2 continuation tokens with `des`, which OpenSSL 3 (Node 20) and BoringSSL (Bun)
// reject, so every truncated V2 listing is a 500. Those functions are module-private but call
// `crypto.createCipheriv` at request time, so answer `des` with a pass-through: the token
// becomes base64(iv + "region/bucket/key"), which the decipher side reads back unchanged.

function passThroughCipher() {
  return {
    update(data, inputEncoding) {
      return typeof data === "string" ? Buffer.from(data, inputEncoding || "utf8") : Buffer.from(data);
    },
    final() {
      return Buffer.alloc(0);
    },
    setAutoPadding() {
      return this;
    },
  };
}

const originalCreateCipheriv = crypto.createCipheriv;
crypto.createCipheriv = function createCipheriv(algorithm, ...rest) {
  if (String(algorithm).toLowerCase() === "des") return passThroughCipher();
  return originalCreateCipheriv.call(this, algorithm, ...rest);
};

const originalCreateDecipheriv = crypto.createDecipheriv;
crypto.createDecipheriv = function createDecipheriv(algorithm, ...rest) {
  if (String(algorithm).toLowerCase() === "des") return passThroughCipher();
  return originalCreateDecipheriv.call(this, algorithm, ...rest);
};

// --- Fix 3: unpruned, key-ordered walk --------------------------------------------------------
// lib/stores/filesystem.js listObjects walks the bucket with a filter that skips directories
// "beneath a common prefix". That prune is wrong: with prefix "db/generations/" and delimiter
// "/", the directory db/generations/<gen>/wal is skipped, and if <gen> holds nothing else the
// common prefix db/generations/<gen>/ is never reported. So walk everything.
//
// The walk must also yield objects in key order, because listObjects stops at maxKeys and
// resumes from the last key. Directory order is not key order ("a/b" is a file in directory
// "a", which sorts before "a.c._S3rver_object", yet key "a.c" < "a/b"; likewise the
// "._S3rver_object" suffix puts "a-b" before "a"). Collect all files and sort them by the path
// without that suffix, which is bucketPath + "/" + key.
//
// filesystem.js destructures `walk` from lib/utils when it loads, so replace it before then.

const utils = require("s3rver/lib/utils");

const OBJECT_SUFFIX = "._S3rver_object";

function collectFiles(dir, out) {
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    // A concurrent DeleteObject may remove emptied directories while we list.
    if (err.code === "ENOENT") return;
    throw err;
  }
  for (const name of names) {
    const filePath = path.posix.join(dir, name);
    let stats;
    try {
      stats = fs.statSync(filePath);
    } catch (err) {
      if (err.code === "ENOENT") continue;
      throw err;
    }
    if (stats.isDirectory()) collectFiles(filePath, out);
    else out.push(filePath);
  }
}

function keyOrderPath(filePath) {
  return filePath.endsWith(OBJECT_SUFFIX) ? filePath.slice(0, -OBJECT_SUFFIX.length) : filePath;
}

// The second parameter (s3rver's recurse filter) is deliberately ignored: see above.
utils.walk = function* walk(dir) {
  const files = [];
  collectFiles(dir, files);
  const sortable = files.map((filePath) => [keyOrderPath(filePath), filePath]);
  // Plain `<` comparison: the same code-unit order s3rver uses for `key <= startAfter`.
  sortable.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [, filePath] of sortable) yield filePath;
};

// --- Launch -----------------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = {
    directory: undefined,
    address: "127.0.0.1",
    port: 0,
    serviceEndpoint: "amazonaws.com",
    vhostBuckets: true,
    allowMismatchedSignatures: false,
    configureBuckets: [],
    exitOnStdinClose: false,
    keyFile: undefined,
    certFile: undefined,
  };
  const value = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${flag}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case "-d":
      case "--directory":
        opts.directory = value(i++, arg);
        break;
      case "-a":
      case "--address":
        opts.address = value(i++, arg);
        break;
      case "-p":
      case "--port": {
        const raw = value(i++, arg);
        const port = Number(raw);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${raw}`);
        opts.port = port;
        break;
      }
      case "--service-endpoint":
        opts.serviceEndpoint = value(i++, arg);
        break;
      case "--configure-bucket":
        opts.configureBuckets.push({ name: value(i++, arg), configs: [] });
        break;
      case "--no-vhost-buckets":
        opts.vhostBuckets = false;
        break;
      case "--allow-mismatched-signatures":
        opts.allowMismatchedSignatures = true;
        break;
      case "--key":
        opts.keyFile = value(i++, arg);
        break;
      case "--cert":
        opts.certFile = value(i++, arg);
        break;
      case "--exit-on-stdin-close":
        opts.exitOnStdinClose = true;
        break;
      case "-s":
      case "--silent":
        // Silent is already the default; accepted for s3rver CLI compatibility.
        break;
      default:
        throw new Error(`unknown argument: ${arg}`);
    }
  }
  if (!opts.directory) throw new Error("missing required -d/--directory");
  if (!opts.keyFile !== !opts.certFile) throw new Error("--key and --cert must be given together");
  return opts;
}

async function main() {
  const { exitOnStdinClose, directory, keyFile, certFile, ...opts } = parseArgs(process.argv.slice(2));
  fs.mkdirSync(directory, { recursive: true });
  // s3rver hands its remaining options to https.createServer, which takes PEM contents, not paths.
  const tls = keyFile ? { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) } : {};

  // Required only now so that the patches above are in place first.
  const S3rver = require("s3rver");
  const silent = process.env.S3RVER_VERBOSE !== "1";
  const server = new S3rver({ ...opts, ...tls, directory, silent });
  const { address, port } = await server.run();

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    // Do not let a hung keep-alive connection block exit.
    const timer = setTimeout(() => process.exit(0), 1000);
    server.close().then(
      () => {
        clearTimeout(timer);
        process.exit(0);
      },
      () => process.exit(0),
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  if (exitOnStdinClose) {
    // The parent holds our stdin open; EOF means it went away without stopping us.
    process.stdin.on("end", shutdown);
    process.stdin.on("close", shutdown);
    process.stdin.resume();
  }

  const protocol = keyFile ? "https" : "http";
  process.stdout.write(`${JSON.stringify({ s3rver: "listening", address, port, protocol })}\n`);
}

main().catch((err) => {
  process.stderr.write(`s3rver-launch: ${err?.stack ?? String(err)}\n`);
  process.exit(1);
});
