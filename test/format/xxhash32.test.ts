import { expect, test } from "bun:test";
import { wasmKernels } from "../../src/format/wasm-kernels.ts";
import { Xxh32, xxh32 } from "../../src/format/xxhash32.ts";

test("xxHash32 in WebAssembly (long inputs) equals the JavaScript loop (short pieces) and Bun's", () => {
  expect(wasmKernels()).not.toBeNull();
  let seed = 7;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  };
  for (const size of [0, 1, 15, 16, 4095, 4096, 4097, 65_536 + 3, 5 * 1024 * 1024 + 9]) {
    const data = Uint8Array.from({ length: size }, random);
    const whole = new Xxh32().update(data).digest(); // one call: the WebAssembly stripes from 4 KiB up
    const pieces = new Xxh32();
    for (let at = 0; at < size; at += 1000) pieces.update(data.subarray(at, at + 1000)); // JavaScript
    expect({ size, whole }).toEqual({ size, whole: pieces.digest() });
    // Bun's native hash is the reference where there is one (not under Deno).
    if (typeof Bun !== "undefined")
      expect({ size, whole }).toEqual({ size, whole: Bun.hash.xxHash32(data, 0) });
    expect(xxh32(data)).toBe(whole);
  }
});
