/**
 * The meta directory cannot be written (disk full, read-only, permissions): the error a capture turns
 * such a failure into, saying where and what to do. Replication resumes by itself once it can write.
 */
export class ReplicationStateError extends Error {
  override name = "ReplicationStateError";
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `err` as a ReplicationStateError when it is a full or unwritable disk under `metaPath`; else `err`. */
export function explainStateError(err: unknown, metaPath: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new ReplicationStateError(
      `Cannot write replication state in ${metaPath}: no space left on device`,
      `free space on the filesystem that holds ${metaPath}, or move it with meta-path; replication resumes by itself`,
      { cause: err },
    );
  }
  if (code === "EROFS" || code === "EACCES" || code === "EPERM") {
    return new ReplicationStateError(
      `Cannot write replication state in ${metaPath}: ${(err as Error).message}`,
      `make ${metaPath} writable for this user, or move it with meta-path`,
      { cause: err },
    );
  }
  return err;
}
