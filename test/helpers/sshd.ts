/**
 * OpenSSH's sshd on loopback for the SFTP tests (Debian's openssh-server, installed by .ci/run): a
 * temporary config, host key and client key, started by absolute path in the foreground and stopped with
 * the test. Runs as the test's user (root in CI), which may log in with the client key.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { SftpStore } from "../../src/storage/sftp.ts";
import { type HostKeyCheck, hostKeyCheck } from "../../src/storage/ssh-host-key.ts";
import { sha256Fingerprint } from "../../src/storage/ssh-known-hosts.ts";

export const SSHD = "/usr/sbin/sshd";

export interface SshServer {
  host: string;
  port: number;
  user: string;
  /** The client's private key (OpenSSH format, no passphrase). */
  keyPath: string;
  /** The host's public key line (`ssh-ed25519 AAAA...`), for known_hosts. */
  hostPublicKey: string;
  /** A directory the tests may use as a replica root. */
  root: string;
  /**
   * An SftpStore on this server at `root`, logged in with the client key, the host key pinned by its
   * fingerprint (or checked by `hostKey`); closed by stop().
   */
  store(root: string, hostKey?: HostKeyCheck): SftpStore;
  stop(): Promise<void>;
  /** Kills the listener and every session (the server is down) without removing its files. */
  down(): Promise<void>;
  /** Starts it again on the same port with the same keys. */
  up(): Promise<void>;
  /** Kills the sessions (the connections drop) and leaves the listener running. */
  dropConnections(): void;
}

function run(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

/** `readOnly`: the SFTP server refuses every write (internal-sftp -R), as a directory without permission. */
export async function startSshd(opts: { password?: boolean; readOnly?: boolean } = {}): Promise<SshServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "walship-sshd-"));
  run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
  run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client_key")]);
  fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
  const root = path.join(dir, "root");
  fs.mkdirSync(root);
  // sshd insists on its privilege separation directory.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${path.join(dir, "host_key")}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      `PasswordAuthentication ${opts.password ? "yes" : "no"}`,
      "PermitRootLogin yes",
      "StrictModes no",
      "UsePAM no",
      `Subsystem sftp internal-sftp${opts.readOnly ? " -R" : ""}`,
      "",
    ].join("\n"),
  );
  let proc = await listen(config, port);
  const hostPublicKey = fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").trim();
  const pinned = hostKeyCheck(
    {
      kind: "fingerprint",
      fingerprint: sha256Fingerprint(Buffer.from(hostPublicKey.split(" ")[1]!, "base64")),
    },
    "127.0.0.1",
    port,
  );
  const stores: SftpStore[] = [];
  const sessions = (): number[] => {
    const r = Bun.spawnSync(["pgrep", "-P", String(proc.pid)], { stdout: "pipe" });
    return r.stdout.toString().split("\n").filter(Boolean).map(Number);
  };
  const killSessions = (): void => {
    for (const pid of sessions()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  return {
    host: "127.0.0.1",
    port,
    user: loginName(),
    keyPath: path.join(dir, "client_key"),
    hostPublicKey,
    root,
    store(storeRoot, hostKey = pinned) {
      const store = new SftpStore({
        host: "127.0.0.1",
        port,
        user: loginName(),
        keyPath: path.join(dir, "client_key"),
        root: storeRoot,
        hostKey,
      });
      stores.push(store);
      return store;
    },
    async stop() {
      for (const store of stores) store.close();
      killSessions();
      proc.kill();
      await proc.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async down() {
      killSessions();
      proc.kill("SIGKILL");
      await proc.exited;
    },
    async up() {
      proc = await listen(config, port);
    },
    dropConnections: killSessions,
  };
}

/** Starts sshd and waits until it accepts; its log goes to a file, so that no pipe fills and stalls it. */
async function listen(config: string, port: number): Promise<Bun.Subprocess> {
  const log = `${config}.log`;
  const fd = fs.openSync(log, "a");
  const proc = Bun.spawn([SSHD, "-D", "-e", "-f", config], { stdout: "ignore", stderr: fd });
  fs.closeSync(fd);
  const deadline = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill();
      throw new Error(`sshd did not start: ${fs.readFileSync(log, "utf8")}`);
    }
    await Bun.sleep(20);
  }
  return proc;
}

/** The user the tests run as, by the name sshd looks up (os.userInfo() says "unknown" in some containers). */
function loginName(): string {
  const r = Bun.spawnSync(["id", "-un"], { stdout: "pipe" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : os.userInfo().username;
}
