import { request } from "node:http";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createIngestApp } from "../../functions/ingest/app.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { publishBody } from "../support/emqx-bodies.ts";
import { TOKEN } from "../support/ingest-server.ts";
import { createTestResources, type TestResources } from "../support/resources.ts";
import { userReads } from "../support/user-reads.ts";

const MAX_BODY_BYTES = 256 * 1024;
/** The most this test ever writes; a server that reads a body to its end reads all of it. */
const WRITE_CAP = 64 * 1024 * 1024;

let env: TestResources;
let server: Awaited<ReturnType<typeof serveApp>>;

beforeAll(async () => {
  env = await createTestResources();
  const app = createIngestApp(env.deps, {
    tokens: [TOKEN],
    deviceTokenSecrets: [],
    deadlineMs: 8_000,
    maxBodyBytes: MAX_BODY_BYTES,
    logger: new Logger({ serviceName: "test", logLevel: "WARN" }),
  });
  server = await serveApp(app.fetch);
});
afterAll(async () => {
  await server.stop();
  env.destroy();
});

/** Streams a chunked body (no Content-Length) until the server answers or WRITE_CAP is written. */
function postEndlessBody(): Promise<{ status: number; body: string; written: number }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = request(`${server.url}/emqx/rule-events`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    req.on("response", (res) => {
      answered = true;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, written }));
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, "a");
    const pump = () => {
      while (!answered && written < WRITE_CAP) {
        written += chunk.length;
        if (!req.write(chunk)) {
          req.once("drain", pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    req.write('{"pad":"');
    pump();
  });
}

describe("body limit", () => {
  it("answers 413 once the body passes the limit, without reading the rest, and quarantines its start", async () => {
    const answer = await postEndlessBody();
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ field: "body", type: "body_too_large" });
    expect(answer.written).toBeLessThan(WRITE_CAP);
    const day = new Date().toISOString().slice(0, 10);
    const id = JSON.parse(answer.body).quarantineId;
    const kept = (await userReads(env).quarantined(day)).find((entry) => entry.id === id);
    expect(kept).toMatchObject({ status: 413, truncated: true });
    expect(String(kept?.raw).startsWith('{"pad":"aaa')).toBe(true);
  });
});

describe("rejection logs", () => {
  it("keep the rejection's text (Powertools drops a `message` key, so it goes out as `detail`) and the request's ids, as its quarantine entry does", async () => {
    const lines: string[] = [];
    let quarantineId = "";
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    // Powertools writes warnings to stderr, the rest to stdout.
    const spies = [
      vi.spyOn(process.stdout, "write").mockImplementation(capture),
      vi.spyOn(process.stderr, "write").mockImplementation(capture),
    ];
    try {
      const response = await fetch(`${server.url}/emqx/rule-events`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(publishBody("api/mqtt/v1/SN-G1/evt", "not json")),
      });
      expect(response.status).toBe(400);
      quarantineId = ((await response.json()) as { quarantineId: string }).quarantineId;
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const rejected = lines
      .flatMap((line) => line.split("\n"))
      .filter((line) => line.includes("rejected and quarantined"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const ids = {
      transport: "mqtt",
      sn: "SN-G1",
      ruleId: "bridge_attendance",
      emqxId: expect.stringMatching(/^[0-9A-F]{32}$/),
    };
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ field: "payload", detail: "payload is not valid JSON", ...ids });
    const day = new Date().toISOString().slice(0, 10);
    const kept = (await userReads(env).quarantined(day)).find((entry) => entry.id === quarantineId);
    expect(kept).toMatchObject({ status: 400, field: "payload", ...ids, emqxId: rejected[0]?.emqxId });
  });
});

describe("logs of accepted requests", () => {
  /** Posts one new punch to an ingest logging at `logLevel`; returns the "ingested" lines it wrote. */
  async function ingestedLines(logLevel: "DEBUG", sn: string) {
    const app = createIngestApp(env.deps, {
      tokens: [TOKEN],
      deviceTokenSecrets: [],
      deadlineMs: 8_000,
      maxBodyBytes: MAX_BODY_BYTES,
      logger: new Logger({ serviceName: "test", logLevel }),
    });
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const punch = JSON.stringify({ user_id: "1001", att_time: "2026-11-22 08:00:00", att_state: 0 });
      const body = publishBody(`api/mqtt/v1/${sn}/evt`, punch);
      const response = await app.fetch(
        new Request("http://ingest.local/emqx/rule-events", {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
      expect(await response.json()).toMatchObject({ stored: 1 });
      return {
        emqxId: body.id,
        lines: lines.flatMap((line) => line.split("\n")).filter((l) => l.includes('"ingested"')),
      };
    } finally {
      spy.mockRestore();
    }
  }

  it("at DEBUG, one line per request with the ids an operator searches by", async () => {
    const debug = await ingestedLines("DEBUG", "SN-G2");
    expect(debug.lines).toHaveLength(1);
    expect(JSON.parse(debug.lines[0] as string)).toMatchObject({
      transport: "mqtt",
      sn: "SN-G2",
      emqxId: debug.emqxId,
      ruleId: "bridge_attendance",
      stored: 1,
    });
  });
});
