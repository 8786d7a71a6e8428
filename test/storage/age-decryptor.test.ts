/** Objects of an age-encrypted replica read as plaintext: decrypted in memory or into a temporary file. */
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Encrypter, generateIdentity, identityToRecipient } from "age-encryption";
import { AgeDecryptor } from "../../src/storage/age-decryptor.ts";
import { StorageError } from "../../src/storage/object-store.ts";
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
    const { local } = stored("c.lz4", ciphertext);
    const err = await new AgeDecryptor([]).file("c.lz4", local, temp).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain("c.lz4: it is encrypted (age)");
    expect(fs.readdirSync(temp)).toEqual([]);
  });
});
