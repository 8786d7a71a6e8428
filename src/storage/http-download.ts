/**
 * One signed GET, answer and body, run where its buffers cannot pile up: in the download thread
 * (download-thread.ts). Bun gives every read from the network a fresh buffer that only a garbage
 * collection frees, and it does not weigh those buffers when it decides to collect: on the busy main
 * thread of a restore they reached 150 MB for a 1.5 GiB restore. In a thread of their own, with a
 * collection after every 16 MB received (download-worker.ts; cheap there, its heap holds little else),
 * a 620 MB download peaked at 88 MB for the whole process instead of 148 MB, for the same CPU.
 *
 * The body goes into a file at an offset, or comes back whole (moved, not copied, to the caller).
 * Failures come back as data, since errors do not cross threads intact.
 */
import * as fs from "node:fs";
import { writeAt } from "../io/file-io.ts";

/** Of an error answer's body, enough for S3's XML error document. */
const ERROR_BODY_MAX_CHARS = 4096;

export interface DownloadRequest {
  url: string;
  headers: Record<string, string>;
  /** Bun's fetch TLS options. */
  tls: { rejectUnauthorized: boolean; ca?: string };
  /** No bytes for this long: abandoned. */
  idleTimeoutMs: number;
  /** Write the body into this existing file from `at`; absent: send it back. */
  into?: { file: string; at: number } | undefined;
}

/** An error as data: what network-error.ts reads (`name`, `code`) and the message. */
export interface ErrorFacts {
  name: string;
  code?: string | undefined;
  message: string;
}

export type DownloadReply =
  | {
      kind: "ok";
      contentRange: string | undefined;
      etag: string | undefined;
      /** Body bytes received (and written, with `into`). */
      size: number;
      bytes?: ArrayBuffer | undefined;
    }
  /** An answer that is not 2xx, with the start of its body. */
  | { kind: "answer"; status: number; text: string }
  /** No answer: the request failed (refused, reset, TLS, DNS, timeout). */
  | { kind: "request-failed"; error: ErrorFacts }
  /** Nothing was asked: the file to write into could not be opened (removed by a caller that gave up). */
  | { kind: "local-failed"; error: ErrorFacts }
  /** The answer began but its body broke off after `size` bytes. */
  | {
      kind: "body-failed";
      contentRange: string | undefined;
      etag: string | undefined;
      size: number;
      error: ErrorFacts;
    };

/** Runs `req`; `received` is told the size of every piece of body that arrives. */
export async function performDownload(
  req: DownloadRequest,
  received?: (bytes: number) => void,
): Promise<DownloadReply> {
  let fd: number | undefined;
  try {
    if (req.into) fd = fs.openSync(req.into.file, "r+");
  } catch (err) {
    return { kind: "local-failed", error: factsOf(err) };
  }
  const idle = new IdleTimeout(req.idleTimeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(req.url, { headers: req.headers, signal: idle.signal, tls: req.tls } as RequestInit);
    } catch (err) {
      return { kind: "request-failed", error: factsOf(err) };
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => "")).slice(0, ERROR_BODY_MAX_CHARS);
      return { kind: "answer", status: res.status, text };
    }
    const contentRange = res.headers.get("content-range") ?? undefined;
    const etag = res.headers.get("etag") ?? undefined;
    if (!req.into || fd === undefined) {
      // Whole, in one buffer the runtime fills natively: a third less CPU per object than reading it
      // piece by piece (measured, 400 KB objects), and these are small (see segment-fetcher.ts).
      let bytes: Uint8Array;
      try {
        bytes = await res.bytes();
      } catch (err) {
        return { kind: "body-failed", contentRange, etag, size: 0, error: factsOf(err) };
      }
      received?.(bytes.length);
      return { kind: "ok", contentRange, etag, size: bytes.length, bytes: ownBuffer(bytes) };
    }
    let size = 0;
    try {
      for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
        idle.arm();
        writeAt(fd, chunk, req.into.at + size);
        size += chunk.length;
        received?.(chunk.length);
      }
    } catch (err) {
      return { kind: "body-failed", contentRange, etag, size, error: factsOf(err) };
    }
    return { kind: "ok", contentRange, etag, size };
  } finally {
    idle.stop();
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The bytes as a buffer of their own, which can move to another thread. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.slice().buffer as ArrayBuffer);
}

function factsOf(err: unknown): ErrorFacts {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  return {
    name: typeof e.name === "string" ? e.name : "Error",
    code: typeof e.code === "string" ? e.code : undefined,
    message: typeof e.message === "string" ? e.message : String(err),
  };
}

/** Aborts a request after `ms` without progress: waiting for the answer, then between body chunks. */
class IdleTimeout {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  readonly signal = this.controller.signal;

  constructor(private readonly ms: number) {
    this.arm();
  }

  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const err = new Error(`no data for ${this.ms / 1000} s`);
      err.name = "TimeoutError";
      this.controller.abort(err);
    }, this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
