import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase, openApp } from "../helpers/app-db.ts";
import { runCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { s3ForTests, s3Keys, startReplicating } from "../helpers/replicate-setup.ts";
import { makeTempDir } from "../helpers/tmp.ts";

const BATCHES = 4;
const ROWS_PER_BATCH = 25;

/** Formats a time in RFC 3339 with a +02:00 offset, to show any offset is accepted. */
function withOffset(d: Date): string {
  const shifted = new Date(d.getTime() + 2 * 3600_000);
  return `${shifted.toISOString().slice(0, 23)}+02:00`;
}

describe("point-in-time restore", () => {
  const dir = makeTempDir();
  const servers = s3ForTests({ buckets: ["pitr"], removeAfter: dir });

  test("each clock mark restores exactly the batches committed before it", async () => {
    const { s3 } = servers;
    const db = path.join(dir, "app.db");
    const replicaDir = path.join(dir, "replica");
    createDatabase(db);
    const beforeEverything = new Date(Date.now() - 60_000);
    const every100ms = { "sync-interval": "100ms" };
    const walship = startReplicating(
      path.join(dir, "walship.yml"),
      {
        dbs: [
          {
            path: db,
            keys: { "monitor-interval": "100ms" },
            replicas: [
              { name: "dir", url: `file://${replicaDir}`, keys: every100ms },
              { name: "s3", url: `${s3.endpoint}/pitr/app`, keys: every100ms },
            ],
          },
        ],
      },
      { s3 },
    );
    const creds = s3Keys(s3);
    await waitFor(
      () => (walship.stderr().match(/snapshot written/g) ?? []).length >= 2,
      20_000,
      "both snapshots",
    );
    // S3 LastModified has whole seconds: start the first batch in a later second than the snapshot.
    await Bun.sleep(1100);

    const app = openApp(db);
    const insert = app.prepare("INSERT INTO items (name, qty) VALUES (?, ?)");
    const marks: Date[] = [];
    for (let b = 0; b < BATCHES; b++) {
      for (let i = 0; i < ROWS_PER_BATCH; i++) insert.run(`batch-${b}`, i);
      // Let the monitor and sync intervals ship the batch, then mark the time.
      await Bun.sleep(800);
      marks.push(new Date());
      // The next batch's objects must carry a later second than the mark (S3 LastModified precision).
      await Bun.sleep(1100);
    }
    app.close();
    expect((await walship.stop()).code).toBe(0);

    const sources = [
      ["dir", `file://${replicaDir}`],
      ["s3", `${s3.endpoint}/pitr/app`],
    ] as const;
    for (const [name, url] of sources) {
      for (let b = 0; b < BATCHES; b++) {
        const out = path.join(dir, `${name}-${b}.db`);
        const stamp = b % 2 === 0 ? marks[b]!.toISOString() : withOffset(marks[b]!);
        const r = await runCli(["restore", "-timestamp", stamp, "-o", out, url], { env: creds });
        expect({ name, b, code: r.code, err: r.code ? r.stderr : "" }).toEqual({ name, b, code: 0, err: "" });
        const rows = readDatabase(out).rows as { name: string }[];
        const batches = [...new Set(rows.map((row) => row.name))];
        expect({ name, b, batches }).toEqual({
          name,
          b,
          batches: Array.from({ length: b + 1 }, (_, k) => `batch-${k}`),
        });
        expect(rows.length).toBe((b + 1) * ROWS_PER_BATCH);
      }
      // After the newest object: the latest state (Litestream finds nothing there).
      const later = path.join(dir, `${name}-later.db`);
      const r = await runCli(
        ["restore", "-timestamp", new Date(Date.now() + 3600_000).toISOString(), "-o", later, url],
        {
          env: creds,
        },
      );
      expect(r.code).toBe(0);
      expect(readDatabase(later).rows.length).toBe(BATCHES * ROWS_PER_BATCH);
      // Before the first backup: a clear failure and no output.
      const early = path.join(dir, `${name}-early.db`);
      const e = await runCli(["restore", "-timestamp", beforeEverything.toISOString(), "-o", early, url], {
        env: creds,
      });
      expect(e.code).toBe(1);
      expect(e.stderr).toContain("earliest restorable time is");
      expect(fs.existsSync(early)).toBe(false);
    }
  }, 120_000);
});
