/**
 * Worker thread of the decode pool (decode-pool.ts): decodes one independent LZ4 block per message into
 * memory shared with the pool and sends its length back, or the error: a format error's problem and
 * offset, so the pool can rebuild it.
 */
import { decodeLz4BlockInto } from "../format/lz4-block-decode.ts";
import { Lz4FormatError } from "../format/lz4-frame.ts";
import { WORKER_READY } from "../runtime/worker-thread.ts";
import type { DecodeReply, DecodeRequest } from "./decode-pool.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<DecodeRequest>) => {
  const { id, input, length, output, stored, blockMaxSize } = event.data;
  let reply: DecodeReply;
  try {
    const decoded = decodeLz4BlockInto(
      new Uint8Array(input, 0, length),
      stored,
      blockMaxSize,
      new Uint8Array(output),
    );
    reply = { id, length: decoded };
  } catch (err) {
    reply =
      err instanceof Lz4FormatError
        ? { id, error: err.problem, offset: err.offset }
        : { id, error: err instanceof Error ? err.message : String(err) };
  }
  self.postMessage(reply);
};

self.postMessage(WORKER_READY);
