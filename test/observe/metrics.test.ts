import { describe, expect, test } from "bun:test";
import { renderMetrics } from "../../src/observe/metrics.ts";

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

  test("walship_build_info is 1 with the version and commit it is given", () => {
    const text = renderMetrics([], { version: "1.2.3", commit: 'a"b' });
    expect(text).toContain('walship_build_info{version="1.2.3",commit="a\\"b"} 1\n');
  });
});
