/**
 * The meta directory cannot be written (disk full, read-only, permissions): the error a capture turns
 * such a failure into, saying where and what to do. Replication resumes by itself once it can write.
 */
import { WalshipError } from "../errors/walship-error.ts";

export class MetaDirectoryError extends WalshipError<"state-unwritable"> {
  override name = "MetaDirectoryError";
  constructor(message: string, metaPath: string, hint: string, cause: unknown) {
    super(message, {
      code: "state-unwritable",
      operation: "write replication state",
      subject: metaPath,
      hint,
      cause,
    });
  }
}

/** `err` as a MetaDirectoryError when it is a full or unwritable disk under `metaPath`; else `err`. */
export function explainStateError(err: unknown, metaPath: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new MetaDirectoryError(
      `Cannot write replication state in ${metaPath}: no space left on device`,
      metaPath,
      `free space on the filesystem that holds ${metaPath}, or move it with meta-path; replication resumes by itself`,
      err,
    );
  }
  if (code === "EROFS" || code === "EACCES" || code === "EPERM") {
    return new MetaDirectoryError(
      `Cannot write replication state in ${metaPath}: ${(err as Error).message}`,
      metaPath,
      `make ${metaPath} writable for this user, or move it with meta-path`,
      err,
    );
  }
  return err;
}
