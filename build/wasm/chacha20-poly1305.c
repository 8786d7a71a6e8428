/*
 * ChaCha20-Poly1305 (RFC 8439) with an empty associated data, the AEAD of age's payload chunks and
 * stanza bodies, for src/format/wasm-kernels.ts. Written from the RFC: ChaCha20 with a 32-bit block
 * counter starting at 1 (block 0 makes the Poly1305 key), four blocks at a time in SIMD lanes; Poly1305
 * in 26-bit limbs (every message block is a full 16 bytes here, since the AEAD pads its input to 16). Opening checks the tag before it decrypts,
 * in constant time, so a forged chunk never yields plaintext.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

/* The key (32 bytes) and nonce (12 bytes) of the next call, written by the caller. */
static u8 params[44];

u8 *aead_params(void) { return params; }

static u32 load32(const u8 *p) { return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24); }

static void store32(u8 *p, u32 v) {
  p[0] = (u8)v;
  p[1] = (u8)(v >> 8);
  p[2] = (u8)(v >> 16);
  p[3] = (u8)(v >> 24);
}

static u32 rotl(u32 x, int r) { return (x << r) | (x >> (32 - r)); }

#define QR(a, b, c, d)                                                                                    \
  a += b; d ^= a; d = rotl(d, 16);                                                                        \
  c += d; b ^= c; b = rotl(b, 12);                                                                        \
  a += b; d ^= a; d = rotl(d, 8);                                                                         \
  c += d; b ^= c; b = rotl(b, 7);

/* One 64-byte keystream block for `counter`. */
static void chacha_block(u32 out[16], u32 counter) {
  u32 in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) in[4 + i] = load32(params + 4 * i);
  in[12] = counter;
  for (int i = 0; i < 3; i++) in[13 + i] = load32(params + 32 + 4 * i);
  u32 x0 = in[0], x1 = in[1], x2 = in[2], x3 = in[3], x4 = in[4], x5 = in[5], x6 = in[6], x7 = in[7];
  u32 x8 = in[8], x9 = in[9], x10 = in[10], x11 = in[11], x12 = in[12], x13 = in[13], x14 = in[14],
      x15 = in[15];
  for (int i = 0; i < 10; i++) {
    QR(x0, x4, x8, x12) QR(x1, x5, x9, x13) QR(x2, x6, x10, x14) QR(x3, x7, x11, x15)
    QR(x0, x5, x10, x15) QR(x1, x6, x11, x12) QR(x2, x7, x8, x13) QR(x3, x4, x9, x14)
  }
  out[0] = x0 + in[0], out[1] = x1 + in[1], out[2] = x2 + in[2], out[3] = x3 + in[3];
  out[4] = x4 + in[4], out[5] = x5 + in[5], out[6] = x6 + in[6], out[7] = x7 + in[7];
  out[8] = x8 + in[8], out[9] = x9 + in[9], out[10] = x10 + in[10], out[11] = x11 + in[11];
  out[12] = x12 + in[12], out[13] = x13 + in[13], out[14] = x14 + in[14], out[15] = x15 + in[15];
}

/* Four consecutive blocks at once, one per lane of 128-bit vectors (WebAssembly SIMD). */
typedef u32 v4 __attribute__((vector_size(16)));

static v4 rotv(v4 x, int r) { return (x << r) | (x >> (32 - r)); }

/* Rotations by whole bytes are byte shuffles: one instruction instead of two shifts and an or. */
typedef u8 v16 __attribute__((vector_size(16)));

