/**
 * How EMQX turns a payload that is not valid UTF-8 into JSON text. `emqx_utils_json:encode/1` calls jiffy with
 * `force_utf8`; jiffy's NIF refuses the invalid string, and `jiffy_utf8:fix/1` then re-decodes every string of
 * the whole term loosely (docs/emqx.md §4.2). That differs from Node's decoder:
 * a bad byte and the continuation bytes after it become ONE U+FFFD (Node gives one per byte), overlong forms
 * decode (`C0 80` is U+0000), a valid surrogate pair written as two 3-byte sequences combines, and code
 * points that are not Unicode scalar values (surrogates, U+FFFE, U+FFFF, above U+10FFFF) become U+FFFD.
 */

const REPLACEMENT = 0xfffd;

/** Whether jiffy's NIF accepts the bytes as they are (the same rule as a fatal WHATWG decoder). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** `jiffy_utf8:fix_bin/1`: loose decode, combine surrogate pairs, replace what is not Unicode. */
export function jiffyFixBytes(bytes: Uint8Array): string {
  const combined = combineSurrogates(looseDecode(bytes));
  return String.fromCodePoint(...combined.map((c) => (isUnicode(c) ? c : REPLACEMENT)));
}

/** `jiffy_utf8:fix/1` on a string that was valid already: only U+FFFE and U+FFFF change. */
export function jiffyFixString(text: string): string {
  return text.replace(/[\uFFFE\uFFFF]/g, "\uFFFD");
}

/** `loose_decode/3`: 1 to 4 byte forms by bit pattern only, anything else is one U+FFFD per bad run. */
function looseDecode(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      // A broken lead or continuation byte: drop it and the continuation bytes after it.
      i++;
      while (i < bytes.length && isContinuation(bytes[i] as number)) i++;
      out.push(REPLACEMENT);
      continue;
    }
    out.push(decodeSequence(bytes, i, length));
    i += length;
  }
  return out;
}

const LEADS: Array<{ mask: number; value: number; length: number }> = [
  { mask: 0x80, value: 0x00, length: 1 },
  { mask: 0xe0, value: 0xc0, length: 2 },
  { mask: 0xf0, value: 0xe0, length: 3 },
  { mask: 0xf8, value: 0xf0, length: 4 },
];

/** The length of a well-formed-looking sequence at `i` (lead pattern + enough continuations), else 0. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i] as number;
  const form = LEADS.find(({ mask, value }) => (lead & mask) === value);
  if (!form || i + form.length > bytes.length) return 0;
  for (let k = 1; k < form.length; k++) if (!isContinuation(bytes[i + k] as number)) return 0;
  return form.length;
}

function decodeSequence(bytes: Uint8Array, i: number, length: number): number {
  const leadBits = [0x7f, 0x1f, 0x0f, 0x07][length - 1] as number;
  let code = (bytes[i] as number) & leadBits;
  for (let k = 1; k < length; k++) code = (code << 6) | ((bytes[i + k] as number) & 0x3f);
  return code;
}

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;
const isSurrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;

/** `try_combining/2`: two surrogates in a row become one code point when they form a valid pair. */
function combineSurrogates(codes: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < codes.length; i++) {
    const high = codes[i] as number;
    const low = codes[i + 1];
    if (!isSurrogate(high) || low === undefined || !isSurrogate(low)) {
      out.push(high);
      continue;
    }
    // Both are consumed either way, as jiffy does: a failed pair is kept as it is (and replaced later).
    const valid = high <= 0xdbff && low >= 0xdc00;
    if (valid) out.push(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00));
    else out.push(high, low);
    i++;
  }
  return out;
}

/** `xmerl_ucs:is_unicode/1`: a scalar value that is not U+FFFE or U+FFFF. */
function isUnicode(c: number): boolean {
  if (c < 0xd800) return true;
  if (c > 0xdfff && c < 0xfffe) return true;
  return c > 0xffff && c <= 0x10ffff;
}
