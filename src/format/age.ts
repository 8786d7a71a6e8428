/**
 * The age file format (age-encryption.org/v1), which Litestream 0.3.13 wraps every object of an
 * encrypted replica in. Only recognition for now: an object that is an age file is encrypted, not
 * corrupt, and must never be treated as damage to repair. Pure: imports nothing from the runtime.
 */

/** Every binary age v1 file starts with this line. */
const AGE_V1_INTRO = "age-encryption.org/v1\n";

/** Whether `bytes` start like an age v1 file. */
export function isAgeFile(bytes: Uint8Array): boolean {
  if (bytes.length < AGE_V1_INTRO.length) return false;
  for (let i = 0; i < AGE_V1_INTRO.length; i++) if (bytes[i] !== AGE_V1_INTRO.charCodeAt(i)) return false;
  return true;
}
