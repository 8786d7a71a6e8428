/**
 * A child process that shares walship's standard streams: Bun.spawn under Bun, node:child_process
 * elsewhere (Deno implements it).
 */
import { spawn } from "node:child_process";
import { IS_BUN } from "./host.ts";

export interface Child {
  pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
  /** Settles when the child has exited: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number; signal: NodeJS.Signals | null }>;
}

export function spawnInheriting(argv: string[], env: NodeJS.ProcessEnv): Child {
  if (IS_BUN) {
    const child = Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"], env });
    return {
      pid: child.pid,
      kill: (signal) => child.kill(signal),
      // Bun names the signal, as Node does.
      exited: child.exited.then((code) => ({ code, signal: child.signalCode as NodeJS.Signals | null })),
    };
  }
  const [file, ...args] = argv;
  const child = spawn(file!, args, { stdio: "inherit", env });
  return {
    pid: child.pid,
    kill: (signal) => child.kill(signal),
    exited: new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code, signal) => resolve({ code: code ?? 0, signal }));
    }),
  };
}
