/**
 * The layering of src/, as a test:
 * - src/sqlite and src/format are pure: they take and return bytes and import nothing from the runtime;
 * - each folder imports only from the folders LAYERS allows it (and from itself), so no upward import
 *   (observe/ below replicate/, say) and no cycle between folders can come back;
 * - only src/runtime touches the runtime's own API (`bun:*` modules, the `Bun` and `Deno` globals), so
 *   the rest runs under Bun and Deno alike;
 * - no source file is over MAX_LINES lines (generated files aside), and the files named in SHORTER are
 *   shorter still.
 */
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(import.meta.dirname, "..");
const SRC = path.join(ROOT, "src");

/**
 * Which folders each folder of src/ may import from, lowest first. Derived from the imports of the
 * day, less the upward ones (observe/ read the replicator's types): a new edge is a design decision, to
 * be made here, and must keep the graph free of cycles.
 */
const LAYERS: Record<string, readonly string[]> = {
  errors: [],
  format: [],
  sqlite: ["format"],
  io: ["format"],
  config: ["errors", "format"],
  // The runtime boundary (Bun or Deno): SQLite, HTTP server, subprocesses, FFI, workers, sleeping.
  runtime: ["format"],
  observe: ["runtime"],
  storage: ["config", "errors", "format", "io", "runtime"],
  restore: ["errors", "format", "io", "observe", "runtime", "sqlite", "storage"],
  // Validation (replicate/validator.ts) restores the replica to compare it with the database.
  replicate: ["config", "errors", "format", "io", "observe", "restore", "runtime", "sqlite", "storage"],
  // The doctor reads the replication state through replicate/meta-directory.ts, the one module that
  // knows the meta directory's layout.
  doctor: ["config", "errors", "format", "io", "observe", "replicate", "sqlite", "storage"],
  cli: [
    "config",
    "doctor",
    "errors",
    "format",
    "io",
    "observe",
    "replicate",
    "restore",
    "runtime",
    "storage",
  ],
};

/** Files outside src/ that a folder may import (the version comes from package.json). */
const OUTSIDE_SRC: Record<string, readonly string[]> = { "package.json": ["cli"] };

const MAX_LINES = 500;
/** Files held to a tighter limit than MAX_LINES. */
const SHORTER: Record<string, number> = { "src/replicate/database.ts": 450 };
/**
 * Files exempt from the length limits until a split under way lands (issue 18). Delete the entry with
 * the split; the test fails once a file listed here meets its limit, so the exemption cannot outlive it.
 */
const PENDING_SPLIT: readonly string[] = [];

// Pure libraries: bytes in, bytes out (@scure/base decodes the Bech32 of age keys).
const PURE_PACKAGES = new Set(["lz4js", "@scure/base"]);

interface SourceFile {
  /** Relative to the repository: src/replicate/database.ts. */
  rel: string;
  /** The folder under src/ ("" for a file directly in src/). */
  folder: string;
  text: string;
}

function sourceFiles(): SourceFile[] {
  const names = fs.readdirSync(SRC, { recursive: true, encoding: "utf8" });
  return names
    .filter((n) => /\.(ts|js|cjs|mjs)$/.test(n))
    .sort()
    .map((n) => {
      const rel = path.posix.join("src", n.split(path.sep).join("/"));
      const parts = rel.split("/");
      return {
        rel,
        folder: parts.length > 2 ? parts[1]! : "",
        text: fs.readFileSync(path.join(SRC, n), "utf8"),
      };
    });
}

/**
 * Every module a file imports: static imports and re-exports (type-only ones included), side-effect
 * imports, dynamic import() and require(). Specifiers as written.
 */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /(?:^|[^\w.$])(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]!);
  return specs;
}

/** Where a relative specifier of `file` points: a folder of src/, or a path outside src/. */
function target(file: SourceFile, spec: string): { folder: string } | { outside: string } {
  const abs = path.resolve(path.dirname(path.join(ROOT, file.rel)), spec);
  const inSrc = path.relative(SRC, abs);
  if (inSrc.startsWith("..") || path.isAbsolute(inSrc)) return { outside: path.relative(ROOT, abs) };
  const parts = inSrc.split(path.sep);
  return { folder: parts.length > 1 ? parts[0]! : "" };
}

