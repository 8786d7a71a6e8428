/** Off Linux, `replicate` refuses with one line and the usage exit code (systemd does not restart it). */
import { describe, expect, test } from "bun:test";
import { EXIT_USAGE, exitCodeFor, formatError } from "../../src/cli/errors.ts";
import { replicatePlatformError } from "../../src/cli/runtime-support.ts";

describe("replicate's platform check", () => {
  test("passes on Linux", () => {
    expect(replicatePlatformError("linux")).toBeNull();
  });

  for (const platform of ["darwin", "win32", "freebsd"] as const) {
    test(`refuses on ${platform} with one line naming what works there`, () => {
      const err = replicatePlatformError(platform);
      expect(err).not.toBeNull();
      expect(exitCodeFor(err)).toBe(EXIT_USAGE);
      expect(formatError(err)).toBe(
        `walship: Cannot replicate on ${platform}: walship replicate runs on Linux only today. ` +
          "Try: restore, doctor and the inspection commands work here; run replicate on a Linux host",
      );
    });
  }
});
