/**
 * An object ready for a decoder to read: its bytes as an LZ4 frame source, whether from its local file
 * (a directory replica's own, or a download) or decrypted as they arrive (age-decrypted-source.ts).
 */
import * as fs from "node:fs";
import type { FrameSource } from "../format/lz4-frame-format.ts";
import { fileSource } from "../io/file-io.ts";
import type { LocalObject } from "./object-store.ts";

export interface ObjectSource {
  /** The bytes the source holds (the plaintext's size for an encrypted object). */
  size: number;
  source: FrameSource;
  /** Frees the file or memory behind it; the source must not be read after. */
  release(): void;
}

/** `local` read through a descriptor of its own, following its download; released together. */
export function fileObjectSource(local: LocalObject): ObjectSource {
  let fd: number;
  try {
    fd = fs.openSync(local.path, "r");
  } catch (err) {
    local.release();
    throw err;
  }
  return {
    size: local.size,
    source: fileSource(fd, local.size, local.ready),
    release: () => {
      fs.closeSync(fd);
      local.release();
    },
  };
}
