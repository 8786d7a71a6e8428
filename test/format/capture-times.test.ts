/**
 * Capture-time records in front of a WAL segment: they round-trip, leave the segment readable by any LZ4
 * decoder that skips skippable frames (walship's here; Litestream's in test/interop), are found behind other
 * skippable frames, and are refused when damaged, so a point-in-time restore never trusts a bad bound.
 */
import { describe, expect, test } from "bun:test";
import { concatBytes } from "../../src/format/bytes.ts";
import {
  CAPTURE_TIMES_MAGIC,
  CaptureTimesError,
  capturedBy,
  encodeCaptureTimes,
  readCaptureTimes,
} from "../../src/format/capture-times.ts";
import { decodeLz4Frame, encodeLz4Frame } from "../../src/format/lz4-frame.ts";

const TIMES = [
  { end: 4152, time: Date.UTC(2026, 11, 5, 22, 19, 26, 900) },
  { end: 8272, time: Date.UTC(2026, 11, 5, 22, 19, 27, 300) },
  { end: 20632, time: Date.UTC(2026, 11, 5, 22, 19, 27, 301) },
];

describe("capture-time records", () => {
  const content = new Uint8Array(20632).map((_, i) => (i * 7) & 0xff);
  const segment = concatBytes([encodeCaptureTimes(TIMES), encodeLz4Frame(content)]);

  test("round-trip in front of the segment, which still decodes to its content", () => {
    expect(readCaptureTimes(segment)).toEqual(TIMES);
    expect(decodeLz4Frame(segment)).toEqual(content);
  });

  test("a segment without them reads as none; other skippable frames in front are passed over", () => {
    expect(readCaptureTimes(encodeLz4Frame(content))).toBeNull();
    expect(readCaptureTimes(new Uint8Array(3))).toBeNull();
    const other = new Uint8Array(8 + 5);
    new DataView(other.buffer).setUint32(0, 0x184d2a5f, true);
    new DataView(other.buffer).setUint32(4, 5, true);
    const both = concatBytes([other, segment]);
    expect(readCaptureTimes(both)).toEqual(TIMES);
    expect(decodeLz4Frame(both)).toEqual(content);
  });

  test("damage is refused, never read as a time", () => {
    const flipped = segment.slice();
    flipped[8 + 12 + 5]! ^= 0x40; // inside the first entry's time
    expect(() => readCaptureTimes(flipped)).toThrow(CaptureTimesError);
    const overrun = segment.slice(0, 30);
    expect(() => readCaptureTimes(overrun)).toThrow(/runs past the end/);
    const newer = segment.slice();
    newer[12] = 2;
    expect(() => readCaptureTimes(newer)).toThrow(/unknown version 2/);
    expect(() => readCaptureTimes(encodeCaptureTimes([TIMES[1]!, TIMES[0]!]))).toThrow(/out of order/);
    expect(new DataView(segment.buffer).getUint32(0, true)).toBe(CAPTURE_TIMES_MAGIC);
  });

  test("capturedBy: the end of the last capture at or before the time, stopping at the first later one", () => {
    expect(capturedBy(TIMES, Date.UTC(2026, 11, 5, 22, 19, 27, 0))).toBe(4152);
    expect(capturedBy(TIMES, Date.UTC(2026, 11, 5, 22, 19, 27, 300))).toBe(8272);
    expect(capturedBy(TIMES, Date.UTC(2026, 11, 5, 22, 19, 26, 0))).toBe(0);
    expect(capturedBy(TIMES, Date.UTC(2027, 0, 1))).toBe(20632);
    // A clock set back: a later capture with an earlier time never gets in after a later one.
    const setBack = [TIMES[0]!, { end: 8272, time: TIMES[2]!.time }, { end: 9000, time: TIMES[0]!.time }];
    expect(capturedBy(setBack, TIMES[1]!.time)).toBe(4152);
  });
});
