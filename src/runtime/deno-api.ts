/**
 * The part of Deno's global API walship uses, typed here because the type checker runs with Bun's types
 * only. Undefined under Bun. Only src/runtime/ reads it.
 */

/** A native pointer as Deno's FFI hands it out; opaque to walship. */
export type DenoPointer = object | null;

type NativeType = "i32" | "pointer" | "buffer";

interface ForeignFunction {
  parameters: readonly NativeType[];
  result: NativeType;
}

export interface DenoApi {
  version: { deno: string };
  mainModule: string;
  dlopen<S extends Record<string, ForeignFunction>>(
    path: string,
    symbols: S,
  ): {
    // Each symbol's real signature follows from its declaration; callers state it (see libc-fcntl.ts).
    symbols: { [K in keyof S]: (...args: unknown[]) => unknown };
    close(): void;
  };
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

export const deno: DenoApi | undefined = (globalThis as { Deno?: DenoApi }).Deno;
