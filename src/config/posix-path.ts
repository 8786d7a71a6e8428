/**
 * Pure POSIX path helpers for config values, so that parsing needs no `node:path` and stays
 * testable with an injected working directory and home directory.
 */

/**
 * Lexically cleans a path like Go's `path.Clean`: collapses repeated slashes, removes `.` segments,
 * resolves `..` against the previous segment (never above `/`) and drops a trailing slash.
 * The empty path cleans to `.`.
 */
export function cleanPath(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      const last = out[out.length - 1];
      if (last !== undefined && last !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(segment);
  }
  const joined = out.join("/");
  if (absolute) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/** Makes `path` absolute against `cwd` and cleans it (Go's `filepath.Abs`). */
export function resolvePath(cwd: string, path: string): string {
  return cleanPath(path.startsWith("/") ? path : `${cwd}/${path}`);
}

/**
 * Litestream's `expand()`: a leading `~` or `~/` means the home directory, anything else is made
 * absolute against `cwd`. `~user` is not expanded (Litestream does not either).
 */
export function expandPath(path: string, dirs: { cwd: string; home: string }): string {
  if (path === "~") return cleanPath(dirs.home);
  if (path.startsWith("~/")) return resolvePath(dirs.cwd, `${dirs.home}/${path.slice(2)}`);
  return resolvePath(dirs.cwd, path);
}
