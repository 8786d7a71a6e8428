/** `walship doctor [DB_PATH|REPLICA_URL]`: explain the configuration and connectivity, step by step. */

import * as fs from "node:fs";
import * as os from "node:os";
import type { Config, DbConfig } from "../config/config.ts";
import { findDatabase } from "../config/directory.ts";
import { ConfigError } from "../config/errors.ts";
import { loadConfig, replicaTargetFromUrl } from "../config/load.ts";
import { expandPath } from "../config/posix-path.ts";
import { isReplicaUrl } from "../config/replica-url.ts";
import {
  type DiagnoseInput,
  diagnoseDatabase,
  diagnoseReplica,
  type TargetReport,
} from "../doctor/doctor.ts";
import type { Step } from "../doctor/step.ts";
import { DirectoryScanner } from "../replicate/directory-scanner.ts";
import { defaultMetaPath } from "../replicate/meta-directory.ts";
import { EXIT_FAILURE, EXIT_OK } from "./errors.ts";

export interface DoctorFlags {
  config?: string;
  expandEnv: boolean;
  json?: boolean;
}

export async function runDoctor(
  arg: string | undefined,
  flags: DoctorFlags,
  out: (text: string) => void,
): Promise<number> {
  const env = (name: string) => process.env[name];
  const reports: TargetReport[] = [];
  if (arg && isReplicaUrl(arg)) {
    reports.push(
      await diagnoseReplica({
        replica: "url",
        target: replicaTargetFromUrl(arg),
        configCredentials: {},
        env,
      }),
    );
  } else {
    const config = loadConfig({ path: flags.config, expandEnv: flags.expandEnv });
    for (const db of selectDbs(config, arg)) {
      reports.push({
        replica: "-",
        db: db.path,
        target: { type: "database", path: db.path },
        steps: db.directory
          ? diagnoseDirectory(db)
          : diagnoseDatabase(db.path, db.metaPath ?? defaultMetaPath(db.path)),
        ok: true,
      });
      for (const r of db.replicas) {
        const input: DiagnoseInput = {
          replica: r.name,
          db: db.path,
          target: r.target,
          configCredentials: { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey },
          age: r.age,
          env,
        };
        reports.push(await diagnoseReplica(input));
      }
    }
  }
  for (const r of reports) r.ok = r.steps.every((s) => s.status !== "fail");
  const ok = reports.every((r) => r.ok);
  out(flags.json ? JSON.stringify({ ok, reports }, null, 2) : formatReports(reports, ok));
  return ok ? EXIT_OK : EXIT_FAILURE;
}

function selectDbs(config: Config, arg: string | undefined) {
  if (!arg) return config.dbs;
  const dbPath = expandPath(arg, { cwd: process.cwd(), home: os.homedir() });
  const db = findDatabase(config, dbPath);
  if (!db) {
    throw new ConfigError(`Cannot check ${dbPath}: the database is not in the config`, {
      code: "database-not-configured",
      subject: dbPath,
      hint: "use a path listed under dbs: in the config, or a replica URL",
    });
  }
  return [db];
}

const MARK = { ok: "ok  ", warn: "WARN", fail: "FAIL", skip: "skip" } as const;

function formatReports(reports: TargetReport[], ok: boolean): string {
  const lines: string[] = [];
  for (const r of reports) {
    const title =
      r.target.type === "database"
        ? `database ${r.db}`
        : `replica "${r.replica}"${r.db ? ` of ${r.db}` : ""}: ${Object.entries(r.target)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}`;
    lines.push(title);
    for (const s of r.steps) {
      lines.push(`  ${MARK[s.status]}  ${s.name.padEnd(11)} ${s.detail}`);
      if (s.cause) lines.push(`${" ".repeat(19)}cause: ${s.cause}`);
      if (s.fix) lines.push(`${" ".repeat(19)}fix:   ${s.fix}`);
    }
    lines.push("");
  }
  lines.push(
    ok ? "doctor: everything checked is fine" : "doctor: some checks FAILED; see cause and fix above",
  );
  return lines.join("\n");
}

/** A `dir:` entry: the directory exists and which databases it holds right now. */
function diagnoseDirectory(db: DbConfig): Step[] {
  if (!fs.existsSync(db.path)) {
    return [
      {
        name: "directory",
        status: db.directory?.watch ? "warn" : "fail",
        detail: `${db.path} does not exist`,
        cause: "the dir in the config is wrong, or nothing created it yet",
        fix: "fix dbs[].dir, or create the directory",
      },
    ];
  }
  const found = new DirectoryScanner(db).scan();
  return [
    {
      name: "directory",
      status: "ok",
      detail: `${found.length} database(s) matching ${db.directory?.pattern} in ${db.path}${db.directory?.recursive ? " and below" : ""}`,
    },
  ];
}
