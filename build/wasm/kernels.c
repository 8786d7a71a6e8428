/*
 * walship's hot loops in WebAssembly, compiled by build/wasm.ts (see there for the command): the LZ4 block
 * decoder and xxHash32's stripe loop. The decoder has the same contract as decodeBlock in
 * src/format/lz4-frame.ts: every read, write and back-reference is bounds-checked, so a hostile block can
 * neither read outside its input nor fabricate bytes. No libc: the caller manages linear memory.
 */
typedef unsigned char u8;

/* Why the last call failed, and where (offset in the block); read by the caller after a negative return. */
static int error_offset;
static int error_value;

int lz4_error_offset(void) { return error_offset; }
int lz4_error_value(void) { return error_value; }

/* The base of the linear memory the caller may use (above this module's own data and stack). */
extern unsigned char __heap_base;
int lz4_heap_base(void) { return (int)&__heap_base; }

enum {
  OUTPUT_LIMIT = -1,
  LITERAL_LENGTH_TRUNCATED = -2,
  LITERALS_OVERRUN = -3,
  OFFSET_TRUNCATED = -4,
  OFFSET_ZERO = -5,
  OFFSET_TOO_FAR = -6,
  MATCH_LENGTH_TRUNCATED = -7,
  ENDS_WITH_MATCH = -8,
};

#define MIN_MATCH 4
#define SHORT_COPY 16

static int fail(int code, int at) {
  error_offset = at;
  return code;
}

/*
 * Decodes src[0, s_end) into dst[d, d_limit), matches reaching back to window_start. Returns the output
 * end, OUTPUT_LIMIT when the output would pass d_limit, or another negative code (see above).
 */
int lz4_decode_block(const u8 *src, int s_end, u8 *dst, int d, int d_limit, int window_start) {
  int s = 0;
  for (;;) {
    /* An empty block has no token: read as 0, as the JavaScript decoder does. */
    int token = s < s_end ? src[s] : 0;
    s++;
    int literals = token >> 4;
    if (literals == 15) {
      int b;
      do {
        if (s >= s_end) return fail(LITERAL_LENGTH_TRUNCATED, s);
        b = src[s++];
        literals += b;
      } while (b == 255);
    }
    if (literals > 0) {
      if (literals > s_end - s) return fail(LITERALS_OVERRUN, s);
      if (literals > d_limit - d) return OUTPUT_LIMIT;
      if (literals < SHORT_COPY && s_end - s >= SHORT_COPY && d_limit - d >= SHORT_COPY) {
        /* Room on both sides: copy a whole 16 bytes in one go; the bytes past the literals are
           overwritten by what follows or lie past the block's end, always inside [d, d_limit). */
        __builtin_memcpy(dst + d, src + s, SHORT_COPY);
        s += literals;
        d += literals;
      } else if (literals < SHORT_COPY) {
        for (int end = s + literals; s < end;) dst[d++] = src[s++];
      } else {
        __builtin_memcpy(dst + d, src + s, (unsigned)literals);
        s += literals;
        d += literals;
      }
    }
    if (s == s_end) return d;
    if (s_end - s < 2) return fail(OFFSET_TRUNCATED, s);
    int offset = src[s] | (src[s + 1] << 8);
    if (offset == 0) return fail(OFFSET_ZERO, s);
    if (offset > d - window_start) {
      error_value = offset;
      return fail(OFFSET_TOO_FAR, s);
    }
    s += 2;
    int length = token & 15;
    if (length == 15) {
      int b;
      do {
        if (s >= s_end) return fail(MATCH_LENGTH_TRUNCATED, s);
        b = src[s++];
        length += b;
      } while (b == 255);
    }
    length += MIN_MATCH;
    if (length > d_limit - d) return OUTPUT_LIMIT;
    int m = d - offset;
    if (length < SHORT_COPY && offset >= 8 && d_limit - d >= SHORT_COPY) {
      /* Two 8-byte copies: with the match at least 8 back, each reads only bytes already final, as the
         byte-by-byte copy would (the second may read what the first wrote). */
      __builtin_memcpy(dst + d, dst + m, 8);
      __builtin_memcpy(dst + d + 8, dst + m + 8, 8);
      d += length;
    } else if (length < SHORT_COPY) {
      for (int end = d + length; d < end;) dst[d++] = dst[m++];
    } else if (offset >= length) {
      __builtin_memcpy(dst + d, dst + m, (unsigned)length);
      d += length;
    } else {
      /* A repeating pattern: each pass copies everything written since m, doubling. */
      for (int end = d + length; d < end;) {
        int n = d - m < end - d ? d - m : end - d;
        __builtin_memcpy(dst + d, dst + m, (unsigned)n);
        d += n;
      }
    }
    if (s >= s_end) return fail(ENDS_WITH_MATCH, s);
  }
}

/* xxHash32: the four accumulators of a running hash, read and written by the caller around each call. */
static unsigned xxh_state[4];

unsigned *xxh32_state(void) { return xxh_state; }

#define PRIME32_1 0x9E3779B1u
#define PRIME32_2 0x85EBCA77u

static unsigned rotl32(unsigned x, int r) { return (x << r) | (x >> (32 - r)); }

static unsigned read32(const u8 *p) {
  return (unsigned)p[0] | ((unsigned)p[1] << 8) | ((unsigned)p[2] << 16) | ((unsigned)p[3] << 24);
}

/* Consumes the whole 16-byte stripes of p[0, len) into the accumulators. */
void xxh32_stripes(const u8 *p, int len) {
  unsigned v1 = xxh_state[0], v2 = xxh_state[1], v3 = xxh_state[2], v4 = xxh_state[3];
  for (const u8 *end = p + (len & ~15); p < end; p += 16) {
    v1 = rotl32(v1 + read32(p) * PRIME32_2, 13) * PRIME32_1;
    v2 = rotl32(v2 + read32(p + 4) * PRIME32_2, 13) * PRIME32_1;
    v3 = rotl32(v3 + read32(p + 8) * PRIME32_2, 13) * PRIME32_1;
    v4 = rotl32(v4 + read32(p + 12) * PRIME32_2, 13) * PRIME32_1;
  }
  xxh_state[0] = v1;
  xxh_state[1] = v2;
  xxh_state[2] = v3;
  xxh_state[3] = v4;
}
