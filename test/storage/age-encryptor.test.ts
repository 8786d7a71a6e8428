/**
 * What walship encrypts opens with age's two other implementations (Debian's Go `age`, the version
 * Litestream 0.3.13 links, and typage), and what they encrypt opens with walship's decryptor.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Decrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { AgeDecryptor } from "../../src/storage/age-decryptor.ts";
import { AgeEncryptor } from "../../src/storage/age-encryptor.ts";
import { pseudoRandomBytes } from "../helpers/pseudo-random.ts";
import { runSync, which } from "../helpers/test-runtime.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const goAge = which("age");
if (!goAge && !process.env.CI)
  console.warn("SKIPPED: the Go age checks need Debian's age. Try: apt-get install -y age");

const identity = await generateX25519Identity();
const recipient = await identityToRecipient(identity);
const other = await generateX25519Identity();
const SIZES = [0, 1, 65_535, 65_536, 65_537, 300_000];

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

describe("AgeEncryptor", () => {
  const dir = makeTempDir();
  afterAll(() => removeDir(dir));
  const keyFile = path.join(dir, "key.txt");
  fs.writeFileSync(keyFile, `${identity}\n`);

  test("typage opens every size, whole or streamed, for each of several recipients", async () => {
    const encryptor = new AgeEncryptor([await identityToRecipient(other), recipient]);
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    for (const size of SIZES) {
      const plain = pseudoRandomBytes(size, size + 1);
      const whole = encryptor.bytes(plain);
      const streamed = await collect(encryptor.stream(pieces(plain, 7_000)));
      expect(streamed.length).toBe(whole.length);
      expect(Buffer.compare(await decrypter.decrypt(whole), plain)).toBe(0);
      expect(Buffer.compare(await decrypter.decrypt(streamed), plain)).toBe(0);
    }
  });

  test("a fresh file key for every object: the same plaintext never encrypts the same way", () => {
    const encryptor = new AgeEncryptor([recipient]);
    const plain = pseudoRandomBytes(1000, 3);
    expect(Buffer.compare(encryptor.bytes(plain), encryptor.bytes(plain))).not.toBe(0);
  });

  test.skipIf(!goAge && !process.env.CI)(
    "Go age opens what walship encrypts, and walship opens what Go age encrypts",
    async () => {
      expect(goAge, "age is missing (.ci/run installs it)").not.toBeNull();
      const encryptor = new AgeEncryptor([recipient]);
      const decryptor = new AgeDecryptor([identity]);
      for (const size of SIZES) {
        const plain = pseudoRandomBytes(size, size + 2);
        const ours = path.join(dir, `ours-${size}.age`);
        fs.writeFileSync(ours, encryptor.bytes(plain));
        const opened = runSync([goAge!, "--decrypt", "-i", keyFile, ours]);
        expect({ size, stderr: opened.stderr.toString() }).toEqual({ size, stderr: "" });
        expect(Buffer.compare(opened.stdout, plain)).toBe(0);

        const theirs = runSync([goAge!, "--encrypt", "-r", recipient], plain);
        expect(theirs.exitCode).toBe(0);
        const back = await decryptor.bytes(`theirs-${size}`, new Uint8Array(theirs.stdout));
        expect(Buffer.compare(back, plain)).toBe(0);
      }
    },
  );
});
