/**
 * Worker thread of the decode pool (decode-pool.ts): decodes one LZ4 frame per message and sends the
 * content back (transferred, not copied), or one independent block of a larger frame into memory shared
 * with the pool, sending its length; `overLimit` when a frame is larger than asked; or the error: a
 * format error's problem and offset, so the pool can rebuild it.
 */
import { decodeLz4BlockInto } from "../format/lz4-block-decode.ts";
import { Lz4FormatError } from "../format/lz4-frame.ts";
import { type DecodeReply, type DecodeRequest, decodeOrNull, WORKER_READY } from "./decode-pool.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<DecodeRequest>) => {
  const request = event.data;
  const { id } = request;
  let reply: DecodeReply;
  try {
    if (request.kind === "block") {
      const { input, length, output, stored, blockMaxSize } = request;
      const decoded = decodeLz4BlockInto(
        new Uint8Array(input, 0, length),
        stored,
        blockMaxSize,
        new Uint8Array(output),
      );
      self.postMessage({ id, length: decoded } satisfies DecodeReply);
      return;
    }
    const content = decodeOrNull(request.frame, request.maxOutputBytes);
    if (content) {
      reply = { id, content };
      self.postMessage(reply, [content.buffer as ArrayBuffer]);
      return;
    }
    reply = { id, overLimit: true };
  } catch (err) {
    reply =
      err instanceof Lz4FormatError
        ? { id, error: err.problem, offset: err.offset }
        : { id, error: err instanceof Error ? err.message : String(err) };
  }
  self.postMessage(reply);
};

self.postMessage(WORKER_READY);
