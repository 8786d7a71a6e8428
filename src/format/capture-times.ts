/**
 * When walship captured the commits in a WAL segment, so that a point-in-time restore can stop at the
 * last commit captured at or before the requested time. Object times cannot tell: S3's LastModified (and
 * SFTP's and Azure's) has whole seconds, and a segment goes up as much as a sync interval after its
 * commits. WAL frames carry no time at all.
 *
 * The records travel inside the segment object, as an LZ4 skippable frame in front of its LZ4 frame. LZ4
 * readers skip such frames (Litestream 0.3.13's reader does, before the frame; so do walship's decoder
 * and the lz4 tool), so the segment restores as before with any of them, no extra object or request is
 * needed, and an encrypted replica encrypts the records with the rest. Pure: imports nothing from the
 * runtime.
 *
 * Layout, little-endian: the skippable frame's magic CAPTURE_TIMES_MAGIC and payload size; the payload
 * is "WSCT", a version byte (1), three zero bytes, the xxHash32 of the entries, then one entry per
 * capture: u32 `end`, f64 `time`.
 */
import { readU32LE } from "./bytes.ts";
import { xxh32 } from "./xxhash32.ts";

export interface CaptureTime {
  /** Where a capture ended: content bytes from the segment's start, always the end of a commit frame. */
  end: number;
  /** When walship captured it, in milliseconds since the epoch: no commit before `end` is later. */
  time: number;
}

/** One of the sixteen skippable-frame magic numbers LZ4 reserves (0x184D2A50 to 0x184D2A5F). */
export const CAPTURE_TIMES_MAGIC = 0x184d2a57;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_BASE = 0x184d2a50;
const TAG = [0x57, 0x53, 0x43, 0x54]; // "WSCT"
const VERSION = 1;
const PAYLOAD_HEADER_BYTES = 12;
const ENTRY_BYTES = 12;

/** Capture-time records are present but damaged: they cannot be trusted to bound any commit's time. */
export class CaptureTimesError extends Error {
  override name = "CaptureTimesError";
  /** Stable, as walship's other errors have one (errors/walship-error.ts, which this pure module may not import). */
  readonly code = "capture-times-invalid";
}

/** The skippable frame holding `times`, to be written in front of the segment's LZ4 frame. */
export function encodeCaptureTimes(times: readonly CaptureTime[]): Uint8Array {
  const payload = PAYLOAD_HEADER_BYTES + times.length * ENTRY_BYTES;
  const out = new Uint8Array(8 + payload);
  const v = new DataView(out.buffer);
  v.setUint32(0, CAPTURE_TIMES_MAGIC, true);
  v.setUint32(4, payload, true);
  out.set(TAG, 8);
  out[12] = VERSION;
  times.forEach((t, i) => {
    const at = 8 + PAYLOAD_HEADER_BYTES + i * ENTRY_BYTES;
    v.setUint32(at, t.end, true);
    v.setFloat64(at + 4, t.time, true);
  });
  v.setUint32(16, xxh32(out.subarray(8 + PAYLOAD_HEADER_BYTES)), true);
  return out;
}

/**
 * The capture times in front of a segment object, or null when it carries none (written by Litestream,
 * by an older walship, or by a walship that restarted since those commits were captured). Throws
 * CaptureTimesError when they are there but damaged, or from a newer version of this format.
 */
export function readCaptureTimes(object: Uint8Array): CaptureTime[] | null {
  for (let pos = 0; object.length - pos >= 8; ) {
    const magic = readU32LE(object, pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 !== SKIPPABLE_BASE) return null; // the LZ4 frame itself
    const size = readU32LE(object, pos + 4);
    if (size > object.length - pos - 8) {
      throw new CaptureTimesError(`a skippable frame at ${pos} runs past the end of the object`);
    }
    if (magic === CAPTURE_TIMES_MAGIC) return decodePayload(object.subarray(pos + 8, pos + 8 + size));
    pos += 8 + size;
  }
  return null;
}

function decodePayload(p: Uint8Array): CaptureTime[] {
  if (p.length < PAYLOAD_HEADER_BYTES || TAG.some((b, i) => p[i] !== b)) {
    throw new CaptureTimesError("the capture-time records do not start with their tag");
  }
  if (p[4] !== VERSION) throw new CaptureTimesError(`capture-time records of unknown version ${p[4]}`);
  if ((p.length - PAYLOAD_HEADER_BYTES) % ENTRY_BYTES !== 0) {
    throw new CaptureTimesError(`capture-time records of ${p.length} bytes are not whole entries`);
  }
  const entries = p.subarray(PAYLOAD_HEADER_BYTES);
  if (xxh32(entries) !== readU32LE(p, 8))
    throw new CaptureTimesError("capture-time records fail their checksum");
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const times: CaptureTime[] = [];
  for (let at = PAYLOAD_HEADER_BYTES; at < p.length; at += ENTRY_BYTES) {
    const end = v.getUint32(at, true);
    const time = v.getFloat64(at + 4, true);
    const previous = times[times.length - 1]?.end ?? 0;
    if (end <= previous || !Number.isFinite(time)) {
      throw new CaptureTimesError(`capture-time record ${times.length} is out of order or not a time`);
    }
    times.push({ end, time });
  }
  return times;
}

/**
 * How many bytes of a segment's content hold only commits captured at or before `at`: the end of the last
 * capture at or before it, reading in order and stopping at the first one after it (a clock set back
 * must not let a later capture in). 0 when the first capture is already later.
 */
export function capturedBy(times: readonly CaptureTime[], at: number): number {
  let end = 0;
  for (const t of times) {
    if (t.time > at) break;
    end = t.end;
  }
  return end;
}
