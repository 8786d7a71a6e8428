/** `walship databases [-config PATH]`: the databases in the config and the names of their replicas. */
import { loadConfig } from "../config/load.ts";
import { EXIT_OK } from "./errors.ts";
import { type CommandOutput, processOutput } from "./replica-source.ts";
import { formatTable } from "./table.ts";

export interface DatabasesFlags {
  config?: string | undefined;
  /** False for `-no-expand-env` (default true). */
  expandEnv?: boolean | undefined;
  json?: boolean | undefined;
}

export interface DatabaseRow {
  /** Absolute path, as the config resolves it. */
  path: string;
  replicas: string[];
}

export async function runDatabases(
  flags: DatabasesFlags,
  io: CommandOutput = processOutput,
): Promise<number> {
  const config = loadConfig({ path: flags.config, expandEnv: flags.expandEnv ?? true });
  const databases: DatabaseRow[] = config.dbs.map((db) => ({
    path: db.path,
    replicas: db.replicas.map((r) => r.name),
  }));
  if (flags.json) {
    io.out(`${JSON.stringify({ databases }, null, 2)}\n`);
  } else {
    io.out(
      formatTable(
        ["path", "replicas"],
        databases.map((d) => [d.path, d.replicas.join(",")]),
      ),
    );
  }
  return EXIT_OK;
}
