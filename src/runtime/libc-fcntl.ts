/**
 * libc's fcntl(2) with a struct flock, through the runtime's FFI (bun:ffi, or Deno.dlopen): for the
 * WAL-index locks of replicate/shm-locks.ts. Null where there is no FFI, no glibc, or no Linux.
 */
import { deno } from "./deno-api.ts";
import { IS_BUN } from "./host.ts";

export type Fcntl = (fd: number, cmd: number, flock: Uint8Array) => number;

let loaded: Fcntl | null | undefined;

/** This process's fcntl, or null where it cannot be called (the caller then does without). */
export function libcFcntl(): Fcntl | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) return null;
  try {
    loaded = IS_BUN ? bunFcntl() : denoFcntl();
  } catch {
    loaded = null; // not glibc: the optimization is off, nothing else changes
  }
  return loaded;
}

function bunFcntl(): Fcntl {
  // Loaded by require: bun:ffi exists only under Bun.
  const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
  const lib = dlopen("libc.so.6", {
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  });
  return (fd, cmd, flock) => lib.symbols.fcntl(fd, cmd, flock);
}

function denoFcntl(): Fcntl | null {
  if (!deno) return null;
  const lib = deno.dlopen("libc.so.6", {
    fcntl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  });
  const fcntl = lib.symbols.fcntl as (fd: number, cmd: number, flock: Uint8Array) => number;
  return (fd, cmd, flock) => fcntl(fd, cmd, flock);
}
