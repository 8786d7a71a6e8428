/**
 * Worker thread of the decode pool (decode-pool.ts): decodes one LZ4 frame, or one independent block of
 * a larger frame, per message and sends the content back (transferred, not copied), `overLimit` when a
 * frame is larger than asked, or the error: a format error's problem and offset, so the pool can rebuild it.
 */
import { decodeLz4Block } from "../format/lz4-block-decode.ts";
import { Lz4FormatError } from "../format/lz4-frame.ts";
import { type DecodeReply, type DecodeRequest, decodeOrNull, WORKER_READY } from "./decode-pool.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<DecodeRequest>) => {
  const request = event.data;
  const { id } = request;
  let reply: DecodeReply;
  try {
    const content =
      request.kind === "frame"
        ? decodeOrNull(request.frame, request.maxOutputBytes)
        : decodeLz4Block(request.data, request.stored, request.blockMaxSize);
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
