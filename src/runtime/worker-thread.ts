/**
 * Starting a worker thread that is an entry point of its own: in the compiled executable it is embedded
 * under its path below `src/` (see build/compile.ts); run from source it is a file beside its user.
 */
import { isCompiledExecutable } from "../io/executable.ts";

/** What a worker sends once it has loaded, before any request. */
export const WORKER_READY = "ready";
/** How long a worker may take to load before its user does without it. */
const START_TIMEOUT_MS = 5000;

/**
 * Starts the worker at `source` (a URL, for running from source) or `embedded` (its path under `src/`,
 * as `./restore/decode-worker.ts`) and waits until it has said WORKER_READY; null if it cannot.
 */
export async function startWorker(source: URL, embedded: string): Promise<Worker | null> {
  let worker: Worker;
  try {
    worker = new Worker(isCompiledExecutable() ? embedded : source.href);
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
