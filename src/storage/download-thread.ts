/**
 * The thread that GETs run on (why: http-download.ts), one for the process, started on first use and not
 * keeping the process alive. Where no worker thread can start, GETs run on the calling thread.
 */
import { startWorker, WORKERS_UNREF } from "../runtime/worker-thread.ts";
import { type DownloadReply, type DownloadRequest, performDownload } from "./http-download.ts";

type Run = (request: DownloadRequest) => Promise<DownloadReply>;

let shared: Promise<Run> | undefined;

/** Runs `request` on the download thread. */
export async function download(request: DownloadRequest): Promise<DownloadReply> {
  shared ??= start();
  return (await shared)(request);
}

async function start(): Promise<Run> {
  // An idle thread must not hold the process open; where it could (Deno), GETs run on this thread.
  const worker = WORKERS_UNREF
    ? await startWorker(new URL("./download-worker.ts", import.meta.url), "./storage/download-worker.ts")
    : null;
  if (!worker) return performDownload;
  // Kept alive only while a GET is out: an idle thread must not hold the process open.
  worker.unref();
  const pending = new Map<number, { resolve: (r: DownloadReply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.onmessage = (event: MessageEvent<{ id: number; reply: DownloadReply }>) => {
    const job = pending.get(event.data.id);
    pending.delete(event.data.id);
    if (pending.size === 0) worker.unref();
    job?.resolve(event.data.reply);
  };
  worker.onerror = () => {
    // The thread died: what it held fails, and later GETs run here.
    for (const job of pending.values()) job.reject(new Error("the download thread failed"));
    pending.clear();
    shared = Promise.resolve(performDownload);
  };
  return (request) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, request });
    });
}
