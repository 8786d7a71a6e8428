import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PendingTransaction } from "../../src/restore/pending-transaction.ts";

test("pages past the memory limit wait in a spill file; written in order, the latest version wins; the file goes", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-pending-"));
  const spill = path.join(dir, "spill");
  const pageSize = 512;
  const pending = new PendingTransaction(pageSize, spill, 10 * pageSize);
  const page = (pgno: number, version: number) => new Uint8Array(pageSize).fill((pgno * 7 + version) & 0xff);
  // 40 pages over 20 page numbers: each page twice, the second version later (and so spilled).
  for (let version = 0; version < 2; version++)
    for (let pgno = 1; pgno <= 20; pgno++) pending.add(pgno, page(pgno, version));
  expect(pending.count).toBe(40);
  expect(fs.existsSync(spill)).toBe(true);
  const db = path.join(dir, "db");
  const fd = fs.openSync(db, "w+");
  pending.writeTo(fd);
  fs.closeSync(fd);
  expect(pending.count).toBe(0);
  const bytes = new Uint8Array(fs.readFileSync(db));
  for (let pgno = 1; pgno <= 20; pgno++) {
    expect(bytes.subarray((pgno - 1) * pageSize, pgno * pageSize)).toEqual(page(pgno, 1));
  }
  pending.close();
  expect(fs.existsSync(spill)).toBe(false);
  fs.rmSync(dir, { recursive: true, force: true });
});
