/** A reader following a download in ranges waits for exactly the bytes it needs, and learns of a failure. */
import { expect, test } from "bun:test";
import { DownloadedPrefix } from "../../src/storage/downloaded-prefix.ts";

/** Which of `promises` have settled, and how, after pending callbacks ran. */
async function states(promises: Promise<void>[]): Promise<string[]> {
  const out = promises.map(() => "waiting");
  for (const [i, p] of promises.entries()) {
    p.then(
      () => {
        out[i] = "ready";
      },
      (err: Error) => {
        out[i] = `failed: ${err.message}`;
      },
    );
  }
  await new Promise((r) => setTimeout(r, 0));
  return out;
}

test("ranges finishing out of order make bytes readable only once everything below them is there", async () => {
  const prefix = new DownloadedPrefix();
  const waits = [prefix.ready(10), prefix.ready(20), prefix.ready(30)];
  prefix.add(10, 20); // the second range first: nothing readable yet
  expect(await states(waits)).toEqual(["waiting", "waiting", "waiting"]);
  prefix.add(0, 10);
  expect(await states(waits)).toEqual(["ready", "ready", "waiting"]);
  prefix.add(20, 30);
  expect(await states(waits)).toEqual(["ready", "ready", "ready"]);
  expect(await states([prefix.ready(5), prefix.ready(0)])).toEqual(["ready", "ready"]);
});

test("a failed download fails those waiting and those that ask later, but not for bytes already there", async () => {
  const prefix = new DownloadedPrefix();
  prefix.add(0, 8);
  const waiting = prefix.ready(16);
  prefix.fail(new Error("range 8-15 broke off"));
  expect(await states([waiting, prefix.ready(12), prefix.ready(8)])).toEqual([
    "failed: range 8-15 broke off",
    "failed: range 8-15 broke off",
    "ready",
  ]);
});
