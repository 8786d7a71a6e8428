/** CPU time and resident memory of a running process, read from Linux's /proc (tests of resource cost). */
import * as fs from "node:fs";

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/PID/stat's utime and stime (`getconf CLK_TCK`, 100 nearly everywhere). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]);
    const n = Number(out.stdout.toString().trim());
    clockTicks = out.exitCode === 0 && Number.isInteger(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/** User + system CPU time of the whole process (every thread), in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is parenthesised and may contain spaces; count fields after its ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of proc(5); fields[0] here is field 3 (state).
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size (VmRSS) in KiB. */
export function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** A CPU-time reading to compare with a later one. */
export interface CpuMark {
  ticks: number;
  atMs: number;
}

export function cpuMark(pid: number): CpuMark {
  return { ticks: cpuTicks(pid), atMs: performance.now() };
}

/** CPU used between two marks, as a percentage of one core. */
export function cpuPercent(from: CpuMark, to: CpuMark): number {
  const seconds = (to.atMs - from.atMs) / 1000;
  return ((to.ticks - from.ticks) / clockTicksPerSecond() / seconds) * 100;
}

/** One sample of a Prometheus text exposition whose labels include `labels`; NaN when absent. */
export function metricSample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (want.length === 0 && line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.lastIndexOf("}"));
    if (want.every((w) => inner.split(",").includes(w))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return Number.NaN;
}
