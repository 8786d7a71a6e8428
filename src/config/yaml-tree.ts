/**
 * Turns YAML text into a small tree of maps, sequences and scalars with line numbers, decoded as
 * YAML 1.1 like Litestream's yaml.v2: `yes/no/on/off/y/n` are booleans, `<<` merge keys and
 * aliases are resolved, and every scalar keeps its source text, because yaml.v2 gives string
 * fields the raw text (`bucket: 2024` is the string "2024", `exec: 0755` is "0755").
 */

import { type Document, isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

export interface YamlPosition {
  line: number;
  column: number;
}

export interface YamlMap {
  kind: "map";
  /** Keys in source order; own keys win over merged (`<<`) ones. */
  entries: Map<string, { keyPosition?: YamlPosition; value: YamlNode }>;
  position?: YamlPosition;
}

export interface YamlSeq {
  kind: "seq";
  items: YamlNode[];
  position?: YamlPosition;
}

export interface YamlScalar {
  kind: "scalar";
  /** The YAML 1.1 value: string, number, boolean, null, Date, ... */
  value: unknown;
  /** The scalar's text after unquoting, before type resolution. */
  text: string;
  position?: YamlPosition;
}

export type YamlNode = YamlMap | YamlSeq | YamlScalar;

/** A syntax or structure problem in the YAML text. Messages never quote the source text. */
export class YamlDecodeError extends SyntaxError {
  override name = "YamlDecodeError";
  readonly position?: YamlPosition;

  constructor(message: string, position?: YamlPosition) {
    super(message);
    this.position = position;
  }
}

// Guards against alias bombs ("billion laughs"); real configs have a few hundred nodes.
const MAX_NODES = 100_000;
const MAX_DEPTH = 64;

/**
 * Parses one YAML document. An empty document (or only comments) gives `undefined`.
 *
 * @throws YamlDecodeError for syntax errors, several documents, non-scalar or null keys, and
 *   merge keys whose value is not a map
 */
export function parseYamlTree(text: string): YamlNode | undefined {
  const lines = new LineCounter();
  // prettyErrors off: its messages quote the offending line, which may hold an expanded secret.
  const doc = parseDocument(text, {
    version: "1.1",
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const first = doc.errors[0];
  if (first !== undefined) {
    // The library's wording for this one names its own API.
    const message =
      first.code === "MULTIPLE_DOCS"
        ? "the file holds more than one YAML document (a second ---)"
        : lowerFirst(first.message);
    throw new YamlDecodeError(`invalid YAML: ${message}`, toPosition(lines, first.pos[0]));
  }
  if (doc.contents === null) return undefined;
  const converter = new Converter(doc, lines);
  const root = converter.convert(doc.contents, 0);
  if (root.kind === "scalar" && root.value === null) return undefined;
  return root;
}

class Converter {
  private count = 0;

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  convert(node: unknown, depth: number): YamlNode {
    if (++this.count > MAX_NODES || depth > MAX_DEPTH) {
      throw new YamlDecodeError("invalid YAML: too many nested or aliased nodes", this.position(node));
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (target === undefined) {
        throw new YamlDecodeError(`invalid YAML: unknown alias "${node.source}"`, this.position(node));
      }
      return this.convert(target, depth + 1);
    }
    if (isScalar(node)) {
      const text = typeof node.source === "string" ? node.source : String(node.value ?? "");
      return { kind: "scalar", value: node.value, text, position: this.position(node) };
    }
    if (isSeq(node)) {
      return {
        kind: "seq",
        items: node.items.map((item) => this.convert(item, depth + 1)),
        position: this.position(node),
      };
    }
    if (isMap(node)) return this.convertMap(node.items, this.position(node), depth);
    throw new YamlDecodeError("invalid YAML: unsupported node", this.position(node));
  }

  private convertMap(
    pairs: readonly { key: unknown; value: unknown }[],
    position: YamlPosition | undefined,
    depth: number,
  ): YamlMap {
    const entries: YamlMap["entries"] = new Map();
    const merges: unknown[] = [];
    for (const pair of pairs) {
      const key = pair.key;
      if (isScalar(key) && typeof key.value === "symbol") {
        merges.push(pair.value); // `<<: *anchor`
        continue;
      }
      if (!isScalar(key) || key.value === null) {
        throw new YamlDecodeError("invalid YAML: map keys must be plain strings", this.position(key));
      }
      const name = typeof key.source === "string" ? key.source : String(key.value);
      const value =
        pair.value === null ? nullScalar(this.position(key)) : this.convert(pair.value, depth + 1);
      entries.set(name, { keyPosition: this.position(key), value });
    }
    for (const merge of merges) {
      for (const source of this.mergeSources(merge, depth)) {
        for (const [name, entry] of source.entries) if (!entries.has(name)) entries.set(name, entry);
      }
    }
    return { kind: "map", entries, position };
  }

  /** A merge value is a map or a list of maps; earlier maps win, as in the YAML merge spec. */
  private mergeSources(value: unknown, depth: number): YamlMap[] {
    const converted = this.convert(value, depth + 1);
    const sources = converted.kind === "seq" ? converted.items : [converted];
    return sources.map((source) => {
      if (source.kind !== "map") {
        throw new YamlDecodeError(
          "invalid YAML: a << merge key needs a map or a list of maps",
          source.position,
        );
      }
      return source;
    });
  }

  private position(node: unknown): YamlPosition | undefined {
    const range = isNode(node) ? node.range : undefined;
    return range === undefined || range === null ? undefined : toPosition(this.lines, range[0]);
  }
}

function nullScalar(position: YamlPosition | undefined): YamlScalar {
  return { kind: "scalar", value: null, text: "", position };
}

function toPosition(lines: LineCounter, offset: number): YamlPosition {
  const { line, col } = lines.linePos(offset);
  return { line: Math.max(line, 1), column: col };
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1);
}
