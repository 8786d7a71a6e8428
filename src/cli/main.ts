/**
 * walship's entry point: wires the commands with cac, and is the only place that sets the exit code.
 * Each command lives in its own file, takes parsed flags and returns an exit code.
 */
import { cac } from "cac";
import { normalizeArgs, stringFlag } from "./args.ts";
import { EXIT_OK, EXIT_USAGE, exitCodeFor, formatError } from "./errors.ts";
import { registerInspectCommands } from "./inspect-commands.ts";

/** Flags that take a value, so their value is never mistaken for a flag when normalising. */
const VALUE_FLAGS = new Set([
  "config",
  "exec",
  "o",
  "output",
  "replica",
  "generation",
  "index",
  "timestamp",
  "parallelism",
  "verify",
]);

export async function main(argv: string[]): Promise<number> {
  const cli = cac("walship");
  let run: (() => Promise<number>) | undefined;

  cli
    .command(
      "replicate [...args]",
      "Replicate databases continuously (from the config, or DB_PATH REPLICA_URL...)",
    )
    .usage("replicate [-config PATH] [-exec CMD] | replicate DB_PATH REPLICA_URL [REPLICA_URL...]")
    .option("--config <path>", "Config file (default $WALSHIP_CONFIG, /etc/walship.yml, /etc/litestream.yml)")
    .option("--no-expand-env", "Do not expand $VAR in the config file")
    .option("--exec <cmd>", "Run this command as a child; stop replicating when it exits, with its exit code")
    .action((args: string[], flags) => {
      run = async () => (await import("./replicate.ts")).runReplicate(args, flags);
    });

  cli
    .command(
      "restore [target]",
      "Restore a database from a replica URL or from the replicas of DB_PATH in the config",
    )
    .usage("restore [flags] DB_PATH | restore -o OUTPUT REPLICA_URL")
    .option("-o, --output <path>", "Output path (default: the DB path, in config mode)")
    .option("--config <path>", "Config file")
    .option("--no-expand-env", "Do not expand $VAR in the config file")
    .option("--replica <name>", "Only this replica (config mode)")
    .option("--generation <name>", "Only this generation")
    .option("--index <hex>", "Restore up to and including this WAL index")
    .option("--timestamp <time>", "Restore the state at this RFC 3339 time")
    .option("--parallelism <n>", "Concurrent downloads (default 8)")
    .option("--if-db-not-exists", "Do nothing if the output already exists")
    .option("--if-replica-exists", "Do nothing if no backup exists")
    .option("--verify <mode>", "Check the result with SQLite: none, quick (default) or full")
    .option("--dry-run", "Print the plan (generation, snapshot, segments, bytes, gaps) and stop")
    .option("--json", "Print the result (or the plan) as JSON on stdout")
    .option("--force", "Replace an existing output atomically, removing its stale -wal and -shm")
    .action((target: string | undefined, flags) => {
      // Values such as generation names and output paths must stay strings even when they look numeric.
      const str = (name: string) => stringFlag(cli, name, flags[name]);
      run = async () =>
        (await import("./restore.ts")).runRestore(target === undefined ? undefined : String(target), {
          ...flags,
          o: str("output") ?? str("o"),
          generation: str("generation"),
          index: str("index"),
          timestamp: str("timestamp"),
          config: str("config"),
          replica: str("replica"),
        });
    });

  cli
    .command("doctor [target]", "Check a database's replicas or a replica URL step by step, with fixes")
    .usage("doctor [-config PATH] [DB_PATH | REPLICA_URL] [--json]")
    .option("--config <path>", "Config file")
    .option("--no-expand-env", "Do not expand $VAR in the config file")
    .option("--json", "Print the report as JSON")
    .action((target: string | undefined, flags) => {
      run = async () =>
        (await import("./doctor.ts")).runDoctor(target, flags, (text) => process.stdout.write(`${text}\n`));
    });

  cli
    .command(
      "demo [dir]",
      "Replicate a sample database to a local directory, restore it and compare (no setup needed)",
    )
    .action((dir: string | undefined) => {
      run = async () => (await import("./demo.ts")).runDemo(dir, (line) => process.stdout.write(`${line}\n`));
    });

  cli.command("version", "Print the version").action(() => {
    run = async () => (await import("./version.ts")).runVersion((line) => process.stdout.write(`${line}\n`));
  });

  registerInspectCommands(cli, (fn) => {
    run = fn;
  });

  cli.help();
  try {
    const parsed = cli.parse(["walship", "walship", ...normalizeArgs(argv, VALUE_FLAGS)], { run: false });
    if (parsed.options.help || parsed.options.h) return EXIT_OK;
    if (!cli.matchedCommand) {
      if (parsed.args.length > 0) {
        process.stderr.write(`walship: unknown command "${parsed.args[0]}". Try: walship --help\n`);
      } else {
        cli.outputHelp();
      }
      return EXIT_USAGE;
    }
    await cli.runMatchedCommand();
    return run ? await run() : EXIT_OK;
  } catch (err) {
    process.stderr.write(`${formatError(err)}\n`);
    if (process.env.WALSHIP_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return exitCodeFor(err);
  }
}

// No top-level await: the bytecode-compiled executable is a CommonJS bundle.
if (import.meta.main) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
