/**
 * An age-encrypted copy of a benchmark replica, as Litestream 0.3.13 writes one (every object
 * `age(lz4 frame)`, names unchanged), so that encrypted and plain restores of the very same data run side
 * by side. Cached beside the replica with its identity; seeded to S3 under a prefix of its own.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { AgeEncryptor } from "../../src/storage/age-encryptor.ts";
import { type GeneratedReplica, type S3Target, seedS3FromDir } from "./make-replica.ts";

export interface EncryptedReplica {
  replicaDir: string;
  /** age's identity file format: the secret key, one line. */
  keyFile: string;
  identity: string;
  /** Where it sits in S3, when seeded. */
  s3Prefix: string | null;
}

export async function ensureEncryptedCopy(
  replica: GeneratedReplica,
  s3: S3Target | undefined,
  say: (line: string) => void,
): Promise<EncryptedReplica> {
  const replicaDir = path.join(replica.cacheDir, "replica-age");
  const keyFile = path.join(replica.cacheDir, "age-key.txt");
  if (!fs.existsSync(path.join(replica.cacheDir, "replica-age.done"))) {
    const started = performance.now();
    fs.rmSync(replicaDir, { recursive: true, force: true });
    const identity = await generateX25519Identity();
    fs.writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
    const encryptor = new AgeEncryptor([await identityToRecipient(identity)]);
    let bytes = 0;
    for (const rel of fs.readdirSync(replica.replicaDir, { recursive: true, encoding: "utf8" })) {
      const from = path.join(replica.replicaDir, rel);
      const to = path.join(replicaDir, rel);
      if (fs.statSync(from).isDirectory()) continue;
      fs.mkdirSync(path.dirname(to), { recursive: true });
      const out = fs.openSync(to, "w");
      try {
        for await (const piece of encryptor.stream(fileChunks(from))) {
          fs.writeSync(out, piece);
          bytes += piece.length;
        }
      } finally {
        fs.closeSync(out);
      }
    }
    fs.writeFileSync(path.join(replica.cacheDir, "replica-age.done"), "");
    say(
      `encrypted copy of the replica made: ${(bytes / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const identity = fs.readFileSync(keyFile, "utf8").trim();
  let s3Prefix: string | null = null;
  if (s3) {
    s3Prefix = `${s3.prefix}-age`;
    const n = await seedS3FromDir(replicaDir, { ...s3, prefix: s3Prefix });
    say(`seeded S3 with the encrypted copy: ${n} objects`);
  }
  return { replicaDir, keyFile, identity, s3Prefix };
}

async function* fileChunks(file: string): AsyncGenerator<Uint8Array> {
  const fd = fs.openSync(file, "r");
  try {
    const buffer = new Uint8Array(4 * 1024 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}
