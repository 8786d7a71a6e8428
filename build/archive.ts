/**
 * Reproducible archives of one staged directory: the same files and the same epoch give the same bytes.
 * Entries are sorted, owned by root (0/0), stamped with the epoch, and modes are normalized (0755 for
 * directories and executables, 0644 otherwise) so neither the builder's umask nor its clock leaks in.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Zippable, zipSync } from "fflate";

/** Sets every mode under `dir` to 0755 (directories, and files listed in `executables`) or 0644. */
export function normalizeModes(dir: string, executables: ReadonlySet<string>): void {
  fs.chmodSync(dir, 0o755);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) normalizeModes(p, executables);
    else fs.chmodSync(p, executables.has(entry.name) ? 0o755 : 0o644);
  }
}

function run(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd[0]} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
}

/**
 * `out` = a gzipped ustar of `parent/name`, entries under `name/`. GNU tar for sorting and the fixed
 * owner and mtime; `gzip -n` so the gzip header holds neither the file name nor a time.
 */
export function writeTarGz(parent: string, name: string, out: string, epoch: number): void {
  const tar = out.replace(/\.gz$/, "");
  fs.rmSync(tar, { force: true });
  fs.rmSync(out, { force: true });
  run([
    "tar",
    "-C",
    parent,
    "--sort=name",
    `--mtime=@${epoch}`,
    "--owner=root:0",
    "--group=root:0",
    "--format=ustar",
    "-cf",
    tar,
    name,
  ]);
  run(["gzip", "-n", "-9", tar]);
}

/** The DOS date-time fields of a zip entry are read in local time: shift so they show `epoch` in UTC. */
function zipTime(epoch: number): Date {
  const utc = new Date(epoch * 1000);
  return new Date(utc.getTime() + utc.getTimezoneOffset() * 60_000);
}

/** `out` = a zip of `parent/name`, entries under `name/`, sorted, stamped with `epoch` (>= 1980). */
export function writeZip(parent: string, name: string, out: string, epoch: number): void {
  const mtime = zipTime(epoch);
  const add = (rel: string, into: Zippable): void => {
    const entries = fs.readdirSync(path.join(parent, rel), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) {
        const sub: Zippable = {};
        add(child, sub);
        into[entry.name] = [sub, { mtime }];
      } else {
        into[entry.name] = [new Uint8Array(fs.readFileSync(path.join(parent, child))), { mtime, level: 9 }];
      }
    }
  };
  const top: Zippable = {};
  add(name, top);
  const tmp = `${out}.tmp`;
  fs.writeFileSync(tmp, zipSync({ [name]: [top, { mtime }] }));
  fs.renameSync(tmp, out);
}
