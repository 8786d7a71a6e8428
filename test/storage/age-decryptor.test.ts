/** Objects of an age-encrypted replica read as plaintext: decrypted in memory or into a temporary file. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Encrypter, generateIdentity, identityToRecipient } from "age-encryption";
import { ageHeaderEnd } from "../../src/format/age.ts";
import { AGE_PAYLOAD_NONCE_BYTES, AGE_SEALED_CHUNK_BYTES } from "../../src/format/age-stream.ts";
import { DecodePool } from "../../src/restore/decode-pool.ts";
import { AgeDecryptor } from "../../src/storage/age-decryptor.ts";
import { StorageError } from "../../src/storage/object-store.ts";
import { pseudoRandomBytes } from "../helpers/pseudo-random.ts";
import { sleep } from "../helpers/test-runtime.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const identity = await generateIdentity();
const encrypter = new Encrypter();
encrypter.addRecipient(await identityToRecipient(identity));
const plaintext = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
const ciphertext = await encrypter.encrypt(plaintext);

describe("AgeDecryptor", () => {
  const replica = makeTempDir();
  const temp = makeTempDir();
  afterAll(() => {
    removeDir(replica);
    removeDir(temp);
  });
  const stored = (name: string, bytes: Uint8Array) => {
    const p = path.join(replica, name);
    fs.writeFileSync(p, bytes);
    let released = false;
    return {
      local: { path: p, size: bytes.length, release: () => (released = true) },
      released: () => released,
    };
  };

  test("an encrypted file is decrypted into the temporary directory, never beside the object", async () => {
    const { local, released } = stored("a.lz4", ciphertext);
    const plain = await new AgeDecryptor([identity]).file("a.lz4", local, temp);
    expect(path.dirname(plain.path)).toBe(temp);
    expect(new Uint8Array(fs.readFileSync(plain.path))).toEqual(plaintext);
    expect({ size: plain.size, released: released(), replica: fs.readdirSync(replica) }).toEqual({
      size: plaintext.length,
      released: true,
      replica: ["a.lz4"],
    });
    plain.release();
    expect(fs.readdirSync(temp)).toEqual([]);
  });

  test("plain objects pass through; encrypted bytes are decrypted in memory", async () => {
    const d = new AgeDecryptor([identity]);
    const { local } = stored("plain.lz4", plaintext);
    expect(await d.file("plain.lz4", local, temp)).toBe(local);
    expect(await d.bytes("b.lz4", plaintext)).toBe(plaintext);
    expect(await d.bytes("b.lz4", ciphertext)).toEqual(plaintext);
  });

  test("without an identity an encrypted object says what to configure, and leaves no file", async () => {
    const { local, released } = stored("c.lz4", ciphertext);
    const err = await new AgeDecryptor([]).file("c.lz4", local, temp).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain("c.lz4: it is encrypted (age)");
    expect({ temp: fs.readdirSync(temp), released: released() }).toEqual({ temp: [], released: true });
  });

  describe("on the decode pool's workers", () => {
    // Several jobs of 32 chunks, the last one short: every boundary a job or a chunk can have.
    const large = pseudoRandomBytes(5 * 1024 * 1024 + 12_345, 21);
    let sealed: Uint8Array;
    let pool: DecodePool;
    beforeAll(async () => {
      sealed = await encrypter.encrypt(large);
      pool = await DecodePool.start(2);
    });
    afterAll(() => pool.close());

    test("a large object is read from memory as the workers open it, byte for byte, in reads of any size", async () => {
      const d = new AgeDecryptor([identity]);
      const { local, released } = stored("big.lz4", sealed);
      const object = await d.source("big.lz4", local, temp, Promise.resolve(pool));
      expect(object.size).toBe(large.length);
      // Reads as the decoder makes them: ready first, then bytes or copyTo, across job boundaries.
      let at = 0;
      for (const n of [5, 2 * 1024 * 1024 + 3, 1, 1024 * 1024, 700_001]) {
        await object.source.ready!(at + n);
        const piece = n % 2 ? object.source.bytes(at, at + n) : new Uint8Array(n);
        if (n % 2 === 0) object.source.copyTo!(at, piece);
        expect(Buffer.compare(piece, large.subarray(at, at + n))).toBe(0);
        at += n;
      }
      await object.source.ready!(object.size);
      expect(Buffer.compare(object.source.bytes(at, object.size), large.subarray(at))).toBe(0);
      // Nothing went to disk.
      expect(fs.readdirSync(temp)).toEqual([]);
      expect(released()).toBe(false);
      object.release();
      expect(released()).toBe(true);
    });

    test("bytes in memory (a small remote segment) are opened on the workers too, with no file", async () => {
      const d = new AgeDecryptor([identity]);
      const object = await d.bytesSource("mem.lz4", ciphertext, Promise.resolve(pool));
      await object.source.ready!(object.size);
      expect(Buffer.compare(object.source.bytes(0, object.size), plaintext)).toBe(0);
      object.release();
      const flipped = ciphertext.slice();
      flipped[flipped.length - 20]! ^= 4;
      const bad = await d.bytesSource("mem.lz4", flipped, Promise.resolve(pool));
      expect(String(await bad.source.ready!(bad.size).catch((e: unknown) => e))).toContain(
        "mem.lz4: it is damaged",
      );
      const plainObject = await d.bytesSource("plain.lz4", plaintext, Promise.resolve(pool));
      expect(plainObject.source.bytes(0, 4)).toEqual(plaintext.subarray(0, 4));
      expect(fs.readdirSync(temp)).toEqual([]);
    });

    test("an object of one chunk is decrypted on this thread, into a file first", async () => {
      const d = new AgeDecryptor([identity]);
      const tiny = plaintext.subarray(0, 1000);
      const { local } = stored("small.lz4", await encrypter.encrypt(tiny));
      const object = await d.source("small.lz4", local, temp, Promise.resolve(pool));
      expect(Buffer.compare(object.source.bytes(0, object.size), tiny)).toBe(0);
      expect(fs.readdirSync(temp).length).toBe(1);
      object.release();
      expect(fs.readdirSync(temp)).toEqual([]);
    });

    test("a flipped bit or a cut at a chunk boundary fails ready, naming the object as damaged; a length no payload has fails at once", async () => {
      const d = new AgeDecryptor([identity]);
      const flipped = sealed.slice();
      flipped[flipped.length - 3_000_000]! ^= 0x10;
      const { local } = stored("flipped.lz4", flipped);
      const plain = await d.source("flipped.lz4", local, temp, Promise.resolve(pool));
      const err = await plain.source.ready!(plain.size).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).message).toMatch(
        /flipped\.lz4: it is damaged .*chunk \d+ does not authenticate/,
      );
      plain.release();

      // Cut at a chunk boundary: every chunk opens but none as the last.
      const payloadStart = ageHeaderEnd(sealed)! + AGE_PAYLOAD_NONCE_BYTES;
      const atBoundary = sealed.subarray(0, payloadStart + 40 * AGE_SEALED_CHUNK_BYTES);
      const cut = await d.source("cut.lz4", stored("cut.lz4", atBoundary).local, temp, Promise.resolve(pool));
      const late = await cut.source.ready!(cut.size).catch((e: unknown) => e);
      expect((late as StorageError).message).toMatch(/cut\.lz4: it is damaged .*as the last one/);
      cut.release();
      // Cut where no payload can end: known before anything is opened.
      const odd = sealed.subarray(0, payloadStart + 40 * AGE_SEALED_CHUNK_BYTES + 5);
      const early = await d
        .source("odd.lz4", stored("odd.lz4", odd).local, temp, Promise.resolve(pool))
        .catch((e: unknown) => e);
      expect((early as StorageError).message).toMatch(/odd\.lz4: it is damaged .*not that of an age payload/);
      expect(fs.readdirSync(temp)).toEqual([]);
    });

    test("released while the workers open it: the ciphertext goes, the work stops", async () => {
      const d = new AgeDecryptor([identity]);
      const { local, released } = stored("early.lz4", sealed);
      const object = await d.source("early.lz4", local, temp, Promise.resolve(pool));
      await object.source.ready!(1);
      object.release();
      expect(released()).toBe(true);
      expect(() => object.source.bytes(0, 1)).toThrow(RangeError);
      await sleep(100);
      expect(fs.readdirSync(temp)).toEqual([]);
    });
  });
});
