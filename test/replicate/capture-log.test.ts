/**
 * The capture log: what a replica writes into a segment about when its commits were captured. Every byte
 * it covers must get a time no earlier than its true capture time (so a restore never takes in a commit
 * made after the requested time), also when a capture spans two segments and when memory is thinned.
 */
import { expect, test } from "bun:test";
import type { CaptureTime } from "../../src/format/capture-times.ts";
import { CaptureLog } from "../../src/replicate/capture-log.ts";

test("a segment gets the records that end in it, and the time of a capture that runs on past its end", () => {
  const log = new CaptureLog();
  log.record(0, 1000, 10);
  log.record(0, 3000, 20);
  log.record(0, 9000, 30);
  log.record(1, 500, 40);
  expect(log.between(0, 0, 3000)).toEqual([
    { end: 1000, time: 10 },
    { end: 3000, time: 20 },
  ]);
  // A segment cut inside the third capture: its tail was captured at 30.
  expect(log.between(0, 3000, 5000)).toEqual([{ end: 2000, time: 30 }]);
  expect(log.between(0, 5000, 9000)).toEqual([{ end: 4000, time: 30 }]);
  expect(log.between(1, 0, 500)).toEqual([{ end: 500, time: 40 }]);
  log.forget(0, 3000);
  expect(log.size).toBe(2);
  expect(log.between(0, 3000, 9000)).toEqual([{ end: 6000, time: 30 }]);
  log.clear();
  expect(log.size).toBe(0);
});

test("thinned under a long backlog, every byte still gets a time no earlier than its capture", () => {
  const log = new CaptureLog();
  const truth: { end: number; time: number }[] = [];
  // 300,000 captures of 10 bytes each over three indexes, one a millisecond.
  for (let i = 1; i <= 300_000; i++) {
    const index = Math.floor((i - 1) / 100_000);
    const end = 32 + ((i - 1) % 100_000) * 10 + 10;
    log.record(index, end, i);
    truth.push({ end, time: i });
  }
  expect(log.size).toBeLessThanOrEqual(200_000);
  for (const index of [0, 1, 2]) {
    const times: CaptureTime[] = log.between(index, 0, 32 + 100_000 * 10);
    // The whole index is covered, and each record's time bounds the true times of the bytes before it.
    expect(times.at(-1)?.end).toBe(32 + 100_000 * 10);
    let k = index * 100_000;
    for (const t of times) {
      while (k < (index + 1) * 100_000 && truth[k]!.end <= t.end) {
        expect(truth[k]!.time).toBeLessThanOrEqual(t.time);
        k++;
      }
    }
  }
});
