/** The local record of an encrypted replica's newest segment: trusted only for the very object it names. */
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { knownEnd, type LastSegment, ReplicaStateFile } from "../../src/replicate/replica-state-file.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const meta = makeTempDir();
afterAll(() => removeDir(meta));

const last: LastSegment = {
  generation: "0123456789abcdef",
  index: 2,
  offset: 4152,
  size: 999,
  end: 8304,
  recipients: "fd2137cbdf66b108",
};

test("round-trips, and a file that is missing, torn or about something else is not known", () => {
  const file = new ReplicaStateFile(meta, "s3/with slash");
  expect(file.read()).toBeNull();
  file.write(last);
  expect(file.read()).toEqual(last);
  expect(fs.readdirSync(`${meta}/replicas`)).toEqual(["s3%2Fwith%20slash.json"]);
  for (const bad of [
    "",
    "{",
    "null",
    JSON.stringify({ ...last, end: 10 }),
    JSON.stringify({ ...last, generation: "x" }),
  ]) {
    fs.writeFileSync(file.path, bad);
    expect(file.read()).toBeNull();
  }
});

test("the end is known only for the object it describes: generation, index, offset and stored size", () => {
  const listed = { generation: last.generation, index: 2, offset: 4152, size: 999 };
  expect(knownEnd(last, listed)).toEqual({ generation: last.generation, index: 2, offset: 8304 });
  expect(knownEnd(null, listed)).toBeNull();
  for (const other of [{ size: 1000 }, { offset: 8304 }, { index: 3 }, { generation: "fedcba9876543210" }])
    expect(knownEnd(last, { ...listed, ...other })).toBeNull();
});
