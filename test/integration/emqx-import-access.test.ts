import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ACCESS } from "../../emqx-rules/access.ts";
import { EmqxClient } from "../../emqx-rules/emqx-api.ts";
import { main } from "../../emqx-rules/import.ts";
import { importAccess, renderedAccess } from "../../emqx-rules/import-access.ts";

const KEY = "bridge-key";
const SECRET = "s3cret-api-secret-value";
const TOKEN = "ingest_token_0123456789abcdef";
const INGEST_URL = "https://abc123.lambda-url.eu-west-1.on.aws";
const ENV = { EMQX_API_SECRET: SECRET, INGEST_TOKEN: TOKEN };

type Json = Record<string, unknown>;
type Answer = [number, unknown?];

const ALLOW_ALL_FILE = { type: "file", enable: true, rules: "{allow, all}.\n" };

/**
 * EMQX's authentication and authorization API as the reference describes it (docs/emqx.md §9-§11):
 * POST /authentication appends, POST /authorization/sources prepends, PUT updates in place, `front`
 * moves, settings need all three keys, node caches exist from 5.9. Rule collections just accept.
 */
class FakeEmqx {
  readonly writes: string[] = [];
  chain: Json[] = [];
  sources: Json[] = [ALLOW_ALL_FILE];
  settings: Json = {
    no_match: "allow",
    deny_action: "ignore",
    cache: { enable: true, max_size: 32, ttl: "1m" },
  };
  cacheClears = 0;
  /** EMQX >= 5.9 has the node cache endpoints; 5.8 answers 404. */
  hasNodeCache = false;
  /** `METHOD path` answered 400 with a message quoting the token, as EMQX may echo config. */
  rejects: string | undefined;
  readonly #server: Server = createServer((req, res) => void this.#handle(req, res));
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  get chainIds(): string[] {
    return this.chain.map((a) => `${a.mechanism}:${a.backend}`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const chunk of req) text += chunk;
    const method = req.method ?? "";
    const path = (req.url ?? "").replace(/^\/api\/v5/, "");
    if (method !== "GET") this.writes.push(`${method} ${path}`);
    const [status, body] = this.#answer(method, path, text ? (JSON.parse(text) as Json) : {}, req);
    res
      .writeHead(status, { "content-type": "application/json" })
      .end(body === undefined ? "" : JSON.stringify(body));
  }

  #answer(method: string, path: string, body: Json, req: IncomingMessage): Answer {
    if (req.headers.authorization !== `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`) {
      return [401, { code: "BAD_API_KEY_OR_SECRET", message: "Check api_key/api_secret" }];
    }
    if (this.rejects === `${method} ${path}`) return [400, { code: "BAD_REQUEST", message: `bad ${TOKEN}` }];
    const [, root, ...rest] = path.split("/");
    if (root === "authentication") return this.#authentication(method, rest, body);
    if (root === "authorization") return this.#authorization(method, rest, body);
    if (["connectors", "actions", "rules"].includes(root ?? ""))
      return method === "GET" ? [404] : [201, body];
    return [404, { code: "NOT_FOUND" }];
  }

  #authentication(method: string, [id, ...rest]: string[], body: Json): Answer {
    const index = this.chainIds.indexOf(decodeURIComponent(id ?? ""));
    const route = `${method} ${id ? (rest.length ? `id/${rest.join("/")}` : "id") : ""}`;
    if (route === "POST ") {
      if (this.chainIds.includes(`${body.mechanism}:${body.backend}`))
        return [400, { code: "ALREADY_EXISTS" }];
      this.chain.push(body);
      return [200, body];
    }
    if (route === "POST id/reset" && id === "node_cache") return this.hasNodeCache ? [204] : [404];
    if (index < 0) return [404, { code: "NOT_FOUND" }];
    if (route === "GET id") return [200, this.chain[index]];
    if (route === "PUT id") {
      this.chain[index] = body;
      return [200, body];
    }
    if (route === "PUT id/position/front") {
      this.chain.unshift(...this.chain.splice(index, 1));
      return [204];
    }
    return [404, { code: "NOT_FOUND" }];
  }

  #authorization(method: string, [section, type, action]: string[], body: Json): Answer {
    if (section === "settings" && method === "PUT") {
      const missing = ["no_match", "deny_action", "cache"].filter((key) => !(key in body));
      if (missing.length > 0) return [400, { code: "BAD_REQUEST", message: `missing ${missing}` }];
      this.settings = body;
      return [200, body];
    }
    if (section === "cache" && method === "DELETE") {
      this.cacheClears++;
      return [204];
    }
    if (section === "node_cache" && type === "reset") return this.hasNodeCache ? [204] : [404];
    if (section === "sources") return this.#sources(method, type, action, body);
    return [404, { code: "NOT_FOUND" }];
  }

  #sources(method: string, type: string | undefined, action: string | undefined, body: Json): Answer {
    const index = this.sources.findIndex((source) => source.type === type);
    if (method === "POST" && !type) {
      if (this.sources.some((source) => source.type === body.type)) return [400, { code: "BAD_REQUEST" }];
      this.sources.unshift(body);
      return [204];
    }
    if (index < 0) return [404, { code: "NOT_FOUND" }];
    if (method === "GET" && !action) return [200, this.sources[index]];
    if (method === "PUT" && !action) {
      if (body.type !== type) return [400, { code: "BAD_REQUEST", message: "Type mismatch" }];
      this.sources[index] = body;
      return [204];
    }
    if (method === "POST" && action === "move" && body.position === "front") {
      this.sources.unshift(...this.sources.splice(index, 1));
      return [204];
    }
    return [404, { code: "NOT_FOUND" }];
  }
}

