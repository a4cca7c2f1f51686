/**
 * JSON with every character outside printable ASCII written as `\uXXXX` (a pair for astral characters).
 *
 * SQS accepts only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF in a body, and `JSON.stringify`
 * leaves U+FFFE/U+FFFF (and every other character) as they are; escaped, any JSON value is a body SQS
 * accepts, and consumers parse back exactly the same value. Costs up to 6 bytes a character.
 *
 * @example
 * asciiJson({ name: "Zoë\uFFFF" }) // '{"name":"Zo\\u00eb\\uffff"}'
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(NOT_ASCII, escapeChar);
}

/** Everything above U+007E (JSON.stringify already escapes the control characters below U+0020). */
const NOT_ASCII = /[\u007f-\uffff]/g;

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** Bytes of `asciiJson(value)`: one per character, since it is all ASCII. */
export function asciiJsonBytes(value: unknown): number {
  return asciiJson(value).length;
}
