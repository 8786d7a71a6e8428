/** One line of `walship doctor`'s report, and the steps every storage type shares. */
import { randomBytes } from "node:crypto";
import { errorHint, errorMessage } from "../observe/error-text.ts";
import type { ReplicaClient } from "../storage/replica-client.ts";

export type StepStatus = "ok" | "warn" | "fail" | "skip";

export interface Step {
  name: string;
  status: StepStatus;
  detail: string;
  /** For warn and fail: what most likely went wrong. */
  cause?: string;
  /** For warn and fail: what to do. */
  fix?: string;
}

export function skipRest(steps: Step[], names: string[]): void {
  for (const name of names) steps.push({ name, status: "skip", detail: "skipped after an earlier failure" });
}

/** The code on an error (ECONNREFUSED, ...), else its message, for step details. */
export function errCode(err: unknown): string {
  const e = err as { code?: unknown } | undefined;
  return typeof e?.code === "string" ? e.code : err instanceof Error ? err.message : String(err);
}

/** Puts, reads back and deletes a small object under the replica's path. */
export async function probeStep(client: ReplicaClient, where: string): Promise<Step> {
  const key = `.walship-doctor-${randomBytes(6).toString("hex")}`;
  const data = new TextEncoder().encode(`walship doctor probe ${new Date().toISOString()}`);
  try {
    await client.store.put(key, data);
    const back = await client.store.get(key);
    if (!back || back.length !== data.length || !back.every((b, i) => b === data[i])) {
      throw new Error("the object read back differs from what was written");
    }
    await client.store.delete([key]);
    if ((await client.store.get(key)) !== null) throw new Error("the object is still there after delete");
    return {
      name: "probe",
      status: "ok",
      detail: `put, get and delete of ${key} (${data.length} bytes) under ${where} work`,
    };
  } catch (err) {
    return {
      name: "probe",
      status: "fail",
      detail: errorMessage(err),
      cause: "reading the replica works but writing, reading back or deleting under its path does not",
      fix:
        errorHint(err) ??
        "grant put, get, list and delete on the replica path (s3:PutObject, s3:GetObject, s3:ListBucket, s3:DeleteObject)",
    };
  }
}

/** A failed step whose detail and fix come from the error (its message and hint). */
export function failedStep(name: string, err: unknown, cause: string): Step {
  return {
    name,
    status: "fail",
    detail: errorMessage(err),
    cause,
    fix: errorHint(err) ?? "see the error above",
  };
}
