/** The help texts, written from the command table so that they cannot drift from what is parsed. */
import { COMMANDS, type Command } from "./commands.ts";
import { formatFlagHelp } from "./flags.ts";

export function overviewHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "walship: continuous SQLite WAL replication to S3-compatible storage and directories",
    "",
    "Usage: walship COMMAND [flags] [arguments]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "walship help COMMAND (or walship COMMAND -h) shows a command's flags; walship --version the version.",
    "",
  ].join("\n");
}

export function commandHelp(command: Command): string {
  return [
    `Usage: ${command.usage.map((u) => `walship ${u}`).join("\n       ")}`,
    "",
    command.summary,
    "",
    "Flags (one dash or two; a value follows as -name VALUE or -name=VALUE; -name=false turns a flag off):",
    formatFlagHelp(command.flags),
    "",
  ].join("\n");
}
