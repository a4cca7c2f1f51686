/** One generated input: a request and what the bridge must do with it. */
export interface FuzzCase {
  family: string;
  target: "ingest" | "api";
  method: "GET" | "POST";
  /** Path and query, already encoded. */
  path: string;
  auth: Auth;
  body?: string;
  /** A body of this many bytes, produced while sending (never held in memory). */
  streamBytes?: number;
  /** `reject`: the input is bad, a 2xx is a failure. `any`: odd but possibly fine. */
  expect: "reject" | "any";
  /** A rejection of this input is an EMQX or device message and must be in the quarantine. */
  quarantined: boolean;
}

/** Credentials, resolved by the harness (which holds the secrets). */
export type Auth =
  | { kind: "emqx" }
  | { kind: "device"; sn: string }
  | { kind: "api" }
  | { kind: "header"; value: string | undefined };

/** A case for a serial number the harness hands out (one per case, so checks never mix cases up). */
export type CaseSpec = (sn: string) => FuzzCase;

/** A path segment, percent-encoded; broken UTF-16 becomes the (invalid) UTF-8 bytes of each code unit. */
export function encodeSegment(value: string): string {
  return [...value].map(encodeChar).join("");
}

function encodeChar(char: string): string {
  if (char === ".") return "%2E";
  try {
    return encodeURIComponent(char);
  } catch {
    // A lone surrogate: encodeURIComponent refuses it; send its three WTF-8 bytes, which no UTF-8 decoder accepts.
    const unit = char.charCodeAt(0);
    const bytes = [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
    return bytes.map((b) => `%${b.toString(16).toUpperCase()}`).join("");
  }
}
