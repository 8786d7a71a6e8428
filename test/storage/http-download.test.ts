/**
 * GETs on the download thread: every outcome comes back as data (errors do not cross threads), a body
 * goes into a file at its offset or comes back whole, on the thread and on the calling thread alike.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { download } from "../../src/storage/download-thread.ts";
import { type DownloadRequest, performDownload } from "../../src/storage/http-download.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";

const BODY = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);

describe.each([
  ["the download thread", download],
  ["the calling thread", performDownload],
])("a GET on %s", (_where, run) => {
  const dir = makeTempDir();
  let web: ReturnType<typeof Bun.serve>;
  let cut: Bun.TCPSocketListener<undefined>;
  beforeAll(() => {
    web = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) =>
        new URL(req.url).pathname === "/object"
          ? new Response(BODY, { headers: { etag: '"e1"', "content-range": "bytes 0-299999/300000" } })
          : new Response("<Error><Code>NoSuchKey</Code></Error>", { status: 404 }),
    });
    // Promises 100 bytes, sends 10, hangs up.
    cut = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket) {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
          socket.end();
        },
      },
    });
  });
  afterAll(() => {
    web.stop(true);
    cut.stop(true);
    removeDir(dir);
  });
  const request = (url: string, into?: DownloadRequest["into"]): DownloadRequest => ({
    url,
    headers: {},
    tls: { rejectUnauthorized: true },
    idleTimeoutMs: 10_000,
    into,
  });

  test("the body comes back whole, with the answer's headers", async () => {
    const reply = await run(request(`http://127.0.0.1:${web.port}/object`));
    expect(reply.kind).toBe("ok");
    if (reply.kind !== "ok") return;
    expect({ size: reply.size, etag: reply.etag, range: reply.contentRange }).toEqual({
      size: BODY.length,
      etag: '"e1"',
      range: "bytes 0-299999/300000",
    });
    expect(new Uint8Array(reply.bytes!)).toEqual(BODY);
  });

  test("the body goes into the file at its offset, and nothing comes back", async () => {
    const file = path.join(dir, "into");
    fs.writeFileSync(file, new Uint8Array(5).fill(7));
    const reply = await run(request(`http://127.0.0.1:${web.port}/object`, { file, at: 5 }));
    expect(reply.kind === "ok" && reply.bytes === undefined && reply.size === BODY.length).toBe(true);
    const written = new Uint8Array(fs.readFileSync(file));
    expect(written.subarray(0, 5)).toEqual(new Uint8Array(5).fill(7));
    expect(written.subarray(5)).toEqual(BODY);
  });

  test("a file that is gone fails before anything is asked", async () => {
    const reply = await run(
      request(`http://127.0.0.1:${web.port}/object`, { file: path.join(dir, "gone"), at: 0 }),
    );
    expect(reply.kind === "local-failed" && reply.error.code).toBe("ENOENT");
  });

  test("an error answer comes back with its status and body", async () => {
    const reply = await run(request(`http://127.0.0.1:${web.port}/missing`));
    expect(reply).toEqual({ kind: "answer", status: 404, text: "<Error><Code>NoSuchKey</Code></Error>" });
  });

  test("a body cut short says how much arrived", async () => {
    const reply = await run(request(`http://127.0.0.1:${cut.port}/x`));
    expect(reply.kind).toBe("body-failed");
    if (reply.kind === "body-failed") expect(reply.size).toBeLessThanOrEqual(10);
  });

  test("a refused connection keeps the code the advice is chosen by", async () => {
    // A port that was just free: nothing listens there now.
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const free = closed.port;
    closed.stop(true);
    const reply = await run(request(`http://127.0.0.1:${free}/x`));
    expect(reply.kind === "request-failed" && reply.error.code).toBe("ECONNREFUSED");
  });
});
