/** The SFTP backend against OpenSSH's sshd on loopback (test/helpers/sshd.ts). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { StorageError } from "../../src/storage/object-store.ts";
import type { SftpStore } from "../../src/storage/sftp.ts";
import { SSHD, type SshServer, startSshd } from "../helpers/sshd.ts";
import { objectStoreConformance } from "./conformance.ts";

/** CI installs OpenSSH's server (`.ci/run`); elsewhere its absence only skips, with a line saying so. */
const available = fs.existsSync(SSHD) || !!process.env.CI;
if (!available)
  console.warn(
    `skipping the SFTP tests: ${SSHD} not found (Debian: apt-get install --no-install-recommends openssh-server)`,
  );
let server: SshServer;

beforeAll(async () => {
  if (available) server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

let n = 0;
function store(): SftpStore {
  return server.store(`${server.root}/store-${n++}`);
}

if (available) objectStoreConformance("sftp", store);

test.skipIf(!available)("a host key that is not the expected one is refused", async () => {
  const s = server.store(
    server.root,
    () => new StorageError("refused by the test", "connect", "", undefined, { code: "host-key-unknown" }),
  );
  await expect(s.get("anything")).rejects.toMatchObject({ code: "host-key-unknown" });
});

test.skipIf(!available)(
  "a server that refuses writes is refused by checkWritable, as access denied",
  async () => {
    const readOnly = await startSshd({ readOnly: true });
    try {
      const s = readOnly.store(`${readOnly.root}/replica`);
      const err = await s.checkWritable().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe("access-denied");
      expect((err as StorageError).hint).toContain("write access");
      // Reading still works: an empty replica.
      expect(await s.list("generations/", { delimiter: true })).toEqual({ objects: [], prefixes: [] });
    } finally {
      await readOnly.stop();
    }
  },
);

test.skipIf(!available)(
  "delete sweeps what cut uploads left (a day old) and then prunes the directory",
  async () => {
    const s = store();
    await s.put("generations/g/wal/a.wal.lz4", new Uint8Array([1]));
    await s.put("generations/g/wal/b.wal.lz4", new Uint8Array([2]));
    const walDir = `${s.opts.root}/generations/g/wal`;
    const stale = `${walDir}/c.wal.lz4.tmp-0123456789ab`;
    const fresh = `${walDir}/b.wal.lz4.tmp-ba9876543210`;
    fs.writeFileSync(stale, "cut short");
    fs.writeFileSync(fresh, "still uploading");
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    fs.utimesSync(stale, dayAgo, dayAgo);
    await s.delete(["generations/g/wal/a.wal.lz4"]);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    fs.utimesSync(fresh, dayAgo, dayAgo);
    await s.delete(["generations/g/wal/b.wal.lz4"]);
    expect(fs.existsSync(`${s.opts.root}/generations`)).toBe(false);
  },
);
