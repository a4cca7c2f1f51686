import { Agent, request } from "node:http";
import { connect } from "node:net";

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

/** Sends one request over a real socket and reads the whole answer. */
export async function send(sent: Sent, timeoutMs = 60_000): Promise<Answer> {
  if (sent.streamBytes !== undefined) return sendStreamed(sent, sent.streamBytes, timeoutMs);
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
      const stale = req.reusedSocket && !answered && (error.code === "ECONNRESET" || error.code === "EPIPE");
      reject(stale ? new StaleSocketError(error.message) : error);
    });
    req.end(sent.body);
  });
}

/**
 * A chunked body of `bytes`, written on a raw socket while the answer is read. Writing stops as soon as
 * the answer starts, and a write the server refuses after answering (EPIPE, reset) is not an error: a
 * server may answer 413 early and close. No answer at all before the socket closes is an error.
 */
function sendStreamed(sent: Sent, bytes: number, timeoutMs: number): Promise<Answer> {
  const url = new URL(sent.url);
  const socket = connect(Number(url.port), url.hostname);
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => undefined);
  socket.setTimeout(timeoutMs, () => socket.destroy());
  const head = [
    `${sent.method} ${url.pathname}${url.search} HTTP/1.1`,
    `host: ${url.host}`,
    ...Object.entries(sent.headers).map(([name, value]) => `${name}: ${value}`),
    "transfer-encoding: chunked",
    "connection: close",
  ];
  socket.write(`${head.join("\r\n")}\r\n\r\n`);
  void writeChunks(socket, bytes, () => received.length > 0);
  return new Promise((resolve, reject) => {
    socket.on("close", () => {
      const answer = parseAnswer(Buffer.concat(received));
      if (answer) resolve(answer);
      else
        reject(new Error(`the server closed the connection without an answer (${received.length} chunks)`));
    });
  });
}

async function writeChunks(socket: ReturnType<typeof connect>, bytes: number, answered: () => boolean) {
  // One write per chunk, framing included: a write refused for backpressure must not drop the rest.
  const chunk = (data: Buffer | string) =>
    socket.write(
      Buffer.concat([
        Buffer.from(`${Buffer.byteLength(data).toString(16)}\r\n`),
        Buffer.from(data),
        Buffer.from("\r\n"),
      ]),
    );
  chunk(STREAM_PREFIX);
  for (
    let left = bytes - STREAM_PREFIX.length;
    left > 0 && !answered() && !socket.destroyed;
    left -= CHUNK.length
  ) {
    if (!chunk(left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left))) await drained(socket);
  }
  if (!socket.destroyed && !answered()) socket.write("0\r\n\r\n");
}

/** Waits until the socket takes more, or is gone (the server answered and closed). */
function drained(socket: ReturnType<typeof connect>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

/** Status, headers and body of a raw HTTP/1.1 answer (Content-Length, chunked, or to the close). */
function parseAnswer(raw: Buffer): Answer | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = raw.subarray(end + 4);
  const text = headers["transfer-encoding"] === "chunked" ? unchunk(body) : body.toString();
  return { status, headers, text };
}

function unchunk(body: Buffer): string {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const lineEnd = body.indexOf("\r\n", at);
    const size = Number.parseInt(body.subarray(at, lineEnd).toString(), 16);
    if (!(size > 0)) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString();
}

export function closeAgent(): void {
  agent.destroy();
}
