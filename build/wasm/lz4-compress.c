/*
 * LZ4 block compression in WebAssembly, compiled by build/wasm.ts: the same greedy parse as compressBlock
 * in src/format/lz4-block.ts (one hash probe per position, skipping ahead faster after repeated misses,
 * matches taken back over equal literals, the block-end rules MFLIMIT and LAST_LITERALS), so both produce
 * the same bytes; here a match is extended eight bytes per step. The input is trusted (our own WAL pages),
 * the output area is the caller's, sized for the worst case. No libc.
 */
typedef unsigned char u8;
typedef unsigned long long u64;

#define MIN_MATCH 4
#define MFLIMIT 12
#define LAST_LITERALS 5
#define MAX_OFFSET 65535
#define HASH_LOG 16
#define SKIP_TRIGGER 6

static unsigned load32(const u8 *p) {
  unsigned v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

static u64 load64(const u8 *p) {
  u64 v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

/* Knuth's multiplicative hash of four bytes (2654435761), as the JavaScript compressor computes it. */
static unsigned hash4(unsigned sequence) { return (sequence * 2654435761u) >> (32 - HASH_LOG); }

/* The extra length bytes of a token nibble that holds n (none below 15). */
static u8 *put_length(u8 *op, int n) {
  if (n < 15) return op;
  for (n -= 15; n >= 255; n -= 255) *op++ = 255;
  *op++ = (u8)n;
  return op;
}

static u8 *put_literals(u8 *op, const u8 *from, int count) {
  __builtin_memcpy(op, from, (unsigned)count);
  return op + count;
}

/*
 * Compresses src[0, len) as one independent block into dst (room for len + len / 255 + 16 bytes), using
 * table (1 << HASH_LOG ints, zeroed here; entries are positions + 1). Returns the compressed size, or 0
 * when that would not be smaller than the input (the caller then stores the block raw).
 */
int lz4_compress_block(const u8 *src, int len, u8 *dst, int *table) {
  __builtin_memset(table, 0, sizeof(int) << HASH_LOG);
  const int match_start_limit = len - MFLIMIT;
  const int match_end_limit = len - LAST_LITERALS;
  u8 *op = dst;
  int anchor = 0;
  int ip = 0;
  int probes = 1 << SKIP_TRIGGER;
  while (ip < match_start_limit) {
    const unsigned sequence = load32(src + ip);
    const unsigned h = hash4(sequence);
    const int ref = table[h] - 1;
    table[h] = ip + 1;
    if (ref < 0 || ip - ref > MAX_OFFSET || load32(src + ref) != sequence) {
      ip += probes++ >> SKIP_TRIGGER;
      continue;
    }
    probes = 1 << SKIP_TRIGGER;
    int s = ip;
    int r = ref;
    while (s > anchor && r > 0 && src[s - 1] == src[r - 1]) {
      s--;
      r--;
    }
    int e = ip + MIN_MATCH;
    int m = ref + MIN_MATCH;
    for (;;) {
      if (e + 8 <= match_end_limit) {
        const u64 diff = load64(src + e) ^ load64(src + m);
        if (diff == 0) {
          e += 8;
          m += 8;
          continue;
        }
        e += __builtin_ctzll(diff) >> 3;
        break;
      }
      while (e < match_end_limit && src[e] == src[m]) {
        e++;
        m++;
      }
      break;
    }

    const int literals = s - anchor;
    const int match_length = e - s - MIN_MATCH;
    u8 *token = op++;
    op = put_length(op, literals);
    op = put_literals(op, src + anchor, literals);
    const int offset = s - r;
    *op++ = (u8)(offset & 0xff);
    *op++ = (u8)(offset >> 8);
    op = put_length(op, match_length);
    *token = (u8)(((literals < 15 ? literals : 15) << 4) | (match_length < 15 ? match_length : 15));
    if (op - dst >= len) return 0;

    anchor = e;
    ip = e;
    /* A position just before the match's end, so a repeat of what follows can find it. */
    if (ip < match_start_limit) table[hash4(load32(src + ip - 2))] = ip - 2 + 1;
  }
  const int tail = len - anchor;
  *op++ = (u8)((tail < 15 ? tail : 15) << 4);
  op = put_length(op, tail);
  op = put_literals(op, src + anchor, tail);
  return op - dst < len ? (int)(op - dst) : 0;
}
