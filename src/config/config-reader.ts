/**
 * Typed, strict access to a decoded YAML tree: every read names the dotted key path, and every
 * mismatch becomes a ConfigError that says what was expected and how to write it.
 */

import { tryParseByteSize } from "./byte-size.ts";
import {
  type KeyLevel,
  KNOWN_KEYS,
  LATER_KEYS,
  LEVEL_DESTINATIONS,
  LEVEL_PLACES,
  SECRET_KEYS,
} from "./config-keys.ts";
import { didYouMean } from "./did-you-mean.ts";
import { tryParseDuration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import type { YamlMap, YamlNode, YamlPosition } from "./yaml-tree.ts";

export interface FailOptions {
  hint?: string;
  position?: YamlPosition;
  cause?: unknown;
}

/** Joins a key path: `childKey("dbs[0]", "path")` is `dbs[0].path`. */
export function childKey(parent: string, name: string): string {
  return parent === "" ? name : `${parent}.${name}`;
}

/** The last segment of a key path, used to look up examples and secrecy. */
function leafName(key: string): string {
  return key.slice(key.lastIndexOf(".") + 1).replace(/\[\d+\]$/, "");
}

export class ConfigReader {
  constructor(readonly file?: string) {}

  /** Builds a ConfigError for `key`; `detail` is the sentence after "Cannot load config …:". */
  error(key: string, detail: string, options: FailOptions = {}): ConfigError {
    const where = [this.file === undefined ? "" : ` "${this.file}"`];
    if (options.position !== undefined) where.push(` (line ${options.position.line})`);
    return new ConfigError(`Cannot load config${where.join("")}: ${detail}`, {
      file: this.file,
      key: key === "" ? undefined : key,
      hint: options.hint,
      line: options.position?.line,
      column: options.position?.column,
      cause: options.cause,
    });
  }

  fail(key: string, detail: string, options: FailOptions = {}): never {
    throw this.error(key, detail, options);
  }

  /**
   * Rejects keys not valid at `level`: misplaced keys say where they belong, misspelt ones get a
   * did-you-mean, and Litestream keys walship lacks are "not supported yet".
   */
  checkKeys(map: YamlMap, parent: string, level: KeyLevel): void {
    const known = KNOWN_KEYS[level];
    for (const [name, entry] of map.entries) {
      if (Object.hasOwn(known, name)) continue;
      const key = childKey(parent, name);
      const position = entry.keyPosition;
      const later = LATER_KEYS[level][name];
      if (later !== undefined) {
        this.fail(key, `${key} is not supported yet (walship has no ${later} yet)`, {
          hint: `remove "${name}" from the config`,
          position,
        });
      }
      const home = (Object.keys(KNOWN_KEYS) as KeyLevel[]).find(
        (other) => other !== level && Object.hasOwn(KNOWN_KEYS[other], name),
      );
      if (home !== undefined) {
        this.fail(key, `${key} is not valid here; "${name}" belongs ${LEVEL_PLACES[home]}`, {
          hint: `move "${name}" ${LEVEL_DESTINATIONS[home]}`,
          position,
        });
      }
      const suggestion = didYouMean(name, Object.keys(known));
      if (suggestion !== undefined) {
        this.fail(key, `unknown key ${key}; did you mean "${suggestion}"?`, {
          hint: `rename "${name}" to "${suggestion}"`,
          position,
        });
      }
      this.fail(key, `unknown key ${key}`, {
        hint: `remove "${name}"; valid keys ${LEVEL_PLACES[level]} are ${Object.keys(known).join(", ")}`,
        position,
      });
    }
  }

  /** Reads key `name` of `map` with `read`; undefined when the key is absent. */
  get<T>(
    map: YamlMap,
    parent: string,
    name: string,
    read: (this: ConfigReader, node: YamlNode, key: string) => T | undefined,
  ): T | undefined {
    const node = map.entries.get(name)?.value;
    return node === undefined ? undefined : read.call(this, node, childKey(parent, name));
  }

  /** A duration that may be 0 (meaning off) but not negative; `fallback` when absent. */
  offOrDuration(map: YamlMap, parent: string, name: string, fallback: number): number {
    const value = this.get(map, parent, name, this.duration) ?? fallback;
    if (value < 0) {
      const key = childKey(parent, name);
      this.fail(key, `${key} must not be negative`, {
        hint: `use ${name}: 0s to turn it off`,
        position: positionOf(map, name),
      });
    }
    return value;
  }

  map(node: YamlNode, key: string): YamlMap {
    if (node.kind === "map") return node;
    return this.typeError(node, key, "a mapping of keys to values");
  }

  /** A list; a null value (`replicas:` with nothing after it) is an empty list. */
  list(node: YamlNode, key: string): YamlNode[] {
    if (node.kind === "seq") return node.items;
    if (node.kind === "scalar" && node.value === null) return [];
    return this.typeError(node, key, "a list");
  }

  /** Raw scalar text, as yaml.v2 gives string fields; null and "" are `undefined`. */
  string(node: YamlNode, key: string): string | undefined {
    if (node.kind !== "scalar") return this.typeError(node, key, "a string");
    if (node.value === null || node.text === "") return undefined;
    return node.text;
  }

  bool(node: YamlNode, key: string): boolean | undefined {
    if (node.kind === "scalar" && node.value === null) return undefined;
    if (node.kind === "scalar" && typeof node.value === "boolean") return node.value;
    return this.typeError(node, key, "true or false");
  }

  integer(node: YamlNode, key: string): number | undefined {
    if (node.kind === "scalar" && node.value === null) return undefined;
    if (node.kind === "scalar" && typeof node.value === "number" && Number.isSafeInteger(node.value)) {
      return node.value;
    }
    return this.typeError(node, key, "a whole number");
  }

  /**
   * A Go duration string, in milliseconds. A bare number is rejected (except 0) because
   * Litestream silently reads it as nanoseconds, which is never what `sync-interval: 10` means.
   */
  duration(node: YamlNode, key: string): number | undefined {
    if (node.kind === "scalar" && node.value === null) return undefined;
    if (node.kind !== "scalar" || (typeof node.value !== "string" && typeof node.value !== "number")) {
      return this.typeError(node, key, 'a duration such as "10s"');
    }
    const name = leafName(key);
    if (typeof node.value === "number" || /^[+-]?(\d+\.?\d*|\.\d+)$/.test(node.text)) {
      if (Number(node.text) === 0) return 0;
      this.fail(key, `${key} must be a duration string such as "${node.text}s"; a bare number is ambiguous`, {
        hint: `write ${name}: ${node.text}s (Litestream reads a bare ${node.text} as nanoseconds)`,
        position: node.position,
      });
    }
    const result = tryParseDuration(node.text);
    if ("ms" in result) return result.ms;
    return this.fail(key, `${key} is not a valid duration: ${result.problem}`, {
      hint: `use a duration such as ${name}: 10s, 5m or 1h30m`,
      position: node.position,
    });
  }

  /** A size in bytes: a whole number, or a number with a unit such as `256MiB` (see byte-size.ts). */
  byteSize(node: YamlNode, key: string): number | undefined {
    if (node.kind === "scalar" && node.value === null) return undefined;
    if (node.kind !== "scalar" || (typeof node.value !== "string" && typeof node.value !== "number")) {
      return this.typeError(node, key, 'a size such as "256MiB"');
    }
    const result = tryParseByteSize(node.text);
    if ("bytes" in result) return result.bytes;
    return this.fail(key, `${key} is not a valid size: ${result.problem}`, {
      hint: `use a size such as ${leafName(key)}: 256MiB (or 0 to turn it off)`,
      position: node.position,
    });
  }

  private typeError(node: YamlNode, key: string, expected: string): never {
    const name = leafName(key);
    const example = exampleFor(name);
    const subject = key === "" ? "the config" : key;
    return this.fail(key, `${subject} must be ${expected}, not ${describe(node, SECRET_KEYS.has(name))}`, {
      hint: example === undefined ? undefined : `write it like: ${example}`,
      position: node.position,
    });
  }
}

/** Position of the value of `name` in `map`, or of the map itself. */
export function positionOf(map: YamlMap, name: string): YamlPosition | undefined {
  return map.entries.get(name)?.value.position ?? map.position;
}

function exampleFor(name: string): string | undefined {
  for (const level of Object.values(KNOWN_KEYS)) {
    const example = level[name];
    if (example !== undefined) return example;
  }
  return undefined;
}

/** Says what a value is without echoing secrets or long text. */
function describe(node: YamlNode, secret: boolean): string {
  if (node.kind === "map") return "a mapping";
  if (node.kind === "seq") return "a list";
  if (secret) return "that value";
  if (node.value === null) return "empty";
  const shown = node.text.length > 40 ? `${node.text.slice(0, 40)}…` : node.text;
  return typeof node.value === "string" ? `"${shown}"` : shown;
}
