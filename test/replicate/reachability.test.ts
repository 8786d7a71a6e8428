import { describe, expect, test } from "bun:test";
import { FAILURE_REMINDER_MS, Reachability } from "../../src/replicate/reachability.ts";
import { StorageError } from "../../src/storage/object-store.ts";

const refused = (key: string) =>
  new StorageError(
    `Cannot list "${key}" on S3 (bucket=b endpoint=http://127.0.0.1:9): ECONNREFUSED`,
    "list",
    key,
    "check that it is reachable",
  );

describe("a replica's reachability", () => {
  test("an outage is reported once, then as a reminder a minute; an answer ends it", () => {
    const r = new Reachability();
    expect(r.reachable).toBe(true);
    const t0 = 1_000_000;
    expect(r.failed(refused("generations/"), t0)).toBe("new");
    expect(r.reachable).toBe(false);
    // The same problem on another listing is no news.
    expect(r.failed(refused("generations/abc/wal/"), t0 + 1_000)).toBe("repeat");
    expect(r.failed(refused("generations/abc/snapshots/"), t0 + FAILURE_REMINDER_MS)).toBe("reminder");
    expect(r.failed(refused("generations/"), t0 + FAILURE_REMINDER_MS + 1)).toBe("repeat");
    expect(r.failure).toMatchObject({ attempts: 4, since: new Date(t0), hint: "check that it is reachable" });
    // Another problem is news.
    expect(
      r.failed(new StorageError("Cannot list: InvalidAccessKeyId (HTTP 403)", "list", ""), t0 + 70_000),
    ).toBe("new");
    const ended = r.succeeded();
    expect(ended).toMatchObject({ attempts: 5, since: new Date(t0) });
    expect(r.reachable).toBe(true);
    expect(r.succeeded()).toBeNull();
  });
});
