/**
 * Declares Litestream's listing commands (`databases`, `generations`, `snapshots`, `wal`) on the CLI.
 * Like the other commands, each action only records what to run; the command module is imported when
 * it runs, so `walship replicate` never loads them.
 */
import type { CAC } from "cac";
import { stringFlag } from "./args.ts";

export function registerInspectCommands(cli: CAC, setRun: (fn: () => Promise<number>) => void): void {
  // `walship wal ... | head` closes the pipe early. A Go program dies quietly of SIGPIPE; we drop the
  // rest of the output instead of crashing with a stack trace. Bun reports EPIPE either by throwing from
  // write() or, once its buffer is in use, as an 'error' event; both are covered. Installed only when a
  // listing command writes, so the other commands keep the default behaviour.
  let guarded = false;
  const stdout = (text: string) => {
    if (!guarded) {
      guarded = true;
      process.stdout.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code !== "EPIPE") throw err;
      });
    }
    try {
      process.stdout.write(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException | undefined)?.code !== "EPIPE") throw err;
    }
  };
  const stderr = (line: string) => process.stderr.write(`${line}\n`);
  const io = { out: stdout, warn: stderr };

  cli
    .command("databases", "List the databases in the config and their replicas")
    .usage("databases [-config PATH] [--json]")
    .option("--config <path>", "Config file")
    .option("--no-expand-env", "Do not expand $VAR in the config file")
    .option("--json", "Print JSON")
    .action((flags: Record<string, unknown>) => {
      setRun(async () =>
        (await import("./databases.ts")).runDatabases(
          {
            config: stringFlag(cli, "config", flags.config),
            expandEnv: flags.expandEnv !== false,
            json: flags.json === true,
          },
          io,
        ),
      );
    });

  cli
    .command(
      "generations [target]",
      "List the generations of a database's replicas or of a replica URL, with lag",
    )
    .usage("generations [-config PATH] [-replica NAME] [--json] DB_PATH|REPLICA_URL")
    .option("--config <path>", "Config file")
    .option("--no-expand-env", "Do not expand $VAR in the config file")
    .option("--replica <name>", "Only this replica (config mode)")
    .option("--json", "Print JSON, with the restorable window per replica")
    .action((target: string | undefined, flags: Record<string, unknown>) => {
      setRun(async () =>
        (await import("./generations.ts")).runGenerations(target, sourceFlags(cli, flags), io),
      );
    });

  cli
    .command("snapshots [target]", "List the snapshots of a database's replicas or of a replica URL")
    .usage("snapshots [-config PATH] [-replica NAME] [--json] DB_PATH|REPLICA_URL")
    .option("--config <path>", "Config file")
    .option("--no-expand-env", "Do not expand $VAR in the config file")
    .option("--replica <name>", "Only this replica (config mode)")
    .option("--json", "Print JSON")
    .action((target: string | undefined, flags: Record<string, unknown>) => {
      setRun(async () => (await import("./snapshots.ts")).runSnapshots(target, sourceFlags(cli, flags), io));
    });

  cli
    .command("wal [target]", "List the WAL segments of a database's replicas or of a replica URL")
    .usage("wal [-config PATH] [-replica NAME] [-generation NAME] [--json] DB_PATH|REPLICA_URL")
    .option("--config <path>", "Config file")
    .option("--no-expand-env", "Do not expand $VAR in the config file")
    .option("--replica <name>", "Only this replica (config mode)")
    .option("--generation <name>", "Only this generation")
    .option("--json", "Print JSON")
    .action((target: string | undefined, flags: Record<string, unknown>) => {
      setRun(async () =>
        (await import("./wal.ts")).runWal(
          target,
          { ...sourceFlags(cli, flags), generation: stringFlag(cli, "generation", flags.generation) },
          io,
        ),
      );
    });
}

function sourceFlags(cli: CAC, flags: Record<string, unknown>) {
  return {
    config: stringFlag(cli, "config", flags.config),
    expandEnv: flags.expandEnv !== false,
    replica: stringFlag(cli, "replica", flags.replica),
    json: flags.json === true,
  };
}
