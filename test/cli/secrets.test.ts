/**
 * No secret appears in any output: with keys in the config, in the environment and in a URL, every
 * line walship prints (logs, errors, doctor text and JSON) is scanned for them.
 */
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDatabase, runWriter } from "../helpers/app-db.ts";
import { type RunResult, runCli, startCli, waitFor } from "../helpers/cli.ts";
import { configYaml } from "../helpers/config.ts";
import { s3ForTests, s3Keys } from "../helpers/replicate-setup.ts";
import { makeTempDir } from "../helpers/tmp.ts";

describe("secrets never printed", () => {
  const dir = makeTempDir();
  const servers = s3ForTests({ buckets: ["secrets"], removeAfter: dir });

  test("replicate, restore, doctor and failures, with keys in config, environment and URL", async () => {
    const { s3 } = servers;
    // s3rver knows only its own key id and does not check SigV4 signatures: failures below come from
    // unknown key ids, and every secret value is one a leak would show.
    const secrets = [s3.secretAccessKey, "WrongSecretFromEnv42", "UrlPassword99", "WrongSecretInConfig77"];
    const outputs: RunResult[] = [];
    const db = path.join(dir, "app.db");
    createDatabase(db);
    const config = path.join(dir, "walship.yml");
    const configText = (keyId: string, secret: string) =>
      configYaml({
        dbs: [
          {
            path: db,
            replicas: [
              {
                url: `${s3.endpoint}/secrets/app`,
                keys: { "access-key-id": keyId, "secret-access-key": secret },
              },
            ],
          },
        ],
      });
    fs.writeFileSync(config, configText(s3.accessKeyId, s3.secretAccessKey));

    outputs.push(await runCli(["replicate", "-config", config, "-exec", "true"]));
    const r2 = startCli(["replicate", "-config", config]);
    await waitFor(() => r2.stderr().includes("initialized db"), 20_000, "the database to open");
    await runWriter(db, 50, 1, 10);
    outputs.push(await r2.stop());

    const envKeys = s3Keys(s3);
    const url = `${s3.endpoint}/secrets/app`;
    outputs.push(await runCli(["restore", "-o", path.join(dir, "a.db"), url], { env: envKeys }));
    outputs.push(await runCli(["restore", "-config", config, "-o", path.join(dir, "b.db"), db]));
    outputs.push(await runCli(["doctor", url], { env: envKeys }));
    outputs.push(await runCli(["doctor", "--json", url], { env: envKeys }));
    outputs.push(await runCli(["doctor", "-config", config]));
    outputs.push(await runCli(["doctor", "--json", "-config", config]));

    // Failures: wrong secrets from the environment and from the config, and a URL carrying credentials.
    const wrongEnv = {
      LITESTREAM_ACCESS_KEY_ID: "UNKNOWNKEYID1",
      LITESTREAM_SECRET_ACCESS_KEY: "WrongSecretFromEnv42",
    };
    outputs.push(await runCli(["restore", "-o", path.join(dir, "c.db"), url], { env: wrongEnv }));
    outputs.push(await runCli(["doctor", "--json", url], { env: wrongEnv }));
    outputs.push(
      await runCli(["restore", "-o", path.join(dir, "d.db"), `s3://key:UrlPassword99@secrets/app`]),
    );
    outputs.push(await runCli(["replicate", db, `https://key:UrlPassword99@127.0.0.1:9/secrets/app`]));
    fs.writeFileSync(config, configText("UNKNOWNKEYID2", "WrongSecretInConfig77"));
    outputs.push(await runCli(["replicate", "-config", config]));
    outputs.push(await runCli(["doctor", "-config", config]));

    expect(outputs.map((o) => o.code)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 1, 1]);
    const everything = outputs.map((o) => `${o.stdout}\n${o.stderr}`).join("\n");
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  }, 120_000);
});
