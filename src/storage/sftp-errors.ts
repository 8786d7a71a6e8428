/**
 * SFTP and SSH failures as StorageErrors with codes, read from what ssh2 puts on its errors (`level`,
 * socket `code`s, the SFTP status `code`), never from message text. Messages name the server and the
 * user, never the password or the key's contents.
 */
import * as fs from "node:fs";
import { classifyNetworkError } from "./network-error.ts";
import { StorageError, type StorageErrorCode } from "./object-store.ts";

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7). */
export const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/** The StorageError for a failed SSH connection or SFTP request; a StorageError passes unchanged. */
export function sftpError(err: unknown, operation: string, key: string, location: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { level?: unknown; code?: unknown; message?: unknown };
  const text = typeof e.message === "string" ? e.message : String(err);
  const fail = (code: StorageErrorCode, message: string, hint: string) =>
    new StorageError(message, operation, key, hint, { cause: err, code });
  if (e.level === "client-authentication")
    return fail(
      "credentials-rejected",
      `The SSH server refused to log in to ${location}: every method walship tried failed (${text})`,
      "check user, password or key-path for this replica, and that the key is in the user's ~/.ssh/authorized_keys on the server",
    );
  if (e.code === SFTP_PERMISSION_DENIED)
    return fail(
      "access-denied",
      `The SFTP server denied ${operation} of ${key || "the replica directory"} at ${location}`,
      "give the SSH user write access to the replica path on the server (chown or chmod there), or choose a path under its home",
    );
  if (e.level === "client-timeout")
    return fail(
      "timeout",
      `No SSH handshake with ${location} within 30 s`,
      "check that the address and port are an SSH server reachable from this host",
    );
  const network = classifyNetworkError(err);
  const code = network?.kind ?? (e.level === "client-dns" ? "dns" : "storage-failed");
  return fail(
    code,
    `SFTP ${operation} ${key ? `of ${key} ` : ""}at ${location} failed: ${text}`,
    network || e.level === "client-dns"
      ? "check the host and port of the replica, and that sshd runs there; walship retries meanwhile"
      : "walship retries; if this goes on, check the server's log (journalctl -u ssh)",
  );
}

/** ssh2 refused the private key before connecting (unparsable, or with a passphrase). */
export function unusableKeyError(err: unknown, location: string, keyPath: string | undefined): StorageError {
  return new StorageError(
    `Cannot use ${keyPath ? `key-path ${keyPath}` : "the SSH key"} to log in to ${location}: ${(err as Error).message}`,
    "connect",
    "",
    "give an OpenSSH or PEM private key without a passphrase (ssh-keygen -p -N '' -f FILE removes one)",
    { cause: err, code: "credentials-rejected" },
  );
}

/** A private key file's bytes, or a StorageError naming the file (never its contents). */
export function readKey(file: string, location: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new StorageError(
      `Cannot read key-path ${file} to log in to ${location}: ${(err as Error).message}`,
      "connect",
      "",
      "check key-path, and that walship's user may read the file",
      { cause: err, code: "credentials-rejected" },
    );
  }
}
