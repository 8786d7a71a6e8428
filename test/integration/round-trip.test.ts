import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { FileStore } from "../../src/storage/file.ts";
import { ReplicaClient } from "../../src/storage/replica-client.ts";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { readDatabase } from "../helpers/db-content.ts";
import { litestreamConfig } from "../helpers/litestream.ts";
import { s3ForTests, s3Keys } from "../helpers/replicate-setup.ts";
import { makeTempDir } from "../helpers/tmp.ts";

describe("replicate and restore, end to end", () => {
  const dir = makeTempDir();
  const servers = s3ForTests({ buckets: ["round-trip"], removeAfter: dir });

  test("5,000 mixed transactions with app checkpoints reach a directory and S3 exactly", async () => {
    const { s3 } = servers;
    const db = path.join(dir, "app.db");
    const replicaDir = path.join(dir, "replica");
    createDatabase(db);
    const configPath = path.join(dir, "walship.yml");
    fs.writeFileSync(
      configPath,
      litestreamConfig(
        db,
        [
          { dir: replicaDir },
          {
            bucket: "round-trip",
            path: "app",
            endpoint: s3.endpoint,
            accessKeyId: s3.accessKeyId,
            secretAccessKey: s3.secretAccessKey,
          },
        ],
        ["monitor-interval: 100ms"],
      ),
    );
    const walship = startCli(["replicate", "-config", configPath]);
    await waitFor(() => fs.existsSync(path.join(replicaDir, "generations")), 15_000, "the first snapshot");
    await runWriter(db, 5000, 42);
    const result = await walship.stop("SIGTERM");
    expect(result.code).toBe(0);

    // The checkpoints restarted the WAL several times: the replica holds more than one WAL index.
    const client = new ReplicaClient(new FileStore(replicaDir));
    const [generation] = await client.generations();
    const indexes = new Set((await client.walSegments(generation!)).map((s) => s.index));
    expect(indexes.size).toBeGreaterThan(1);

    const source = readDatabase(db);
    expect(source.rows.length).toBeGreaterThan(1000);
    const creds = s3Keys(s3);
    for (const [name, url] of [
      ["dir", `file://${replicaDir}`],
      ["s3", `${s3.endpoint}/round-trip/app`],
    ] as const) {
      const out = path.join(dir, `restored-${name}.db`);
      const restore = await runCli(["restore", "-o", out, url], { env: creds });
      expect(restore.stderr).toContain("restored");
      expect(restore.code).toBe(0);
      const restored = readDatabase(out);
      expect(restored.integrity).toBe("ok");
      expect(restored.rows.length).toBe(source.rows.length);
      expect(restored.rows).toEqual(source.rows);
    }
  });
});