static v4 rot16(v4 x) {
  return (v4)__builtin_shufflevector((v16)x, (v16)x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}

static v4 rot8(v4 x) {
  return (v4)__builtin_shufflevector((v16)x, (v16)x, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
}

#define QRV(a, b, c, d)                                                                                   \
  a += b; d ^= a; d = rot16(d);                                                                           \
  c += d; b ^= c; b = rotv(b, 12);                                                                        \
  a += b; d ^= a; d = rot8(d);                                                                            \
  c += d; b ^= c; b = rotv(b, 7);

/* dst[0, 256) = src XOR the keystream of blocks counter .. counter + 3. */
static void chacha_xor4(const u8 *src, u8 *dst, u32 counter) {
  v4 in[16], x[16];
  const u32 constants[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 4; i++) in[i] = (v4){constants[i], constants[i], constants[i], constants[i]};
  for (int i = 0; i < 8; i++) {
    u32 k = load32(params + 4 * i);
    in[4 + i] = (v4){k, k, k, k};
  }
  in[12] = (v4){counter, counter + 1, counter + 2, counter + 3};
  for (int i = 0; i < 3; i++) {
    u32 n = load32(params + 32 + 4 * i);
    in[13 + i] = (v4){n, n, n, n};
  }
  for (int i = 0; i < 16; i++) x[i] = in[i];
  for (int i = 0; i < 10; i++) {
    QRV(x[0], x[4], x[8], x[12]) QRV(x[1], x[5], x[9], x[13]) QRV(x[2], x[6], x[10], x[14])
    QRV(x[3], x[7], x[11], x[15]) QRV(x[0], x[5], x[10], x[15]) QRV(x[1], x[6], x[11], x[12])
    QRV(x[2], x[7], x[8], x[13]) QRV(x[3], x[4], x[9], x[14])
  }
  for (int i = 0; i < 16; i++) x[i] += in[i];
  /* Lane j of x[4g .. 4g + 3] is words 4g .. 4g + 3 of block j: transpose each group of four. */
  for (int g = 0; g < 4; g++) {
    v4 t0 = __builtin_shufflevector(x[4 * g], x[4 * g + 1], 0, 4, 1, 5);
    v4 t1 = __builtin_shufflevector(x[4 * g + 2], x[4 * g + 3], 0, 4, 1, 5);
    v4 t2 = __builtin_shufflevector(x[4 * g], x[4 * g + 1], 2, 6, 3, 7);
    v4 t3 = __builtin_shufflevector(x[4 * g + 2], x[4 * g + 3], 2, 6, 3, 7);
    v4 rows[4] = {
        __builtin_shufflevector(t0, t1, 0, 1, 4, 5),
        __builtin_shufflevector(t0, t1, 2, 3, 6, 7),
        __builtin_shufflevector(t2, t3, 0, 1, 4, 5),
        __builtin_shufflevector(t2, t3, 2, 3, 6, 7),
    };
    for (int j = 0; j < 4; j++) {
      v4 m;
      __builtin_memcpy(&m, src + 64 * j + 16 * g, 16);
      m ^= rows[j];
      __builtin_memcpy(dst + 64 * j + 16 * g, &m, 16);
    }
  }
}

/* dst = src XOR the keystream from block 1 on. */
static void chacha_xor(const u8 *src, int len, u8 *dst) {
  u32 ks[16];
  u32 counter = 1;
  int at = 0;
  for (; at + 256 <= len; at += 256, counter += 4) chacha_xor4(src + at, dst + at, counter);
  for (; at + 64 <= len; at += 64) {
    chacha_block(ks, counter++);
    for (int i = 0; i < 16; i++) store32(dst + at + 4 * i, load32(src + at + 4 * i) ^ ks[i]);
  }
  if (at < len) {
    u8 tail[64];
    chacha_block(ks, counter);
    for (int i = 0; i < 16; i++) store32(tail + 4 * i, ks[i]);
    for (int i = 0; at + i < len; i++) dst[at + i] = src[at + i] ^ tail[i];
  }
}

#define MASK26 0x3ffffff

struct poly {
  u32 r0, r1, r2, r3, r4, s1, s2, s3, s4;
  u32 h0, h1, h2, h3, h4;
  u32 pad[4];
};

static void poly_init(struct poly *p, const u8 key[32]) {
  p->r0 = load32(key) & 0x3ffffff;
  p->r1 = (load32(key + 3) >> 2) & 0x3ffff03;
  p->r2 = (load32(key + 6) >> 4) & 0x3ffc0ff;
  p->r3 = (load32(key + 9) >> 6) & 0x3f03fff;
  p->r4 = (load32(key + 12) >> 8) & 0x00fffff;
  p->s1 = p->r1 * 5, p->s2 = p->r2 * 5, p->s3 = p->r3 * 5, p->s4 = p->r4 * 5;
  p->h0 = p->h1 = p->h2 = p->h3 = p->h4 = 0;
  for (int i = 0; i < 4; i++) p->pad[i] = load32(key + 16 + 4 * i);
}

/* Absorbs 16-byte blocks (the caller pads the last one with zeros). */
static void poly_blocks(struct poly *p, const u8 *m, int len) {
  u32 r0 = p->r0, r1 = p->r1, r2 = p->r2, r3 = p->r3, r4 = p->r4;
  u32 s1 = p->s1, s2 = p->s2, s3 = p->s3, s4 = p->s4;
  u32 h0 = p->h0, h1 = p->h1, h2 = p->h2, h3 = p->h3, h4 = p->h4;
  for (; len >= 16; m += 16, len -= 16) {
    u32 t0 = load32(m), t1 = load32(m + 4), t2 = load32(m + 8), t3 = load32(m + 12);
    h0 += t0 & MASK26;
    h1 += ((t0 >> 26) | (t1 << 6)) & MASK26;
    h2 += ((t1 >> 20) | (t2 << 12)) & MASK26;
    h3 += ((t2 >> 14) | (t3 << 18)) & MASK26;
    h4 += (t3 >> 8) | (1 << 24);
    u64 d0 = (u64)h0 * r0 + (u64)h1 * s4 + (u64)h2 * s3 + (u64)h3 * s2 + (u64)h4 * s1;
    u64 d1 = (u64)h0 * r1 + (u64)h1 * r0 + (u64)h2 * s4 + (u64)h3 * s3 + (u64)h4 * s2;
    u64 d2 = (u64)h0 * r2 + (u64)h1 * r1 + (u64)h2 * r0 + (u64)h3 * s4 + (u64)h4 * s3;
    u64 d3 = (u64)h0 * r3 + (u64)h1 * r2 + (u64)h2 * r1 + (u64)h3 * r0 + (u64)h4 * s4;
    u64 d4 = (u64)h0 * r4 + (u64)h1 * r3 + (u64)h2 * r2 + (u64)h3 * r1 + (u64)h4 * r0;
    u32 c = (u32)(d0 >> 26);
    h0 = (u32)d0 & MASK26;
    d1 += c, c = (u32)(d1 >> 26), h1 = (u32)d1 & MASK26;
    d2 += c, c = (u32)(d2 >> 26), h2 = (u32)d2 & MASK26;
    d3 += c, c = (u32)(d3 >> 26), h3 = (u32)d3 & MASK26;
    d4 += c, c = (u32)(d4 >> 26), h4 = (u32)d4 & MASK26;
    h0 += c * 5, c = h0 >> 26, h0 &= MASK26;
    h1 += c;
  }
  p->h0 = h0, p->h1 = h1, p->h2 = h2, p->h3 = h3, p->h4 = h4;
}

static void poly_finish(struct poly *p, u8 tag[16]) {
  u32 h0 = p->h0, h1 = p->h1, h2 = p->h2, h3 = p->h3, h4 = p->h4, c;
  c = h1 >> 26, h1 &= MASK26, h2 += c;
  c = h2 >> 26, h2 &= MASK26, h3 += c;
  c = h3 >> 26, h3 &= MASK26, h4 += c;
  c = h4 >> 26, h4 &= MASK26, h0 += c * 5;
  c = h0 >> 26, h0 &= MASK26, h1 += c;
  /* h - p, kept when h >= p (no borrow out of the top limb). */
  u32 g0 = h0 + 5;
  c = g0 >> 26, g0 &= MASK26;
  u32 g1 = h1 + c;
  c = g1 >> 26, g1 &= MASK26;
  u32 g2 = h2 + c;
  c = g2 >> 26, g2 &= MASK26;
  u32 g3 = h3 + c;
  c = g3 >> 26, g3 &= MASK26;
  u32 g4 = h4 + c - (1u << 26);
  u32 keep_g = (g4 >> 31) - 1;
  h0 = (h0 & ~keep_g) | (g0 & keep_g);
  h1 = (h1 & ~keep_g) | (g1 & keep_g);
  h2 = (h2 & ~keep_g) | (g2 & keep_g);
  h3 = (h3 & ~keep_g) | (g3 & keep_g);
  h4 = (h4 & ~keep_g) | (g4 & keep_g);
  u32 w0 = h0 | (h1 << 26), w1 = (h1 >> 6) | (h2 << 20), w2 = (h2 >> 12) | (h3 << 14),
      w3 = (h3 >> 18) | (h4 << 8);
  u64 f = (u64)w0 + p->pad[0];
  store32(tag, (u32)f);
  f = (u64)w1 + p->pad[1] + (f >> 32);
  store32(tag + 4, (u32)f);
  f = (u64)w2 + p->pad[2] + (f >> 32);
  store32(tag + 8, (u32)f);
  f = (u64)w3 + p->pad[3] + (f >> 32);
  store32(tag + 12, (u32)f);
}

/* The AEAD tag of ciphertext c[0, len) with no associated data. */
static void aead_tag(const u8 *c, int len, u8 tag[16]) {
  u32 block0[16];
  u8 key[32];
  chacha_block(block0, 0);
  for (int i = 0; i < 8; i++) store32(key + 4 * i, block0[i]);
  struct poly p;
  poly_init(&p, key);
  int whole = len & ~15;
  poly_blocks(&p, c, whole);
  u8 last[16] = {0};
  if (whole < len) {
    for (int i = 0; whole + i < len; i++) last[i] = c[whole + i];
    poly_blocks(&p, last, 16);
  }
  u8 lengths[16] = {0};
  store32(lengths + 8, (u32)len); /* le64(aad length = 0), le64(ciphertext length) */
  poly_blocks(&p, lengths, 16);
  poly_finish(&p, tag);
}

/* Seals src[0, len) into dst[0, len + 16): ciphertext, then tag. */
void aead_seal(const u8 *src, int len, u8 *dst) {
  chacha_xor(src, len, dst);
  aead_tag(dst, len, dst + len);
}

/* Opens src[0, len) (ciphertext then tag) into dst[0, len - 16); returns 0, or -1 when the tag is wrong. */
int aead_open(const u8 *src, int len, u8 *dst) {
  if (len < 16) return -1;
  u8 tag[16];
  aead_tag(src, len - 16, tag);
  u8 diff = 0;
  for (int i = 0; i < 16; i++) diff |= tag[i] ^ src[len - 16 + i];
  if (diff) return -1;
  chacha_xor(src, len - 16, dst);
  return 0;
}
