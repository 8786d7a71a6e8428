/**
 * `bun:test` for Deno: the test files import "bun:test", and under Deno an import map
 * (deno-import-map.json) points that name here. Tests and suites go to node:test (which Deno runs on its
 * own test runner), assertions to Jest's `expect` from npm, with the two matchers Bun adds that Jest
 * lacks. Only what the tests run under Deno use is here; anything else fails loudly.
 */

import * as nodeTest from "node:test";
import { expect as jestExpect } from "expect";

type Body = () => unknown;
/** Bun takes a timeout in milliseconds, or options with one. */
type Timeout = number | { timeout?: number };

function options(timeout: Timeout | undefined): { timeout?: number } {
  const ms = typeof timeout === "number" ? timeout : timeout?.timeout;
  return ms === undefined ? {} : { timeout: ms };
}

/**
 * A test name from `test.each`'s template and one row, as Bun formats it: %s %d %i %f %p %j %o take the
 * row's values in turn, %# its index, %% a percent sign, and `$key` an object row's property.
 */
export function eachName(template: string, row: unknown, index: number): string {
  const args = Array.isArray(row) ? [...row] : [row];
  const named = template.replace(/\$([A-Za-z_]\w*)/g, (whole, key: string) =>
    row !== null && typeof row === "object" && key in row
      ? String((row as Record<string, unknown>)[key])
      : whole,
  );
  return named.replace(/%([sdifpjo#%])/g, (whole, kind: string) => {
    if (kind === "%") return "%";
    if (kind === "#") return String(index);
    if (args.length === 0) return whole;
    const value = args.shift();
    if (kind === "d" || kind === "i") return String(Math.trunc(Number(value)));
    if (kind === "f") return String(Number(value));
    if (kind === "s") return String(value);
    return JSON.stringify(value) ?? String(value);
  });
}

/** Bun's `.each(table)(name, fn)`: arrays are spread into the function's arguments, other rows passed whole. */
function each<F extends (name: string, body: Body, timeout?: Timeout) => void>(register: F) {
  return (table: readonly unknown[]) =>
    (template: string, body: (...args: never[]) => unknown, timeout?: Timeout) => {
      table.forEach((row, i) => {
        const args = (Array.isArray(row) ? row : [row]) as never[];
        register(eachName(template, row, i), () => body(...args), timeout);
      });
    };
}

function registerTest(name: string, body: Body, timeout?: Timeout): void {
  nodeTest.test(name, options(timeout), async () => {
    await body();
  });
}

function skipTest(name: string, _body?: Body, _timeout?: Timeout): void {
  nodeTest.test(name, { skip: true }, () => {});
}

function registerSuite(name: string, body: Body): void {
  nodeTest.describe(name, () => {
    body();
  });
}

function skipSuite(name: string, _body?: Body): void {
  nodeTest.describe(name, { skip: true }, () => {});
}

export const test = Object.assign(registerTest, {
  skip: skipTest,
  each: each(registerTest),
  skipIf: (condition: unknown) => (condition ? skipTest : registerTest),
  if: (condition: unknown) => (condition ? registerTest : skipTest),
});
export const it = test;

export const describe = Object.assign(registerSuite, {
  skip: skipSuite,
  each: each(registerSuite),
  skipIf: (condition: unknown) => (condition ? skipSuite : registerSuite),
  if: (condition: unknown) => (condition ? registerSuite : skipSuite),
});

export const beforeAll = (fn: Body, timeout?: Timeout) =>
  nodeTest.before(async () => void (await fn()), options(timeout));
export const afterAll = (fn: Body, timeout?: Timeout) =>
  nodeTest.after(async () => void (await fn()), options(timeout));
export const beforeEach = (fn: Body, timeout?: Timeout) =>
  nodeTest.beforeEach(async () => void (await fn()), options(timeout));
export const afterEach = (fn: Body, timeout?: Timeout) =>
  nodeTest.afterEach(async () => void (await fn()), options(timeout));

jestExpect.extend({
  toStartWith(received: unknown, prefix: string) {
    const pass = typeof received === "string" && received.startsWith(prefix);
    return {
      pass,
      message: () =>
        `expected ${JSON.stringify(received)} ${pass ? "not " : ""}to start with ${JSON.stringify(prefix)}`,
    };
  },
  toEndWith(received: unknown, suffix: string) {
    const pass = typeof received === "string" && received.endsWith(suffix);
    return {
      pass,
      message: () =>
        `expected ${JSON.stringify(received)} ${pass ? "not " : ""}to end with ${JSON.stringify(suffix)}`,
    };
  },
});

/** Bun's expect takes a message as a second argument; Jest's refuses one, so it is dropped here. */
export const expect = Object.assign(
  (actual: unknown, _message?: string) => jestExpect(actual),
  jestExpect,
) as (actual: unknown, message?: string) => ReturnType<typeof jestExpect>;

/** Bun's spyOn and mock are not shimmed: tests that need them stay under Bun. */
export function spyOn(): never {
  throw new Error("spyOn is not in the Deno shim of bun:test");
}
