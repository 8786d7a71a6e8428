/** Waiting, with Bun's own timers where they exist. */
import { IS_BUN } from "./host.ts";

/** Resolves after `ms` milliseconds. */
export const sleep: (ms: number) => Promise<void> = IS_BUN
  ? (ms) => Bun.sleep(ms)
  : (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One cell to wait on: nothing ever notifies it, so Atomics.wait sleeps for its whole timeout. */
const never = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` milliseconds (only for waits that are short and must not yield). */
export const sleepSync: (ms: number) => void = IS_BUN
  ? (ms) => Bun.sleepSync(ms)
  : (ms) => {
      Atomics.wait(never, 0, 0, ms);
    };