/** Folder → folders it imports from, as the code stands. */
function actualGraph(files: SourceFile[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const f of files) {
    const edges = graph.get(f.folder) ?? new Set<string>();
    graph.set(f.folder, edges);
    for (const spec of importsOf(f.text)) {
      if (!spec.startsWith(".")) continue;
      const t = target(f, spec);
      if ("folder" in t && t.folder !== f.folder) edges.add(t.folder);
    }
  }
  return graph;
}

/** A cycle in `graph` as a path (first node repeated at the end), or null. */
function findCycle(graph: ReadonlyMap<string, Iterable<string>>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === "done") return null;
    if (state.get(node) === "open") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

function lineCount(text: string): number {
  if (text === "") return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

const files = sourceFiles();

describe("purity", () => {
  for (const layer of ["sqlite", "format"]) {
    test(`src/${layer} imports only pure modules`, () => {
      const layerFiles = files.filter((f) => f.folder === layer);
      expect(layerFiles.length).toBeGreaterThan(0);
      for (const { rel, text } of layerFiles) {
        const file = path.basename(rel);
        for (const spec of importsOf(text)) {
          const ok =
            spec.startsWith("./") ||
            PURE_PACKAGES.has(spec) ||
            (spec.startsWith("../") && /^\.\.\/(sqlite|format)\//.test(spec));
          expect({ file, spec, ok }).toEqual({ file, spec, ok: true });
        }
        expect(text).not.toMatch(/\bBun\.\w+\(|require\(/);
      }
    });
  }
});

/**
 * Files outside src/runtime that may still name the runtime, and why. Whatever else needs Bun or Deno
 * goes through src/runtime.
 */
const RUNTIME_API_ALLOWED: Record<string, string> = {
  // format/ is pure and may not import runtime/; it asks for Bun's native hash and falls back to its own.
  "src/format/xxhash32.ts": "feature-detects Bun.hash",
};

/** Uses of the runtime's own API in code (comments removed): `bun:*` modules, the Bun and Deno globals. */
function runtimeApiUses(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\w])\/\/.*$/gm, "$1");
  const patterns = [
    /["']bun:\w+["']/g,
    /\bBun\s*\??\./g,
    /\bDeno\s*\??\./g,
    /\btypeof\s+(?:Bun|Deno)\b/g,
    /\.(?:Bun|Deno)\b/g,
  ];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[0]));
}

describe("runtime boundary", () => {
  test("nothing outside src/runtime imports bun:* or uses Bun.* or Deno.*", () => {
    const uses = files
      .filter((f) => f.folder !== "runtime" && !(f.rel in RUNTIME_API_ALLOWED))
      .flatMap((f) => runtimeApiUses(f.text).map((use) => `${f.rel}: ${use}`));
    expect(uses).toEqual([]);
  });

  test("the allowed exceptions exist and still need their exception", () => {
    const stale = Object.keys(RUNTIME_API_ALLOWED).filter((rel) => {
      const f = files.find((x) => x.rel === rel);
      return f === undefined || runtimeApiUses(f.text).length === 0;
    });
    expect(stale).toEqual([]);
  });

  test("the scanner sees each form of use and skips comments", () => {
    const text = [
      'import { Database } from "bun:sqlite";',
      'const { dlopen } = require("bun:ffi");',
      "await Bun.sleep(1);",
      "const v = Deno.version;",
      "const h = (globalThis as { Bun?: X }).Bun?.hash;",
      "if (typeof Bun !== 'undefined') {}",
      "// Bun.file(db) in a comment",
      "/** bun:sqlite in a doc comment, and Deno.dlopen */",
      'const url = "http://x"; // Bun.serve',
    ].join("\n");
    expect(runtimeApiUses(text)).toEqual([
      '"bun:sqlite"',
      '"bun:ffi"',
      "Bun.",
      "Bun?.",
      "Deno.",
      "typeof Bun",
      ".Bun",
    ]);
  });
});

