/**
 * Directory mode: the concrete database entries a `dir:` entry stands for. Each database found under
 * the directory is replicated under `<replica path>/<path relative to the directory>`. Pure.
 */
import type { Config, DbConfig } from "./config.ts";
import { cleanPath } from "./posix-path.ts";
import type { ReplicaTarget } from "./replica-target.ts";

/** A glob on file names: `*` and `?` never cross a `/`; `[...]` classes as in the shell. */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        const body = pattern
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\");
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The path of `file` relative to `dir`, or null when it is not inside it. */
export function relativeTo(dir: string, file: string): string | null {
  const d = cleanPath(dir);
  const f = cleanPath(file);
  return f.startsWith(`${d}/`) ? f.slice(d.length + 1) : null;
}

/** Whether `file` is a database the directory entry covers (by name pattern and depth). */
export function coversFile(entry: DbConfig, file: string): boolean {
  const spec = entry.directory;
  const rel = spec ? relativeTo(entry.path, file) : null;
  if (!spec || rel === null) return false;
  if (!spec.recursive && rel.includes("/")) return false;
  return globToRegExp(spec.pattern).test(rel.slice(rel.lastIndexOf("/") + 1));
}

/** The entry for one database file inside a directory entry. */
export function databaseInDirectory(entry: DbConfig, file: string): DbConfig {
  const rel = relativeTo(entry.path, file);
  if (rel === null) throw new Error(`${file} is not inside ${entry.path}`);
  const { directory: _, ...rest } = entry;
  return {
    ...rest,
    path: cleanPath(file),
    replicas: entry.replicas.map((r) => ({ ...r, target: subTarget(r.target, rel) })),
  };
}

function subTarget(target: ReplicaTarget, rel: string): ReplicaTarget {
  if (target.type === "file") return { ...target, path: cleanPath(`${target.path}/${rel}`) };
  return { ...target, path: target.path ? `${target.path}/${rel}` : rel };
}

/** The config entry for a database path: a `path:` entry, or one a `dir:` entry covers. */
export function findDatabase(config: Config, dbPath: string): DbConfig | undefined {
  const exact = config.dbs.find((d) => !d.directory && d.path === dbPath);
  if (exact) return exact;
  const dir = config.dbs.find((d) => coversFile(d, dbPath));
  return dir ? databaseInDirectory(dir, dbPath) : undefined;
}
