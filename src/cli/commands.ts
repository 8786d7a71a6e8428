/**
 * Every walship command, its flags and how it runs: the one table that drives both parsing and `--help`.
 * A command's module is imported only when it runs, so `walship replicate` never loads the listing code.
 */

import { UsageError } from "./errors.ts";
import type { FlagSpec, ParsedFlags } from "./flags.ts";
import type { CommandOutput } from "./replica-source.ts";

export interface Command {
  name: string;
  summary: string;
  /** Usage lines without the leading `walship `. */
  usage: string[];
  /** How many positionals the command takes at most (fewer is each command's own message). */
  maxPositionals: number;
  flags: FlagSpec[];
  run(args: ParsedFlags): Promise<number>;
}

const CONFIG: FlagSpec = {
  name: "config",
  kind: "string",
  value: "PATH",
  help: "Config file (default: $WALSHIP_CONFIG, then /etc/walship.yml, then /etc/litestream.yml)",
};
const NO_EXPAND_ENV: FlagSpec = {
  name: "no-expand-env",
  kind: "boolean",
  help: "Do not expand $VAR references in the config file",
};
const REPLICA: FlagSpec = {
  name: "replica",
  kind: "string",
  value: "NAME",
  help: "Only this replica of DB_PATH",
};
const GENERATION: FlagSpec = {
  name: "generation",
  kind: "string",
  value: "NAME",
  help: "Only this generation",
};
const JSON_OUT: FlagSpec = { name: "json", kind: "boolean", help: "Print JSON on stdout" };
const VERBOSE: FlagSpec = {
  name: "verbose",
  alias: "v",
  kind: "boolean",
  help: "Log at debug level (overrides logging.level in the config)",
};
/** Every command answers `-h`; it is part of each table so that parsing treats it like any flag. */
export const HELP: FlagSpec = { name: "help", alias: "h", kind: "boolean", help: "Show this help" };

const configFlags = (a: ParsedFlags) => ({
  config: a.string("config"),
  expandEnv: !a.boolean("no-expand-env"),
});
const sourceFlags = (a: ParsedFlags) => ({
  ...configFlags(a),
  replica: a.string("replica"),
  json: a.boolean("json"),
});