const emqx = new FakeEmqx();
const client = () => new EmqxClient({ url: emqx.url, key: KEY, secret: SECRET });
const access = renderedAccess({ ingestUrl: INGEST_URL, ingestToken: TOKEN });

async function runImportAccess(): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await importAccess(client(), access, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

function expectNoSecrets(lines: string[]): void {
  for (const line of lines) {
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(SECRET);
  }
}

async function runCli(extra: string[] = []): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const argv = ["--url", emqx.url, "--key", KEY, "--ingest-url", INGEST_URL, ...extra];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, ENV);
  expectNoSecrets([...out, ...err]);
  return { code, out, err };
}

/** Index of the first and last write whose path starts with `prefix`. */
function span(prefix: string): [number, number] {
  const hits = emqx.writes.flatMap((write, i) => (write.split(" ")[1]?.startsWith(prefix) ? [i] : []));
  return [hits[0] ?? -1, hits.at(-1) ?? -1];
}

beforeAll(() => emqx.start());
afterAll(() => emqx.stop());
beforeEach(() => {
  emqx.writes.length = 0;
  emqx.chain = [];
  emqx.sources = [ALLOW_ALL_FILE];
  emqx.settings = {
    no_match: "allow",
    deny_action: "ignore",
    cache: { enable: true, max_size: 32, ttl: "1m" },
  };
  emqx.cacheClears = 0;
  emqx.hasNodeCache = false;
  emqx.rejects = undefined;
});

