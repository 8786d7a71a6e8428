import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderMetrics } from "../../src/observe/metrics.ts";

/** Every metric Litestream 0.3.13 defines (db.go, replica.go, internal/internal.go). */
const LITESTREAM_METRICS = [
  "litestream_db_size",
  "litestream_wal_size",
  "litestream_total_wal_bytes",
  "litestream_shadow_wal_index",
  "litestream_shadow_wal_size",
  "litestream_sync_count",
  "litestream_sync_error_count",
  "litestream_sync_seconds",
  "litestream_checkpoint_count",
  "litestream_checkpoint_error_count",
  "litestream_checkpoint_seconds",
  "litestream_replica_wal_bytes",
  "litestream_replica_wal_index",
  "litestream_replica_wal_offset",
  "litestream_replica_validation_total",
  "litestream_replica_operation_total",
  "litestream_replica_operation_bytes",
];

/** Name, type and help of each family; with no databases every walship family still has HELP and TYPE. */
function families(): { name: string; type: string; help: string }[] {
  const text = renderMetrics([], { version: "1.2.3", commit: "abc" });
  const help = new Map([...text.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({
    name: m[1]!,
    type: m[2]!,
    help: help.get(m[1]!) ?? "",
  }));
}

/** The rows of the README's metrics table, as the backticked names in each column. */
function readmeRows(): string[][][] {
  const readme = fs.readFileSync(path.join(import.meta.dirname, "../../README.md"), "utf8");
  const section = /^### Metrics\n([\s\S]*?)(?=^##)/m.exec(readme)?.[1];
  if (!section) throw new Error("README.md has no '### Metrics' section");
  return section
    .split("\n")
    .filter((l) => l.startsWith("|") && !l.startsWith("|---"))
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)),
    );
}

describe("metric names", () => {
  test("counters end in _total, other metrics do not, and every metric counted in bytes ends in _bytes", () => {
    const all = families();
    for (const f of all) {
      expect({ name: f.name, total: f.name.endsWith("_total") }).toEqual({
        name: f.name,
        total: f.type === "counter",
      });
      if (/\bbytes\b|\bsize\b|\boffset\b/i.test(f.help)) expect(f.name).toMatch(/_bytes(_total)?$/);
    }
    expect(all.map((f) => f.name)).toContain("process_resident_memory_bytes");
  });

  test("the README's metrics table has a row for each Litestream 0.3.13 metric and names every walship metric", () => {
    const rows = readmeRows();
    const litestream = rows.flatMap((cells) => cells[0] ?? []);
    for (const name of LITESTREAM_METRICS) expect(litestream).toContain(name);
    const documented = new Set(rows.flatMap((cells) => cells[1] ?? []));
    for (const f of families())
      expect({ name: f.name, documented: documented.has(f.name) }).toEqual({
        name: f.name,
        documented: true,
      });
  });

  test("walship_build_info is 1 with the version and commit it is given", () => {
    const text = renderMetrics([], { version: "1.2.3", commit: 'a"b' });
    expect(text).toContain('walship_build_info{version="1.2.3",commit="a\\"b"} 1\n');
  });
});
