/**
 * Starting a worker thread that is an entry point of its own: in the compiled executable it is embedded
 * under its path below `src/` (see build/compile.ts); run from source it is a file beside its user.
 */
import { isCompiledExecutable } from "./executable.ts";
import { IS_BUN } from "./host.ts";
import { WORKER_READY } from "./worker-ready.ts";

/** How long a worker may take to load before its user does without it. */
const START_TIMEOUT_MS = 5000;

/**
 * Whether an idle worker can be told not to keep the process alive (Bun's `unref`); Deno's workers
 * cannot, so a thread meant to idle for the process's life is not started there.
 */
export const WORKERS_UNREF = IS_BUN;

/**
 * Starts the worker at `source` (a URL, for running from source) or `embedded` (its path under `src/`,
 * as `./restore/decode-worker.ts`) and waits until it has said WORKER_READY; null if it cannot.
 */
export async function startWorker(source: URL, embedded: string): Promise<Worker | null> {
  let worker: Worker;
  try {
    // Deno runs only module workers and asks for the type; Bun's default is the same.
    worker = IS_BUN
      ? new Worker(isCompiledExecutable() ? embedded : source.href)
      : new Worker(source.href, { type: "module" });
  } catch {
    return null;
  }
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    worker.onmessage = (event) => {
      clearTimeout(timer);
      resolve(event.data === WORKER_READY);
    };
    worker.onerror = () => {
      clearTimeout(timer);
      resolve(false);
    };
  });
  if (!ready) worker.terminate();
  return ready ? worker : null;
}
