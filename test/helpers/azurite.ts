/**
 * Azurite's blob service (Microsoft's Azure Storage emulator, the `azurite` devDependency) on loopback
 * for the Azure Blob Storage tests: run by Node.js from node_modules in a temporary workspace, on a port
 * the system picks at first start and kept across stop() and restart() with the data, so fault tests can
 * take the server away during replication and bring it back.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Subprocess } from "bun";

/** Azurite's well-known development account and its published key (not a secret: the same everywhere). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** The blob service's entry point; run by Node.js, the runtime Azurite is built and tested for. */
export const AZURITE_BLOB_MAIN = path.join(
  import.meta.dirname,
  "../../node_modules/azurite/dist/src/blob/main.js",
);

const READY_TIMEOUT_MS = 30_000;

export interface Azurite {
  /** `http://127.0.0.1:PORT/devstoreaccount1`, as AzureBlobStore's `endpoint` takes it. */
  readonly endpoint: string;
  readonly port: number;
  readonly accountName: string;
  readonly accountKey: string;
  createContainer(name: string): Promise<void>;
  /** Stops the server (gracefully: Azurite saves its metadata); the data stays for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

/** Whether Azurite can run here: Node.js on the PATH and the package installed. */
export function azuriteMissing(): string | undefined {
  if (!Bun.which("node")) return "node not found on the PATH";
  if (!fs.existsSync(AZURITE_BLOB_MAIN)) return `${AZURITE_BLOB_MAIN} not found (npm ci installs azurite)`;
  return undefined;
}

export async function startAzurite(): Promise<Azurite> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-azurite-"));
  let proc: Subprocess<"ignore", "pipe", "pipe"> | null = null;
  let port = 0;

  const launch = async () => {
    const p = Bun.spawn(
      [
        "node",
        AZURITE_BLOB_MAIN,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        String(port),
        "--location",
        dir,
        "--silent",
        // Azurite reports usage to Microsoft by default; tests talk to loopback only.
        "--disableTelemetry",
        // The SDK may send a newer API version than this Azurite knows; the operations used are old.
        "--skipApiVersionCheck",
        "--loose",
      ],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    proc = p;
    port = await listeningPort(p);
  };

  const stop = async () => {
    const p = proc;
    if (!p) return;
    proc = null;
    p.kill("SIGTERM");
    // Azurite saves its metadata on SIGTERM; one that hangs is killed rather than hanging the test.
    const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await p.exited;
    clearTimeout(timer);
  };

  await launch();
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    endpoint,
    port,
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    async createContainer(name: string) {
      const sdk = await import("@azure/storage-blob");
      const credential = new sdk.StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
      await new sdk.BlobServiceClient(endpoint, credential).getContainerClient(name).createIfNotExists();
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads Azurite's output until it says where it listens; fails when it exits or takes too long. */
async function listeningPort(p: Subprocess<"ignore", "pipe", "pipe">): Promise<number> {
  const reader = p.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  const deadline = setTimeout(() => p.kill("SIGKILL"), READY_TIMEOUT_MS);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += decoder.decode(value, { stream: true });
      const m = /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        // Keep draining, so a chatty Azurite never blocks on a full pipe.
        void drain(reader);
        void drain(p.stderr.getReader());
        return Number(m[1]);
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  const err = await new Response(p.stderr).text();
  throw new Error(`Azurite did not start (exit ${await p.exited}): ${out}${err}`);
}

async function drain(reader: { read(): Promise<{ done: boolean }> }): Promise<void> {
  try {
    while (!(await reader.read()).done) {}
  } catch {
    // The process is gone.
  }
}
