/** Reads an LZ4 block's sequences, independently of the encoder and decoder under test. */

export interface Lz4Sequence {
  /** Output position where the match starts (or, for the final literals, where the output ends). */
  at: number;
  /** Absent for the final literal run. */
  offset?: number;
  length?: number;
}

export function lz4Sequences(block: Uint8Array): Lz4Sequence[] {
  const out: Lz4Sequence[] = [];
  let s = 0;
  let d = 0;
  const length = (nibble: number): number => {
    let n = nibble;
    if (nibble === 15) {
      let b: number;
      do {
        b = block[s++]!;
        n += b;
      } while (b === 255);
    }
    return n;
  };
  while (s < block.length) {
    const token = block[s++]!;
    const literals = length(token >>> 4);
    s += literals;
    d += literals;
    if (s >= block.length) {
      out.push({ at: d });
      break;
    }
    const offset = block[s]! | (block[s + 1]! << 8);
    s += 2;
    const matchLength = length(token & 15) + 4;
    out.push({ at: d, offset, length: matchLength });
    d += matchLength;
  }
  return out;
}
