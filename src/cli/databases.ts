/** `walship databases [-config PATH]`: the databases in the config and the names of their replicas. */
import { loadConfig } from "../config/load.ts";
import { isReplicaUrl } from "../config/replica-url.ts";
import { EXIT_OK, UsageError } from "./errors.ts";
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
  target: string | undefined,
  flags: DatabasesFlags,
  io: CommandOutput = processOutput,
): Promise<number> {
  if (target !== undefined) {
    // Litestream's `databases` takes no argument either; a replica holds one database, so say where to look.
    throw new UsageError(
      `Cannot list databases of ${target}: walship databases lists the config's databases, and a replica holds the backups of one database`,
      isReplicaUrl(target)
        ? `walship generations ${target} lists that replica's backups`
        : `walship databases -config ${target}, if ${target} is a config file`,
    );
  }
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
