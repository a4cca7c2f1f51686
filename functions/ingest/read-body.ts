import { QUARANTINE_RAW_LIMIT } from "../core/quarantine.ts";

/** A request body read under a size limit. */
export interface BodyRead {
  /** The whole body; for one over the limit, only its first bytes (kept in the quarantine). */
  text: string;
  /** Its size: exact when complete, else the declared length or at least what was read. */
  bytes: number;
  /** False when the body is over the limit: reading stopped there. */
  complete: boolean;
}

/**
 * Reads the body of `request`, stopping as soon as it is known to be over `maxBytes` (by its
 * Content-Length, or by counting a chunked body as it arrives), so an oversized body never sits in
 * memory: what Hono's `bodyLimit` does, keeping the first bytes for the quarantine.
 */
export async function readBody(request: Request, maxBytes: number): Promise<BodyRead> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared <= maxBytes) return readDeclared(request, maxBytes);
  const overDeclared = declared > maxBytes;
  const keep = overDeclared ? QUARANTINE_RAW_LIMIT : maxBytes;
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const reader = request.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    bytes += value.byteLength;
    // Not `cancel()`: that destroys the socket, and the sender would see a closed connection (which
    // EMQX retries) instead of the 413. Left unread, the rest is discarded by the server after the answer.
    if (bytes > keep) break;
  }
  return bodyRead(Buffer.concat(chunks), overDeclared ? declared : bytes, !overDeclared && bytes <= maxBytes);
}

/**
 * A body whose Content-Length is within the limit (what EMQX sends): read whole. On @hono/node-server
 * `arrayBuffer()` reads the socket directly, where `body.getReader()` builds a web stream around it
 * (the larger part of the server's own CPU per punch, README "Performance").
 */
async function readDeclared(request: Request, maxBytes: number): Promise<BodyRead> {
  const body = new Uint8Array(await request.arrayBuffer());
  // The limit still holds should a body be longer than its header said.
  return bodyRead(body, body.byteLength, body.byteLength <= maxBytes);
}

/** The text of what was read: all of it when complete, else the first bytes the quarantine keeps. */
function bodyRead(body: Uint8Array, bytes: number, complete: boolean): BodyRead {
  const text = new TextDecoder().decode(complete ? body : body.subarray(0, QUARANTINE_RAW_LIMIT));
  return { text, bytes, complete };
}