describe("emqx:import of authentication and authorization", () => {
  it("on a default 5.8 broker: the bridge authenticates, the deny-all file source backs its ACLs", async () => {
    const { code, out, err } = await runImportAccess();
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(emqx.chain).toEqual([access.authenticator]);
    expect(emqx.chain[0]).toMatchObject({
      url: `${INGEST_URL}/emqx/authn`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(emqx.sources).toEqual([{ type: "file", enable: true, rules: "{deny, all}.\n" }]);
    expect(emqx.settings).toEqual({
      no_match: "deny",
      deny_action: "ignore",
      cache: ACCESS.authorization.cache,
    });
    expect(emqx.cacheClears).toBe(1);
    expect(out).toEqual([
      "created authenticator password_based:http",
      "moved authenticator password_based:http to the front of the chain",
      "set authorization no_match=deny deny_action=ignore cache ttl=10s",
      "updated authorization source file",
      "moved authorization source file to the front",
      "cleared the authorization cache of every client",
      "skipped authentication node cache: EMQX 5.9+ only",
      "skipped authorization node cache: EMQX 5.9+ only",
    ]);
  });

  it("applies every authentication write before any authorization write", async () => {
    await runImportAccess();
    const [, lastAuthn] = span("/authentication/password_based");
    const [firstAuthz] = span("/authorization");
    expect(lastAuthn).toBeGreaterThanOrEqual(0);
    expect(firstAuthz).toBeGreaterThan(lastAuthn);
    expect(emqx.writes.slice(0, 2)).toEqual([
      "POST /authentication",
      "PUT /authentication/password_based%3Ahttp/position/front",
    ]);
  });

  it("puts the bridge ahead of existing authenticators and sources, and updates in place when run again", async () => {
    emqx.chain = [{ mechanism: "password_based", backend: "built_in_database" }];
    emqx.sources = [{ type: "http", enable: true }, ALLOW_ALL_FILE];
    expect((await runImportAccess()).code).toBe(0);
    expect(emqx.chainIds).toEqual(["password_based:http", "password_based:built_in_database"]);
    expect(emqx.sources.map((source) => source.type)).toEqual(["file", "http"]);
    emqx.writes.length = 0;
    const again = await runImportAccess();
    expect(again.code).toBe(0);
    expect(again.out[0]).toBe("updated authenticator password_based:http");
    expect(emqx.writes).not.toContain("POST /authentication");
    expect(emqx.chainIds).toEqual(["password_based:http", "password_based:built_in_database"]);
  });

  it("creates the file source when the broker has none", async () => {
    emqx.sources = [];
    const { code, out } = await runImportAccess();
    expect(code).toBe(0);
    expect(out).toContain("created authorization source file");
    expect(emqx.sources).toEqual(access.authorization.sources);
  });

  it("leaves authorization untouched when EMQX rejects the authenticator", async () => {
    emqx.rejects = "POST /authentication";
    const { code, out, err } = await runImportAccess();
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([`EMQX rejected authenticator password_based:http (400 BAD_REQUEST): bad ${TOKEN}`]);
    expect(span("/authorization")).toEqual([-1, -1]);
    expect(emqx.sources).toEqual([ALLOW_ALL_FILE]);
  });

  it("resets the node caches on EMQX 5.9+", async () => {
    emqx.hasNodeCache = true;
    const { code, out } = await runImportAccess();
    expect(code).toBe(0);
    expect(out.slice(-2)).toEqual([
      "reset the authentication node cache",
      "reset the authorization node cache",
    ]);
  });
});

describe("npm run emqx:import", () => {
  it("imports the rules, then authentication, then authorization", async () => {
    const { code, err } = await runCli();
    expect({ code, err }).toEqual({ code: 0, err: [] });
    const [, lastRule] = span("/rules");
    const [firstAuthn] = span("/authentication");
    const [, lastAuthn] = span("/authentication/password_based");
    const [firstAuthz] = span("/authorization");
    expect(lastRule).toBeLessThan(firstAuthn);
    expect(lastAuthn).toBeLessThan(firstAuthz);
    expect(emqx.chain).toEqual([access.authenticator]);
    expect(emqx.sources).toEqual(access.authorization.sources);
  });

  it("with --rules-only leaves authentication and authorization alone", async () => {
    const { code } = await runCli(["--rules-only"]);
    expect(code).toBe(0);
    expect(emqx.writes.some((write) => /\/auth(entication|orization)/.test(write))).toBe(false);
  });

  it("prints the access requests on --dry-run, token redacted, without sending any", async () => {
    const { code, out } = await runCli(["--dry-run"]);
    expect(code).toBe(0);
    expect(emqx.writes).toEqual([]);
    const text = out.join("\n");
    expect(text).toContain(`404 -> POST ${emqx.url}/api/v5/authentication {`);
    expect(text).toContain('"authorization":"Bearer ***"');
    expect(text).toContain(`PUT ${emqx.url}/api/v5/authorization/settings {"no_match":"deny"`);
  });
});
