/**
 * walship's entry point: finds the command in the table, parses its flags, runs it, and is the only
 * place that sets the exit code. Each command lives in its own file and returns an exit code.
 */
import { checkPositionals, findCommand } from "./commands.ts";
import { EXIT_OK, EXIT_USAGE, exitCodeFor, formatError, UsageError } from "./errors.ts";
import { parseFlags } from "./flags.ts";
import { commandHelp, overviewHelp } from "./help.ts";

const HELP_WORDS = new Set(["-h", "-help", "--help"]);
const VERSION_WORDS = new Set(["-version", "--version", "-V"]);

export async function main(argv: string[]): Promise<number> {
  const out = (text: string) => process.stdout.write(text);
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      process.stderr.write(overviewHelp());
      return EXIT_USAGE;
    }
    if (HELP_WORDS.has(first) || (first === "help" && rest.length === 0)) {
      out(overviewHelp());
      return EXIT_OK;
    }
    if (first === "help") {
      const command = findCommand(rest[0]!);
      if (!command) throw unknownCommand(rest[0]!);
      out(commandHelp(command));
      return EXIT_OK;
    }
    const name = VERSION_WORDS.has(first) ? "version" : first;
    const command = findCommand(name);
    if (!command) throw unknownCommand(first);
    const args = parseFlags(command.name, command.flags, VERSION_WORDS.has(first) ? [] : rest);
    if (args.boolean("help")) {
      out(commandHelp(command));
      return EXIT_OK;
    }
    checkPositionals(command, args.positionals);
    return await command.run(args);
  } catch (err) {
    process.stderr.write(`${formatError(err)}\n`);
    if (process.env.WALSHIP_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return exitCodeFor(err);
  }
}

function unknownCommand(name: string): UsageError {
  return name.startsWith("-")
    ? new UsageError(
        `Cannot run walship ${name}: a command comes first`,
        "walship COMMAND [flags]; walship --help lists the commands",
      )
    : new UsageError(`unknown command "${name}"`, "walship --help lists the commands");
}

if (import.meta.main) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
