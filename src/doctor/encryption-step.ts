/**
 * Doctor's encryption step: whether the configured age identities open the replica's newest object
 * (and whether the replica is encrypted at all when none are configured), so a wrong key is found before
 * the day a restore needs it.
 */
import * as os from "node:os";
import type { AgeConfig } from "../config/age-config.ts";
import { isAgeFile } from "../format/age.ts";
import { snapshotPath, walSegmentPath } from "../format/layout.ts";
import { readFileAt } from "../io/file-io.ts";
import { errorHint, errorMessage } from "../observe/error-text.ts";
import { AgeDecryptor } from "../storage/age-decryptor.ts";
import type { ReplicaClient } from "../storage/replica-client.ts";
import type { Step } from "./step.ts";

export async function encryptionStep(client: ReplicaClient, age: AgeConfig | undefined): Promise<Step> {
  const name = "encryption";
  let newest: { generation: string; index: number; offset: number; snapshot: boolean } | undefined;
  try {
    newest = await newestObject(client);
  } catch (err) {
    return {
      name,
      status: "fail",
      detail: errorMessage(err),
      fix: errorHint(err) ?? "check access to the replica",
    };
  }
  if (!newest) return { name, status: "skip", detail: "the replica holds no object yet" };
  const { generation, index, offset } = newest;
  const temp = os.tmpdir();
  const object = newest.snapshot
    ? await client.snapshotFile(generation, index, temp)
    : await client.walSegmentFile(generation, index, offset, temp);
  if (!object) return { name, status: "skip", detail: "the newest object went away while it was read" };
  const key = newest.snapshot
    ? snapshotPath("", generation, index)
    : walSegmentPath("", generation, index, offset);
  try {
    await object.ready?.(Math.min(32, object.size));
    const head = readFileAt(object.path, 0, 32);
    const encrypted = isAgeFile(head);
    const what = `the newest object (generation ${generation}, ${newest.snapshot ? "snapshot" : "WAL segment"} ${index.toString(16).padStart(8, "0")})`;
    if (!age) {
      return encrypted
        ? {
            name,
            status: "fail",
            detail: `${what} is encrypted (age), and no identity is configured`,
            cause:
              "the replica was written with age recipients (by Litestream 0.3.13, or with another config)",
            fix: "add the replica's age identities to the config: age: { identities: [...] }",
          }
        : { name, status: "ok", detail: `not encrypted (${what} is plain LZ4)` };
    }
    if (!encrypted) {
      return {
        name,
        status: "warn",
        detail: `age is configured, but ${what} is not encrypted`,
        cause: "it was written without age recipients",
        fix: "check which tool and config write this replica",
      };
    }
    if (age.identities.length === 0) {
      return {
        name,
        status: "skip",
        detail: `${what} is encrypted; with recipients only, this host cannot read its backups (the safer setup): run doctor where the identity is`,
      };
    }
    const plain = await new AgeDecryptor(age.identities).file(key, { ...object, release: () => {} }, temp);
    plain.release();
    return { name, status: "ok", detail: `the configured identities open ${what}` };
  } catch (err) {
    return {
      name,
      status: "fail",
      detail: errorMessage(err),
      cause: "the configured identities do not open the replica's newest object",
      fix: errorHint(err) ?? "configure the identity the replica was written for",
    };
  } finally {
    object.release();
  }
}

/** The most recently written object of the replica: a WAL segment, or a snapshot where there is none. */
async function newestObject(client: ReplicaClient) {
  let newest:
    | { generation: string; index: number; offset: number; snapshot: boolean; at: number }
    | undefined;
  for (const generation of await client.generations()) {
    const segment = (await client.walSegments(generation)).at(-1);
    const snapshot = segment ? undefined : (await client.snapshots(generation)).at(-1);
    const found = segment
      ? {
          generation,
          index: segment.index,
          offset: segment.offset,
          snapshot: false,
          at: segment.createdAt.getTime(),
        }
      : snapshot && {
          generation,
          index: snapshot.index,
          offset: 0,
          snapshot: true,
          at: snapshot.createdAt.getTime(),
        };
    if (found && (!newest || found.at > newest.at)) newest = found;
  }
  return newest;
}
