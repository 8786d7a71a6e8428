/** The demo's closing hint, checked the way a user uses it: pasted into a shell. */
import { expect } from "bun:test";
import * as fs from "node:fs";
import { runCli } from "./cli.ts";

/** Runs the demo, then the command its last line suggests, through a shell, as a user would paste it. */
export async function demoHintRuns(opts: { binary?: string; cwd: string; env?: Record<string, string> }) {
  const demo = await runCli(["demo"], opts);
  expect(demo.code).toBe(0);
  const hint = /try it yourself: (.+)$/m.exec(demo.stdout)?.[1];
  expect(hint).toBeDefined();
  const copy = /-o (\S+)/.exec(hint!)?.[1];
  const proc = Bun.spawn(["/bin/sh", "-c", hint!], {
    cwd: opts.cwd,
    env: opts.env ?? { PATH: "/usr/bin:/bin" },
    stderr: "pipe",
  });
  const code = await proc.exited;
  expect(code).toBe(0);
  expect(fs.existsSync(copy!)).toBe(true);
  return hint!;
}
