/**
 * Worker thread of the decode pool (decode-pool.ts): decodes one independent LZ4 block, or opens a run
 * of age chunks, per message into memory shared with the pool and sends its length back, or the error:
 * a format error's problem and offset, so the pool can rebuild it.
 */
import { AgeFormatError, openAgeChunks } from "../format/age-stream.ts";
import { decodeLz4BlockInto } from "../format/lz4-block-decode.ts";
import { Lz4FormatError } from "../format/lz4-frame.ts";
import { WORKER_READY } from "../runtime/worker-ready.ts";
import { aead } from "../storage/age-cipher.ts";
import type { AgeChunksRequest, DecodeReply, DecodeRequest } from "./decode-pool.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<DecodeRequest>) => {
  if (event.data.kind === "age") {
    self.postMessage(openChunks(event.data));
    return;
  }
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

function openChunks(req: AgeChunksRequest): DecodeReply {
  try {
    const sealed = new Uint8Array(req.input, 0, req.length);
    const out = new Uint8Array(req.output);
    return {
      id: req.id,
      length: openAgeChunks(aead(), req.payloadKey, sealed, req.firstChunk, req.final, out),
    };
  } catch (err) {
    return err instanceof AgeFormatError
      ? { id: req.id, ageError: err.message }
      : { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
}

self.postMessage(WORKER_READY);