export const COMMANDS: Command[] = [
  {
    name: "replicate",
    summary: "Replicate databases continuously (from the config, or DB_PATH REPLICA_URL...)",
    usage: [
      "replicate [-config PATH] [-exec CMD]",
      "replicate [-exec CMD] DB_PATH REPLICA_URL [REPLICA_URL...]",
    ],
    maxPositionals: Number.POSITIVE_INFINITY,
    flags: [
      CONFIG,
      NO_EXPAND_ENV,
      {
        name: "exec",
        kind: "string",
        value: "CMD",
        help: "Run CMD as a child; stop replicating when it exits, and exit with its code",
      },
      VERBOSE,
      HELP,
    ],
    run: async (a) =>
      (await import("./replicate.ts")).runReplicate(a.positionals, {
        ...configFlags(a),
        exec: a.string("exec"),
        verbose: a.boolean("verbose"),
      }),
  },
  {
    name: "restore",
    summary:
      "Restore a database from a replica URL or directory, or from the replicas of DB_PATH in the config",
    usage: ["restore [flags] DB_PATH", "restore -o OUTPUT [flags] REPLICA_URL|REPLICA_DIR"],
    maxPositionals: 1,
    flags: [
      {
        name: "output",
        alias: "o",
        kind: "string",
        value: "PATH",
        help: "Output path (default: DB_PATH itself, in config mode); a .zip path writes a zip archive",
      },
      CONFIG,
      NO_EXPAND_ENV,
      REPLICA,
      GENERATION,
      { name: "index", kind: "string", value: "HEX", help: "Restore up to and including this WAL index" },
      { name: "timestamp", kind: "string", value: "TIME", help: "Restore the state at this RFC 3339 time" },
      { name: "parallelism", kind: "string", value: "N", help: "Concurrent downloads (default 8)" },
      {
        name: "age-identity-file",
        kind: "string",
        value: "FILE",
        help: "age identities (AGE-SECRET-KEY-1…, one a line) to read an encrypted replica with",
      },
      { name: "if-db-not-exists", kind: "boolean", help: "Do nothing if the output already exists" },
      { name: "if-replica-exists", kind: "boolean", help: "Do nothing if no backup exists" },
      {
        name: "verify",
        kind: "string",
        value: "MODE",
        help: "Check the result with SQLite: none, quick (default) or full",
      },
      {
        name: "dry-run",
        kind: "boolean",
        help: "Print the plan (generation, snapshot, segments, bytes, gaps) and stop",
      },
      { name: "json", kind: "boolean", help: "Print the result (or the plan) as JSON on stdout" },
      {
        name: "force",
        kind: "boolean",
        help: "Replace an existing output atomically, removing its stale -wal and -shm",
      },
      VERBOSE,
      HELP,
    ],
    run: async (a) =>
      (await import("./restore.ts")).runRestore(a.positionals[0], {
        ...configFlags(a),
        output: a.string("output"),
        replica: a.string("replica"),
        generation: a.string("generation"),
        index: a.string("index"),
        timestamp: a.string("timestamp"),
        parallelism: a.string("parallelism"),
        ageIdentityFile: a.string("age-identity-file"),
        ifDbNotExists: a.boolean("if-db-not-exists"),
        ifReplicaExists: a.boolean("if-replica-exists"),
        verify: a.string("verify"),
        dryRun: a.boolean("dry-run"),
        json: a.boolean("json"),
        force: a.boolean("force"),
        verbose: a.boolean("verbose"),
      }),
  },
  {
    name: "doctor",
    summary: "Check a database's replicas or a replica URL step by step, with fixes",
    usage: ["doctor [-config PATH] [--json] [DB_PATH|REPLICA_URL]"],
    maxPositionals: 1,
    flags: [CONFIG, NO_EXPAND_ENV, { ...JSON_OUT, help: "Print the report as JSON" }, HELP],
    run: async (a) =>
      (await import("./doctor.ts")).runDoctor(
        a.positionals[0],
        { ...configFlags(a), json: a.boolean("json") },
        (text) => process.stdout.write(`${text}\n`),
      ),
  },
  {
    name: "databases",
    summary: "List the databases in the config and their replicas",
    usage: ["databases [-config PATH] [--json]"],
    maxPositionals: 1,
    flags: [CONFIG, NO_EXPAND_ENV, JSON_OUT, HELP],
    run: async (a) =>
      (await import("./databases.ts")).runDatabases(
        a.positionals[0],
        { ...configFlags(a), json: a.boolean("json") },
        listingOutput(),
      ),
  },
  {
    name: "generations",
    summary: "List the generations of a database's replicas or of a replica URL, with lag",
    usage: ["generations [-config PATH] [-replica NAME] [--json] DB_PATH|REPLICA_URL"],
    maxPositionals: 1,
    flags: [
      CONFIG,
      NO_EXPAND_ENV,
      REPLICA,
      { ...JSON_OUT, help: "Print JSON, with the restorable window per replica" },
      HELP,
    ],
    run: async (a) =>
      (await import("./generations.ts")).runGenerations(a.positionals[0], sourceFlags(a), listingOutput()),
  },
  {
    name: "snapshots",
    summary: "List the snapshots of a database's replicas or of a replica URL",
    usage: ["snapshots [-config PATH] [-replica NAME] [--json] DB_PATH|REPLICA_URL"],
    maxPositionals: 1,
    flags: [CONFIG, NO_EXPAND_ENV, REPLICA, JSON_OUT, HELP],
    run: async (a) =>
      (await import("./snapshots.ts")).runSnapshots(a.positionals[0], sourceFlags(a), listingOutput()),
  },
  {
    name: "wal",
    summary: "List the WAL segments of a database's replicas or of a replica URL",
    usage: ["wal [-config PATH] [-replica NAME] [-generation NAME] [--json] DB_PATH|REPLICA_URL"],
    maxPositionals: 1,
    flags: [CONFIG, NO_EXPAND_ENV, REPLICA, GENERATION, JSON_OUT, HELP],
    run: async (a) =>
      (await import("./wal.ts")).runWal(
        a.positionals[0],
        { ...sourceFlags(a), generation: a.string("generation") },
        listingOutput(),
      ),
  },
  {
    name: "demo",
    summary: "Replicate a sample database to a local directory, restore it and compare (no setup needed)",
    usage: ["demo [DIR]"],
    maxPositionals: 1,
    flags: [HELP],
    run: async (a) =>
      (await import("./demo.ts")).runDemo(a.positionals[0], (line) => process.stdout.write(`${line}\n`)),
  },
  {
    name: "age-keygen",
    summary: "Make an age identity (X25519) for encrypted replicas, as age-keygen does",
    usage: ["age-keygen [-o FILE]", "age-keygen -y FILE"],
    maxPositionals: 0,
    flags: [
      {
        name: "output",
        alias: "o",
        kind: "string",
        value: "FILE",
        help: "Write the identity to FILE (mode 0600, never overwritten) and its public key to stderr",
      },
      {
        name: "y",
        kind: "string",
        value: "FILE",
        help: "Print the recipient (age1…) of each identity in FILE",
      },
      HELP,
    ],
    run: async (a) =>
      (await import("./age-keygen.ts")).runAgeKeygen(
        { output: a.string("output"), recipientsOf: a.string("y") },
        (line) => process.stdout.write(`${line}\n`),
        (line) => process.stderr.write(`${line}\n`),
      ),
  },
  {
    name: "version",
    summary: "Print the version",
    usage: ["version"],
    maxPositionals: 0,
    flags: [HELP],
    run: async () => (await import("./version.ts")).runVersion((line) => process.stdout.write(`${line}\n`)),
  },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Rejects a wrong number of positionals before anything runs. */
export function checkPositionals(command: Command, positionals: readonly string[]): void {
  const max = command.maxPositionals;
  if (positionals.length > max) {
    const extra = positionals.slice(max);
    throw new UsageError(
      `Cannot run walship ${command.name}: unexpected argument${extra.length > 1 ? "s" : ""} ${extra.join(" ")}`,
      `walship ${command.name} -h shows what it takes`,
    );
  }
}

/**
 * Stdout for the listing commands. `walship wal ... | head` closes the pipe early: a Go program dies
 * quietly of SIGPIPE, so the rest of the output is dropped instead of crashing with a stack trace. Bun
 * reports EPIPE either by throwing from write() or, once its buffer is in use, as an 'error' event.
 */
function listingOutput(): CommandOutput {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  });
  return {
    out: (text) => {
      try {
        process.stdout.write(text);
      } catch (err) {
        if ((err as NodeJS.ErrnoException | undefined)?.code !== "EPIPE") throw err;
      }
    },
    warn: (line) => process.stderr.write(`${line}\n`),
  };
}
