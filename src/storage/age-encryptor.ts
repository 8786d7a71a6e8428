/**
 * Writing objects of an age-encrypted replica as Litestream 0.3.13 does: each object is a binary age v1
 * file for the configured X25519 recipients, with a fresh file key, its plaintext the LZ4 frame. The
 * header is built here (one X25519 stanza per recipient, then the MAC); the payload is sealed by
 * format/age-stream.ts with the WebAssembly ChaCha20-Poly1305.
 */

import * as crypto from "node:crypto";
import { type AgeStanza, ageHeaderWithoutMac, ageMacLine, base64NoPad } from "../format/age.ts";
import { ageRecipientBytes } from "../format/age-keys.ts";
import { AGE_PAYLOAD_NONCE_BYTES, AgeStreamSealer, sealAgePayload } from "../format/age-stream.ts";
import { concatBytes } from "../format/bytes.ts";
import {
  aead,
  headerMac,
  hkdf,
  payloadKey,
  randomBytes,
  X25519_LABEL,
  x25519Ephemeral,
  x25519PublicKey,
} from "./age-cipher.ts";

const FILE_KEY_BYTES = 16;
const ZERO_NONCE = new Uint8Array(12);

export class AgeEncryptor {
  private readonly recipients: { raw: Uint8Array; key: ReturnType<typeof x25519PublicKey> }[];
  /** Names the set of recipients without naming any (public keys, but not for everyone to see). */
  readonly fingerprint: string;

  /** `recipients`: X25519 public keys (age1…), already checked (see format/age-keys.ts). */
  constructor(recipients: readonly string[]) {
    if (recipients.length === 0) throw new Error("age: no recipient to encrypt for");
    this.recipients = recipients.map((r) => {
      const raw = ageRecipientBytes(r);
      return { raw, key: x25519PublicKey(raw) };
    });
    this.fingerprint = crypto
      .createHash("sha256")
      .update([...recipients].sort().join("\n"))
      .digest("hex")
      .slice(0, 16);
  }

  /** `plain` as an age file. */
  bytes(plain: Uint8Array): Uint8Array {
    const { intro, key } = this.start();
    return concatBytes([intro, sealAgePayload(aead(), key, plain)]);
  }

  /** The plaintext pieces as an age file, piece by piece. */
  async *stream(plain: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const { intro, key } = this.start();
    yield intro;
    const sealer = new AgeStreamSealer(aead(), key);
    for await (const piece of plain) {
      const sealed = sealer.push(piece);
      if (sealed.length > 0) yield concatBytes(sealed);
    }
    yield sealer.finish();
  }

  /** A new file key: the header and payload nonce that start the file, and the payload key. */
  private start(): { intro: Uint8Array; key: Uint8Array } {
    const fileKey = randomBytes(FILE_KEY_BYTES);
    const stanzas: AgeStanza[] = this.recipients.map((r) => {
      const { share, shared } = x25519Ephemeral(r.key);
      const wrapKey = hkdf(shared, concatBytes([share, r.raw]), X25519_LABEL);
      const body = new Uint8Array(FILE_KEY_BYTES + 16);
      aead().seal(wrapKey, ZERO_NONCE, fileKey, body, 0);
      return { type: "X25519", args: [base64NoPad(share)], body };
    });
    const header = ageHeaderWithoutMac(stanzas);
    const nonce = randomBytes(AGE_PAYLOAD_NONCE_BYTES);
    return {
      intro: concatBytes([header, ageMacLine(headerMac(fileKey, header)), nonce]),
      key: payloadKey(fileKey, nonce),
    };
  }
}
