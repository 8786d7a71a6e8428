/**
 * Worker thread of the decode pool (decode-pool.ts): decodes one LZ4 frame per message and sends the
 * content back (transferred, not copied), `overLimit` when it is larger than asked, or the error's message.
 */
import { type DecodeReply, type DecodeRequest, decodeOrNull, WORKER_READY } from "./decode-pool.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<DecodeRequest>) => {
  const { id, frame, maxOutputBytes } = event.data;
  let reply: DecodeReply;
  try {
    const content = decodeOrNull(frame, maxOutputBytes);
    if (content) {
      reply = { id, content };
      self.postMessage(reply, [content.buffer as ArrayBuffer]);
      return;
    }
    reply = { id, overLimit: true };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  self.postMessage(reply);
};

self.postMessage(WORKER_READY);
