/**
 * Fuzz target: the SQLite database header reader (src/sqlite/db-header.ts decodeDbHeader). Inputs are the
 * first page of real databases written by bun:sqlite (page sizes 512, 4096 and 65536, which the header
 * stores as 1), the restored fixture database, their mutations, and random bytes behind a valid magic.
 * decodeDbHeader may only throw DbFormatError; what it returns must match the header bytes.
 */
import { Database } from "bun:sqlite";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DbFormatError, decodeDbHeader } from "../../../src/sqlite/db-header.ts";
import { check, type FuzzCtx, type FuzzTarget, type Rng } from "../harness.ts";
import { maybeOffsetView, mutateBytes } from "../mutate.ts";

const FIXTURE_DB = path.join(import.meta.dirname, "../../fixtures/litestream-0.3.13/expected-restored.db");
const MAGIC = new TextEncoder().encode("SQLite format 3\0");

interface Corpus {
  pages: Uint8Array[];
}

function prepare(): Corpus {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-fuzz-db-"));
  const pages: Uint8Array[] = [];
  try {
    for (const pageSize of [512, 4096, 65536]) {
      const file = path.join(dir, `p${pageSize}.db`);
      const db = new Database(file);
      db.run(`PRAGMA page_size = ${pageSize}`);
      db.run("CREATE TABLE t (v)");
      db.run("INSERT INTO t VALUES ('x')");
      db.close();
      // The header and a little of the first page is all the reader looks at.
      pages.push(new Uint8Array(fs.readFileSync(file)).slice(0, 512));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  pages.push(new Uint8Array(fs.readFileSync(FIXTURE_DB)).slice(0, 512));
  return { pages };
}

function makeInput(rng: Rng, corpus: Corpus): Uint8Array {
  const r = rng.float();
  if (r < 0.1) return rng.bytes(rng.small(200));
  if (r < 0.25) {
    // A valid magic, then random header fields; sometimes a chosen page size field.
    const b = rng.bytes(100 + rng.small(50));
    b.set(MAGIC);
    if (rng.chance(0.7)) {
      const raw = rng.pick([0, 1, 2, 256, 511, 512, 513, 1024, 32768, 65535, rng.int(65536)]);
      b[16] = raw >> 8;
      b[17] = raw & 0xff;
    }
    return b;
  }
  const page = rng.pick(corpus.pages);
  return r < 0.3 ? page.slice() : mutateBytes(rng, page, corpus.pages);
}

function property(ctx: FuzzCtx, corpus: Corpus): string {
  const { rng } = ctx;
  const b = maybeOffsetView(rng, makeInput(rng, corpus));
  ctx.input(b);
  let header: ReturnType<typeof decodeDbHeader>;
  try {
    header = decodeDbHeader(b);
  } catch (err) {
    check(err instanceof DbFormatError, () => `threw ${String(err)}, not a DbFormatError`);
    return err.message.includes("page size") ? "rejected-page-size" : "rejected";
  }
  check(b.length >= 100, `accepted a ${b.length}-byte header`);
  check(
    MAGIC.every((c, i) => b[i] === c),
    "accepted a header without the SQLite magic",
  );
  const raw = (b[16]! << 8) | b[17]!;
  const want = raw === 1 ? 65536 : raw;
  check(header.pageSize === want, `page size ${header.pageSize}, header field ${raw}`);
  check(want >= 512 && want <= 65536 && (want & (want - 1)) === 0, `accepted page size ${want}`);
  check(header.writeVersion === b[18] && header.readVersion === b[19], "versions differ from bytes 18/19");
  const count = ((b[28]! << 24) | (b[29]! << 16) | (b[30]! << 8) | b[31]!) >>> 0;
  check(header.pageCount === count, `page count ${header.pageCount}, bytes 28-31 say ${count}`);
  return "accepted";
}

export const target: FuzzTarget<Corpus> = { prepare, property };
