/**
 * The standard `process_*` metrics every Prometheus client library exports, under the same names and
 * meanings, so existing dashboards and alerts work. CPU, memory and start time come from the runtime on
 * every platform; file descriptors from Linux's /proc/self, and are left out where it does not exist.
 */
import * as fs from "node:fs";
import type { Exposition } from "./exposition.ts";

/** Unix time the process started: taken once, as now minus the runtime's uptime. */
const START_TIME_SECONDS = Date.now() / 1000 - process.uptime();

export function writeProcessMetrics(out: Exposition): void {
  const cpu = process.cpuUsage();
  out.metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", [
    [{}, (cpu.user + cpu.system) / 1e6],
  ]);
  out.metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [
    [{}, process.memoryUsage.rss()],
  ]);
  out.metric(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds.",
    [[{}, START_TIME_SECONDS]],
  );
  const open = openFds();
  if (open !== null)
    out.metric("process_open_fds", "gauge", "Number of open file descriptors.", [[{}, open]]);
  const max = maxFds();
  if (max !== null)
    out.metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", [[{}, max]]);
}

/** Entries of /proc/self/fd (the one reading it included, as other clients count it); null off Linux. */
function openFds(): number | null {
  try {
    return fs.readdirSync("/proc/self/fd").length;
  } catch {
    return null;
  }
}

/** The soft RLIMIT_NOFILE from /proc/self/limits; null off Linux or when unlimited. */
function maxFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+)\s/m.exec(fs.readFileSync("/proc/self/limits", "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