describe("dependency direction", () => {
  test("every source file lives in a folder of the layering table", () => {
    const unplaced = files.filter((f) => !(f.folder in LAYERS)).map((f) => f.rel);
    // A new folder needs its row in LAYERS: which folders it may import, and which may import it.
    expect(unplaced).toEqual([]);
  });

  test("the layering table names only folders that exist, and has no cycle", () => {
    const folders = new Set(files.map((f) => f.folder));
    const named = new Set([...Object.keys(LAYERS), ...Object.values(LAYERS).flat()]);
    expect([...named].filter((n) => !folders.has(n)).sort()).toEqual([]);
    expect(findCycle(new Map(Object.entries(LAYERS)))).toBeNull();
  });

  test("each folder imports only from the folders below it", () => {
    const upward: string[] = [];
    for (const f of files) {
      for (const spec of importsOf(f.text)) {
        if (!spec.startsWith(".")) continue;
        const t = target(f, spec);
        if ("outside" in t) {
          if (!OUTSIDE_SRC[t.outside]?.includes(f.folder))
            upward.push(`${f.rel} imports ${spec} (outside src/)`);
        } else if (t.folder !== f.folder && !LAYERS[f.folder]?.includes(t.folder)) {
          upward.push(
            `${f.rel} imports ${spec}: ${f.folder}/ may import only from ${LAYERS[f.folder]?.join(", ") || "itself"}`,
          );
        }
      }
    }
    expect(upward).toEqual([]);
  });

  test("observe/ does not import from replicate/ (it reads the engine through observe/observed.ts)", () => {
    expect(LAYERS.observe).not.toContain("replicate");
    expect(actualGraph(files).get("observe")?.has("replicate")).toBe(false);
  });

  test("no cycle between folders", () => {
    expect(findCycle(actualGraph(files))).toBeNull();
  });

  test("the import scanner sees every form of import", () => {
    const text = [
      'import { a } from "./a.ts";',
      "import type {",
      "  B,",
      "  C,",
      '} from "../b/b.ts";',
      'export { d } from "./d.ts";',
      'export * from "./e.ts";',
      'import "./f.ts";',
      'const g = await import("./g.ts");',
      'const h = require("./h.ts") as typeof import("./i.ts");',
      "// a comment that says import nothing from the runtime",
    ].join("\n");
    expect(importsOf(text).sort()).toEqual(
      ["./a.ts", "../b/b.ts", "./d.ts", "./e.ts", "./f.ts", "./g.ts", "./h.ts", "./i.ts"].sort(),
    );
    const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
    expect(findCycle(graph({ a: ["b"], b: ["c"], c: ["a"] }))).toEqual(["a", "b", "c", "a"]);
    expect(findCycle(graph({ a: ["b", "c"], b: ["c"], c: [] }))).toBeNull();
  });
});

describe("file length", () => {
  const limitOf = (rel: string) => SHORTER[rel] ?? MAX_LINES;
  const measured = files
    .filter((f) => !f.rel.endsWith(".generated.ts"))
    .map((f) => ({ file: f.rel, lines: lineCount(f.text), limit: limitOf(f.rel) }));
  for (const rel of PENDING_SPLIT) {
    const m = measured.find((x) => x.file === rel);
    console.warn(
      `SKIPPED: the length limit of ${rel} (${m?.lines} lines, limit ${limitOf(rel)}) until its split lands; ` +
        "delete it from PENDING_SPLIT in test/architecture.test.ts then",
    );
  }

  test(`no source file over ${MAX_LINES} lines (${Object.entries(SHORTER)
    .map(([f, n]) => `${f}: ${n}`)
    .join(", ")}), generated files aside`, () => {
    const tooLong = measured.filter((m) => m.lines > m.limit && !PENDING_SPLIT.includes(m.file));
    expect(tooLong).toEqual([]);
  });

  test("PENDING_SPLIT lists only files that still exceed their limit", () => {
    const done = PENDING_SPLIT.filter((rel) => {
      const m = measured.find((x) => x.file === rel);
      return m === undefined || m.lines <= m.limit;
    });
    expect(done).toEqual([]);
  });
});
