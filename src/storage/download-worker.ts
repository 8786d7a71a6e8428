/** The download thread's entry point (download-thread.ts): runs each GET it is sent, replies with its id. */
import { GarbagePacer } from "../runtime/garbage.ts";
import { WORKER_READY } from "../runtime/worker-ready.ts";
import { type DownloadReply, type DownloadRequest, performDownload } from "./http-download.ts";

declare const self: Worker;

/**
 * A full collection after every 16 MB received: this thread's heap is small, so it is cheap here, and
 * nothing else would free the buffers (see http-download.ts).
 */
const pacer = new GarbagePacer(16 * 1024 * 1024);

self.onmessage = async (event: MessageEvent<{ id: number; request: DownloadRequest }>) => {
  const { id, request } = event.data;
  // Every request gets its reply: a caller waiting for one that never comes would wait forever.
  const reply: DownloadReply = await performDownload(request, (bytes) => pacer.count(bytes)).catch(
    (err: unknown) => ({ kind: "local-failed", error: { name: "Error", message: String(err) } }),
  );
  // The body moves to the caller instead of being copied.
  self.postMessage({ id, reply }, reply.kind === "ok" && reply.bytes ? [reply.bytes] : []);
};

self.postMessage(WORKER_READY);
