/**
 * The story that started walship: a MinIO user wrote `s3://s3.example.com/litestream/qt.db`. walship
 * reads it as Litestream does (an AWS bucket named s3.example.com) but, whatever the failure, says so and
 * suggests the two URLs that mean "a server at s3.example.com, bucket litestream": at once, whether
 * replicate stops (a definite answer from the server) or keeps retrying (no answer).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase } from "../helpers/app-db.ts";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { s3ForTests, s3Keys } from "../helpers/replicate-setup.ts";
import { unusedPort } from "../helpers/tcp.ts";
import { makeTempDir } from "../helpers/tmp.ts";

const URL_AS_TYPED = "s3://s3.example.com/litestream/qt.db";

describe("an S3 host that is not an endpoint", () => {
  const dir = makeTempDir();
  const db = path.join(dir, "app.db");
  const servers = s3ForTests({ buckets: ["litestream"], removeAfter: dir });
  beforeAll(() => createDatabase(db));

  function expectExplained(stderr: string): void {
    expect(stderr).toContain("bucket=s3.example.com");
    expect(stderr).toContain("https://s3.example.com/litestream/qt.db");
    expect(stderr).toContain("s3://litestream/qt.db?endpoint=s3.example.com");
  }

  test("on AWS (no endpoint anywhere): the failure explains, at once", async () => {
    const walship = startCli(["replicate", db, URL_AS_TYPED], {
      env: { LITESTREAM_ACCESS_KEY_ID: "AKIDEXAMPLE", LITESTREAM_SECRET_ACCESS_KEY: "secret-example" },
    });
    // Offline (no DNS), the replica is not reachable: walship logs why and retries. With AWS reachable,
    // AWS rejects the example key: a definite answer, so walship exits 1 at start-up.
    await waitFor(
      async () =>
        walship.stderr().includes("replica not reachable at start-up") ||
        (await Promise.race([walship.exited.then(() => true), Bun.sleep(50).then(() => false)])),
      90_000,
      "the start-up check",
    );
    const stderr = walship.stderr();
    const line = stderr.split("\n").find((l) => l.includes("replica not reachable at start-up"));
    if (line) {
      expect(line).toContain("endpoint=AWS");
      expectExplained(line);
      expect((await walship.stop()).code).toBe(1); // the final sync could not reach it either
    } else {
      const r = await walship.stop();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("endpoint=AWS");
      expectExplained(r.stderr);
    }
  }, 100_000);

  test("a server not up yet: replicate logs the explanation at once and keeps retrying", async () => {
    const { s3 } = servers;
    const walship = startCli(["replicate", db, URL_AS_TYPED], {
      env: {
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await unusedPort()}`,
        LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId,
        LITESTREAM_SECRET_ACCESS_KEY: "secret-example",
      },
    });
    const notReachable = () =>
      walship
        .stderr()
        .split("\n")
        .find((l) => l.includes("replica not reachable at start-up"));
    await waitFor(() => notReachable() !== undefined, 20_000, "the start-up warning");
    expect(notReachable()).toContain("ECONNREFUSED");
    expectExplained(notReachable()!);
    await Bun.sleep(500);
    expect(await Promise.race([walship.exited, Bun.sleep(0).then(() => "running")])).toBe("running");
    expect((await walship.stop()).code).toBe(1); // the final sync could not reach it either
  }, 30_000); // the final sync gives a replica that is down 5 s

  test("404 and 403 from a server: the same explanation", async () => {
    const { s3 } = servers;
    // With the endpoint from the environment the host is still taken as the bucket, so the server says
    // NoSuchBucket (or, with an unknown key, InvalidAccessKeyId).
    const base = { AWS_ENDPOINT_URL_S3: s3.endpoint, LITESTREAM_SECRET_ACCESS_KEY: "secret-example" };
    const notFound = await runCli(["restore", "-o", path.join(dir, "x.db"), URL_AS_TYPED], {
      env: { ...base, LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId },
    });
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toContain("NoSuchBucket");
    expectExplained(notFound.stderr);
    const forbidden = await runCli(["replicate", db, URL_AS_TYPED], {
      env: { ...base, LITESTREAM_ACCESS_KEY_ID: "UNKNOWN" },
    });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain("InvalidAccessKeyId");
    expectExplained(forbidden.stderr);
  });

  test("the suggested http(s)://HOST/BUCKET/PATH form works", async () => {
    const { s3 } = servers;
    const creds = s3Keys(s3);
    const walship = startCli(["replicate", db, `${s3.endpoint}/litestream/qt.db`], { env: creds });
    await waitFor(() => walship.stderr().includes("snapshot written"), 20_000, "a snapshot");
    expect((await walship.stop()).code).toBe(0);
    // Bucket "litestream", key prefix "qt.db": what the user meant.
    expect(fs.existsSync(path.join(s3.dir, "litestream", "qt.db", "generations"))).toBe(true);
    const restored = await runCli(
      ["restore", "-o", path.join(dir, "ok.db"), `${s3.endpoint}/litestream/qt.db`],
      {
        env: creds,
      },
    );
    expect(restored.code).toBe(0);
  });
});
