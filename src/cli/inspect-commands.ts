/**
 * Declares Litestream's listing commands (`databases`, `generations`, `snapshots`, `wal`) on the CLI.
 * Like the other commands, each action only records what to run; the command module is imported when
 * it runs, so `walship replicate` never loads them.
 */
import type { CAC } from "cac";

export function registerInspectCommands(cli: CAC, setRun: (fn: () => Promise<number>) => void): void {
  const stdout = (text: string) => process.stdout.write(text);
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

/**
 * A string flag's value as typed. cac (through mri) turns numeric-looking values into numbers, which
 * would turn the all-digit generation name `0123456789012345` into 123456789012345, so the value is
 * taken from the raw arguments whenever cac did not keep a string. Repeated flags: the last wins, as
 * with Go's flag package.
 */
function stringFlag(cli: CAC, name: string, parsed: unknown): string | undefined {
  if (parsed === undefined) return undefined;
  if (typeof parsed === "string") return parsed;
  let raw: string | undefined;
  const args = cli.rawArgs;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") break;
    if (arg === `--${name}`) raw = args[i + 1];
    else if (arg.startsWith(`--${name}=`)) raw = arg.slice(name.length + 3);
  }
  if (raw !== undefined) return raw;
  return Array.isArray(parsed) ? String(parsed.at(-1)) : String(parsed);
}
