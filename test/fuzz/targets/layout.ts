/**
 * Fuzz target: the replica layout grammar (src/format/layout.ts). Inputs are random strings over an
 * alphabet that favours the grammar's characters (hex digits of both cases, `.`, `_`, look-alike digits,
 * whitespace), valid names from random numbers, and mutations of valid names. Parsers never throw; a
 * non-null result re-formats to exactly the same name, with integer indexes and offsets in [0, 0xffffffff];
 * every name formatted from such numbers parses back to them.
 */
import {
  generationPath,
  hex8,
  isGenerationName,
  newGenerationName,
  parseShadowWalName,
  parseSnapshotName,
  parseWalSegmentName,
  shadowWalName,
  snapshotName,
  snapshotPath,
  walSegmentName,
  walSegmentPath,
} from "../../../src/format/layout.ts";
import { check, type FuzzCtx, type FuzzTarget, type Rng } from "../harness.ts";
import { mutateText, randomString } from "../mutate.ts";

const ALPHABET = "0123456789abcdefABCDEF._-/xg \n\t\0٠١０９𝟘\u00a0snapshotwalz4";
const TOKENS = [
  ".snapshot.lz4",
  ".wal.lz4",
  ".wal",
  "_",
  ".lz4",
  ".tmp",
  "00000000",
  "ffffffff",
  "7fffffff",
  "FFFFFFFF",
  "0x",
  "-1",
  "+1",
  "1e3",
  " ",
  "\n",
  "/",
  "..",
  "0000000000000000",
  "١",
];

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function u32(rng: Rng): number {
  return rng.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32(), rng.small(4096)]);
}

function makeName(rng: Rng): string {
  const r = rng.float();
  if (r < 0.25) return randomString(rng, 40, ALPHABET);
  if (r < 0.35) return randomString(rng, 40);
  const valid = [
    () => snapshotName(u32(rng)),
    () => walSegmentName(u32(rng), u32(rng)),
    () => shadowWalName(u32(rng)),
    () => newGenerationName((n) => rng.bytes(n)),
  ];
  const name = rng.pick(valid)();
  return r < 0.45 ? name : mutateText(rng, name, TOKENS, [], 3);
}

function property(ctx: FuzzCtx): string {
  const { rng } = ctx;
  const name = makeName(rng);
  ctx.input(name);
  const outcomes: string[] = [];

  const snap = parseSnapshotName(name);
  if (snap) {
    check(isU32(snap.index), `snapshot index ${snap.index} out of range`);
    check(snapshotName(snap.index) === name, `snapshot ${JSON.stringify(name)} re-formats differently`);
    outcomes.push("snapshot");
  }
  const seg = parseWalSegmentName(name);
  if (seg) {
    check(isU32(seg.index) && isU32(seg.offset), `segment ${seg.index}/${seg.offset} out of range`);
    check(
      walSegmentName(seg.index, seg.offset) === name,
      `segment ${JSON.stringify(name)} re-formats differently`,
    );
    outcomes.push("segment");
  }
  const shadow = parseShadowWalName(name);
  if (shadow) {
    check(isU32(shadow.index), `shadow WAL index ${shadow.index} out of range`);
    check(shadowWalName(shadow.index) === name, `shadow ${JSON.stringify(name)} re-formats differently`);
    outcomes.push("shadow");
  }
  if (isGenerationName(name)) {
    check(/^[0-9a-f]{16}$/.test(name), `${JSON.stringify(name)} accepted as a generation name`);
    check(generationPath("", name) === `generations/${name}`, "generation path");
    outcomes.push("generation");
  }
  check(outcomes.length <= 1, `${JSON.stringify(name)} parses as ${outcomes.join(" and ")}`);

  // The other direction: names and paths formatted from valid numbers parse back to them.
  const index = u32(rng);
  const offset = u32(rng);
  const generation = newGenerationName((n) => rng.bytes(n));
  check(isGenerationName(generation), `newGenerationName gave ${generation}`);
  check(hex8(index).length === 8, `hex8(${index}) is ${hex8(index)}`);
  check(parseSnapshotName(snapshotName(index))?.index === index, `snapshot ${index} does not round-trip`);
  const back = parseWalSegmentName(walSegmentName(index, offset));
  check(back?.index === index && back.offset === offset, `segment ${index}/${offset} does not round-trip`);
  check(parseShadowWalName(shadowWalName(index))?.index === index, `shadow ${index} does not round-trip`);
  const root = rng.pick(["", ".", "replica", "a/b"]);
  const segPath = walSegmentPath(root, generation, index, offset);
  const segBack = parseWalSegmentName(segPath.slice(segPath.lastIndexOf("/") + 1));
  check(segBack?.index === index && segBack.offset === offset, `segment path ${segPath} does not round-trip`);
  const snapPath = snapshotPath(root, generation, index);
  check(
    parseSnapshotName(snapPath.slice(snapPath.lastIndexOf("/") + 1))?.index === index,
    `snapshot path ${snapPath} does not round-trip`,
  );
  return outcomes[0] ?? "rejected";
}

export const target: FuzzTarget<null> = { prepare: () => null, property };
