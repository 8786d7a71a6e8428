/** What a worker thread sends once it has loaded, before any request (see worker-thread.ts). Workers import only this. */
export const WORKER_READY = "ready";
