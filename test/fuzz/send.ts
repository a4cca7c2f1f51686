import { Agent, request } from "node:http";

export interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Stream this many bytes as the body instead (never held in memory on this side). */
  streamBytes?: number;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const CHUNK = Buffer.alloc(64 * 1024, "x");
/** The start of every streamed body: the size limit must refuse it, not the JSON parser. */
export const STREAM_PREFIX = '{"payload":"';

/**
 * Sends one request over a real socket and reads the whole answer. A streamed body stops being written
 * as soon as an answer arrives, as a client would when the server answers 413 early.
 */
export async function send(sent: Sent, timeoutMs = 60_000): Promise<Answer> {
  try {
    return await sendOnce(sent, timeoutMs);
  } catch (error) {
    // A kept-alive socket the server closed just as it was reused: the request never reached the server.
    if (!(error instanceof StaleSocketError)) throw error;
    return sendOnce(sent, timeoutMs);
  }
}

class StaleSocketError extends Error {}

function sendOnce(sent: Sent, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(sent.url, { method: sent.method, headers: sent.headers, agent, timeout: timeoutMs });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString(),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error: NodeJS.ErrnoException) => {
      const stale =
        req.reusedSocket && !answered && error.code === "ECONNRESET" && sent.streamBytes === undefined;
      reject(stale ? new StaleSocketError(error.message) : error);
    });
    if (sent.streamBytes === undefined) return void req.end(sent.body);
    void stream(req, sent.streamBytes, () => answered);
  });
}

async function stream(
  req: ReturnType<typeof request>,
  bytes: number,
  answered: () => boolean,
): Promise<void> {
  req.write(STREAM_PREFIX);
  for (
    let left = bytes - STREAM_PREFIX.length;
    left > 0 && !answered() && !req.destroyed;
    left -= CHUNK.length
  ) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    if (!req.write(chunk)) await drained(req);
  }
  if (!req.destroyed) req.end();
}

/** Waits until the socket takes more, or is gone (the server answered and closed). */
function drained(req: ReturnType<typeof request>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off("drain", done);
      req.off("close", done);
      resolve();
    };
    req.on("drain", done);
    req.on("close", done);
  });
}

export function closeAgent(): void {
  agent.destroy();
}
