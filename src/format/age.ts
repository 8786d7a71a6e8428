/**
 * The age file format's header (age-encryption.org/v1), which Litestream 0.3.13 wraps every object of an
 * encrypted replica in: the version line, one stanza per recipient, and a MAC line. Recognising an age
 * file matters on its own: an object that is one is encrypted, not corrupt, and must never be treated
 * as damage to repair. Pure: the keys and the MAC are computed by the caller.
 */
import { base64nopad } from "@scure/base";

/** Every binary age v1 file starts with this line. */
const AGE_V1_INTRO = "age-encryption.org/v1\n";
/** The MAC line's start, at the beginning of a line. */
const MAC_LINE = "\n--- ";
/** A header far larger than any with a handful of recipients is not one we wrote or can use. */
export const AGE_HEADER_LIMIT = 64 * 1024;

/** Whether `bytes` start like an age v1 file. */
export function isAgeFile(bytes: Uint8Array): boolean {
  if (bytes.length < AGE_V1_INTRO.length) return false;
  for (let i = 0; i < AGE_V1_INTRO.length; i++) if (bytes[i] !== AGE_V1_INTRO.charCodeAt(i)) return false;
  return true;
}

/**
 * Where the header of the age file starting `bytes` ends (after its MAC line), or null when `bytes`
 * do not hold all of it. Stanza lines start with "-> " or base64, so the first line starting "--- " is
 * the MAC line.
 */
export function ageHeaderEnd(bytes: Uint8Array): number | null {
  const limit = Math.min(bytes.length, AGE_HEADER_LIMIT);
  outer: for (let i = AGE_V1_INTRO.length - 1; i + MAC_LINE.length <= limit; i++) {
    for (let j = 0; j < MAC_LINE.length; j++) if (bytes[i + j] !== MAC_LINE.charCodeAt(j)) continue outer;
    const newline = bytes.indexOf(0x0a, i + MAC_LINE.length);
    return newline >= 0 && newline < limit ? newline + 1 : null;
  }
  return null;
}

/** One recipient's stanza: `-> TYPE ARGS…` and its body. */
export interface AgeStanza {
  type: string;
  args: string[];
  body: Uint8Array;
}

/**
 * The header up to and including the MAC line's "---", which is what the MAC covers. Bodies are
 * unpadded base64 in lines of 64 columns, the last one shorter (so empty when the body fills whole lines).
 */
export function ageHeaderWithoutMac(stanzas: AgeStanza[]): Uint8Array {
  let text = AGE_V1_INTRO;
  for (const s of stanzas) {
    text += `-> ${[s.type, ...s.args].join(" ")}\n`;
    const b64 = base64nopad.encode(s.body);
    for (let at = 0; at <= b64.length; at += 64) text += `${b64.slice(at, at + 64)}\n`;
  }
  return new TextEncoder().encode(`${text}---`);
}

/** The header's last line, after ageHeaderWithoutMac's bytes: " MAC\n". */
export function ageMacLine(mac: Uint8Array): Uint8Array {
  return new TextEncoder().encode(` ${base64nopad.encode(mac)}\n`);
}

export function base64NoPad(bytes: Uint8Array): string {
  return base64nopad.encode(bytes);
}
