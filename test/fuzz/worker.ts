/**
 * Worker thread for the fuzz harness: builds a target's corpus, then runs the requested cases, keeping the
 * shared heartbeat current so the test thread can stop a case that hangs. See harness.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  caseSeed,
  describeThrown,
  type FuzzCtx,
  type FuzzTarget,
  PHASE_FINISHED,
  PHASE_RUNNING,
  Rng,
  type TargetName,
  type WorkerReply,
  type WorkerRequest,
} from "./harness.ts";

declare const self: Worker;

/** How much of a failing input the report shows inline (the whole input goes to a file). */
const PREVIEW_BYTES = 256;
const PREVIEW_CHARS = 600;

async function loadTarget(name: TargetName): Promise<FuzzTarget<unknown>> {
  const mod = (await import(`./targets/${name}.ts`)) as { target: FuzzTarget<unknown> };
  return mod.target;
}

function preview(value: Uint8Array | string | object | undefined): string {
  if (value === undefined) return "(not recorded)";
  if (value instanceof Uint8Array) {
    const hex = Buffer.from(value.subarray(0, PREVIEW_BYTES)).toString("hex");
    return `${value.length} bytes: ${hex}${value.length > PREVIEW_BYTES ? "…" : ""}`;
  }
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

function save(target: string, seed: number, index: number, value: Uint8Array | string | object): string {
  const file = path.join(os.tmpdir(), `walship-fuzz-${target}-${seed.toString(16)}-${index}.input`);
  const data =
    value instanceof Uint8Array ? value : typeof value === "string" ? value : JSON.stringify(value, null, 2);
  fs.writeFileSync(file, data);
  return file;
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  const reply = (r: WorkerReply) => self.postMessage(r);
  let target: FuzzTarget<unknown>;
  let corpus: unknown;
  try {
    target = await loadTarget(req.target);
    corpus = await target.prepare();
  } catch (err) {
    reply({
      type: "fail",
      index: -1,
      message: `preparing the corpus failed: ${describeThrown(err)}`,
      input: "",
    });
    return;
  }
  const spec = req.indexes;
  const indexes = Array.isArray(spec)
    ? spec
    : Array.from({ length: spec.to - spec.from }, (_, i) => spec.from + i);
  const outcomes: Record<string, number> = {};
  let slowestMs = 0;
  let slowestCase = -1;
  Atomics.store(req.heartbeat, 0, PHASE_RUNNING);
  for (const index of indexes) {
    Atomics.store(req.heartbeat, 1, index);
    let recorded: Uint8Array | string | object | undefined;
    const ctx: FuzzCtx = {
      rng: new Rng(caseSeed(req.seed, req.target, index)),
      index,
      input: (value) => {
        recorded = value;
      },
    };
    const started = performance.now();
    let outcome: string;
    try {
      outcome = target.property(ctx, corpus);
    } catch (err) {
      reply({
        type: "fail",
        index,
        message: describeThrown(err),
        input: preview(recorded),
        ...(recorded === undefined ? {} : { inputFile: save(req.target, req.seed, index, recorded) }),
      });
      return;
    }
    const ms = performance.now() - started;
    if (ms > slowestMs) {
      slowestMs = ms;
      slowestCase = index;
    }
    if (ms > req.maxCaseMs) {
      reply({
        type: "fail",
        index,
        message: `the case took ${ms.toFixed(0)} ms, more than the ${req.maxCaseMs} ms bound`,
        input: preview(recorded),
        ...(recorded === undefined ? {} : { inputFile: save(req.target, req.seed, index, recorded) }),
      });
      return;
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    Atomics.add(req.heartbeat, 2, 1);
  }
  Atomics.store(req.heartbeat, 0, PHASE_FINISHED);
  reply({ type: "done", cases: indexes.length, outcomes, slowestMs, slowestCase });
};
