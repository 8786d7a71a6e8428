/**
 * The keys of an age file as age v1 derives them (HKDF-SHA256 from the file key, X25519 to wrap it for a
 * recipient, HMAC-SHA256 over the header), with node:crypto, and ChaCha20-Poly1305 from the host's
 * libcrypto or the WebAssembly kernels. The format itself is in format/age.ts and format/age-stream.ts.
 */
import * as crypto from "node:crypto";
import { type Aead, AGE_PAYLOAD_NONCE_BYTES } from "../format/age-stream.ts";
import { wasmKernels } from "../format/wasm-kernels.ts";
import { libcryptoAead } from "../runtime/libcrypto-aead.ts";

/** The X25519 stanza's label, the HKDF info of its wrap key. */
export const X25519_LABEL = "age-encryption.org/v1/X25519";

/** This thread's ChaCha20-Poly1305: the host's libcrypto where there is one, else the WebAssembly kernel. */
export function aead(): Aead {
  const native = libcryptoAead();
  if (native) return native;
  const kernels = wasmKernels();
  // Bun and Deno always have WebAssembly; only a stripped-down runtime would not.
  if (!kernels) throw new Error("age encryption needs WebAssembly, which this runtime does not offer");
  return kernels;
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Uint8Array {
  return new Uint8Array(crypto.hkdfSync("sha256", ikm, salt, info, 32));
}

/** The key the payload after `nonce` is sealed with. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== AGE_PAYLOAD_NONCE_BYTES) throw new RangeError("age: payload nonce of the wrong size");
  return hkdf(fileKey, nonce, "payload");
}

/** The header's MAC: HMAC-SHA256 keyed by the file key's "header" key, over the header up to "---". */
export function headerMac(fileKey: Uint8Array, headerWithoutMac: Uint8Array): Uint8Array {
  return new Uint8Array(
    crypto
      .createHmac("sha256", hkdf(fileKey, new Uint8Array(0), "header"))
      .update(headerWithoutMac)
      .digest(),
  );
}

/** A recipient's public key as node:crypto takes it. */
export function x25519PublicKey(raw: Uint8Array): crypto.KeyObject {
  return crypto.createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

/** A fresh ephemeral key pair: its public half (the stanza's share) and the secret shared with `peer`. */
export function x25519Ephemeral(peer: crypto.KeyObject): { share: Uint8Array; shared: Uint8Array } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("x25519");
  const x = publicKey.export({ format: "jwk" }).x;
  if (!x) throw new Error("age: X25519 public key without its bytes");
  const shared = new Uint8Array(crypto.diffieHellman({ privateKey, publicKey: peer }));
  if (shared.every((b) => b === 0)) throw new Error("age: recipient is a low-order point");
  return { share: new Uint8Array(Buffer.from(x, "base64url")), shared };
}

export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(crypto.randomBytes(n));
}

/** PKCS #8's wrapping of a raw X25519 private key (RFC 8410), the form node:crypto imports. */
const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

/** The public key of the X25519 secret `secret`. */
export function x25519PublicOf(secret: Uint8Array): Uint8Array {
  const der = Buffer.concat([X25519_PKCS8_PREFIX, secret]);
  const privateKey = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const x = crypto.createPublicKey(privateKey).export({ format: "jwk" }).x;
  if (!x) throw new Error("age: X25519 public key without its bytes");
  return new Uint8Array(Buffer.from(x, "base64url"));
}

/** A new X25519 key pair, raw. */
export function x25519Generate(): { secret: Uint8Array; publicKey: Uint8Array } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("x25519");
  const d = privateKey.export({ format: "jwk" }).d;
  const x = publicKey.export({ format: "jwk" }).x;
  if (!d || !x) throw new Error("age: X25519 key pair without its bytes");
  return {
    secret: new Uint8Array(Buffer.from(d, "base64url")),
    publicKey: new Uint8Array(Buffer.from(x, "base64url")),
  };
}
