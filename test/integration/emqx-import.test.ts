import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RULE_IDS } from "../../emqx-rules/definitions.ts";
import { main } from "../../emqx-rules/import.ts";

const KEY = "bridge-key";
const SECRET = "s3cret-api-secret-value";
const TOKEN = "ingest_token_0123456789abcdef";
const INGEST_URL = "https://abc123.lambda-url.eu-west-1.on.aws";
const API_URL = "https://def456.lambda-url.eu-west-1.on.aws";
const REPO = fileURLToPath(new URL("../../", import.meta.url));

interface Recorded {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
}

/** Just enough of EMQX's management API for import.ts: Basic auth, GET/POST/PUT on three collections. */
class FakeEmqx {
  readonly requests: Recorded[] = [];
  /** Request paths as sent, before the `/api/v5` prefix is taken off. */
  readonly rawPaths: string[] = [];
  readonly existing = new Map<string, unknown>();
  /** Answer 401 to everything, as EMQX does for a wrong key. */
  rejectAuth = false;
  /** Answer 400 to writes of this definition id (`http:name` or rule id). */
  badRequestFor: string | undefined;
  readonly #server: Server = createServer((req, res) => void this.#handle(req, res));
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.rawPaths.length = 0;
    this.existing.clear();
    this.rejectAuth = false;
    this.badRequestFor = undefined;
  }

  get writes(): string[] {
    return this.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const chunk of req) text += chunk;
    this.rawPaths.push(req.url ?? "");
    const path = (req.url ?? "").replace(/^\/api\/v5/, "");
    this.requests.push({ method: req.method ?? "", path, body: text ? JSON.parse(text) : undefined });
    const expected = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`;
    if (this.rejectAuth || req.headers.authorization !== expected) {
      return send(res, 401, { code: "BAD_API_KEY_OR_SECRET", message: "Check api_key/api_secret" });
    }
    this.#route(req.method ?? "", path, text ? JSON.parse(text) : {}, res);
  }

  #route(method: string, path: string, body: Record<string, unknown>, res: ServerResponse): void {
    const [, collection, id] = path.split("/");
    const name = id ?? (collection === "rules" ? String(body.id) : `${body.type}:${body.name}`);
    // Connector and action share the name `http:bridge_ingest`, so the collection is part of the key.
    const key = `${collection}/${name}`;
    const [status, answer] = this.#answer(method, path, key, id, name, body);
    send(res, status, answer);
  }

  #answer(
    method: string,
    path: string,
    key: string,
    id: string | undefined,
    name: string,
    body: Record<string, unknown>,
  ): [number, unknown] {
    if (method !== "GET" && name === this.badRequestFor) {
      // Real EMQX messages can quote the submitted config; the CLI must not print the token from it.
      return [400, { code: "BAD_REQUEST", message: `bad sql near ${TOKEN}` }];
    }
    if (method === "GET") return this.existing.has(key) ? [200, {}] : [404, { code: "NOT_FOUND" }];
    if (method === "POST" && !id) {
      this.existing.set(key, body);
      return [201, body];
    }
    if (method === "PUT" && this.existing.has(key)) return [200, body];
    return [404, { code: "NOT_FOUND", message: `${method} ${path}` }];
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

interface Run {
  code: number;
  out: string[];
  err: string[];
}

/** Every run, whatever its outcome, must keep the ingest token and the API secret off the terminal. */
function expectNoSecrets(lines: string[]): void {
  for (const line of lines) {
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(SECRET);
  }
}

/** The secrets come from the environment, as the README says to pass them (never on the command line). */
const SECRETS_ENV = { INGEST_TOKEN: TOKEN, EMQX_API_SECRET: SECRET };

async function run(argv: string[], env: Record<string, string | undefined> = SECRETS_ENV): Promise<Run> {
  const result: Run = { code: -1, out: [], err: [] };
  const io = { out: (l: string) => result.out.push(l), err: (l: string) => result.err.push(l) };
  result.code = await main(argv, io, env);
  expectNoSecrets([...result.out, ...result.err]);
  return result;
}

const emqx = new FakeEmqx();
// --rules-only: this fake knows only the rule collections; emqx-import-access.test.ts covers the rest.
const flags = () => [
  ...["--url", emqx.url, "--key", KEY, "--rules-only", "--ingest-url", INGEST_URL],
  ...["--api-url", API_URL],
];
const created = [
  "created connector http:bridge_ingest",
  "created connector http:bridge_api",
  "created action http:bridge_ingest",
  "created action http:bridge_app_requests",
  ...RULE_IDS.map((id) => `created rule ${id}`),
];

beforeAll(() => emqx.start());
afterAll(() => emqx.stop());
beforeEach(() => emqx.reset());

describe("emqx:import against the management API", () => {
  it("creates connectors, then actions, then rules on an empty broker", async () => {
    const { code, out, err } = await run(flags());
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out).toEqual(created);
    expect(emqx.writes).toEqual([
      ...["POST /connectors", "POST /connectors", "POST /actions", "POST /actions"],
      ...RULE_IDS.map(() => "POST /rules"),
    ]);
    const connector = emqx.requests.find((r) => r.method === "POST" && r.path === "/connectors")?.body;
    expect(connector).toMatchObject({
      type: "http",
      name: "bridge_ingest",
      url: INGEST_URL,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const rules = emqx.requests.filter((r) => r.path === "/rules").map((r) => r.body?.id);
    expect(rules).toEqual([...RULE_IDS]);
    const apiConnector = emqx.requests.filter((r) => r.method === "POST" && r.path === "/connectors")[1];
    expect(apiConnector?.body).toMatchObject({ name: "bridge_api", url: API_URL });
  });

  it("leaves the API over MQTT out without --api-url, and says so", async () => {
    const { code, out } = await run(flags().slice(0, -2));
    expect(code).toBe(0);
    expect(out[0]).toMatch(/no --api-url: the API over MQTT \(rule bridge_app_requests\) is left out/);
    expect(out).not.toContain("created connector http:bridge_api");
    expect(out).not.toContain("created rule bridge_app_requests");
    expect(out).toContain("created connector http:bridge_ingest");
  });

  it("looks each definition up first, in the same order", async () => {
    await run(flags());
    expect(emqx.requests.filter((r) => r.method === "GET").map((r) => r.path)).toEqual([
      "/connectors/http:bridge_ingest",
      "/connectors/http:bridge_api",
      "/actions/http:bridge_ingest",
      "/actions/http:bridge_app_requests",
      ...RULE_IDS.map((id) => `/rules/${id}`),
    ]);
  });

  it("updates with PUT, without identity fields, when the definitions exist", async () => {
    await run(flags());
    emqx.requests.length = 0;
    const { code, out } = await run(flags());
    expect(code).toBe(0);
    expect(out).toEqual(created.map((line) => line.replace("created", "updated")));
    expect(emqx.writes).toEqual([
      "PUT /connectors/http:bridge_ingest",
      "PUT /connectors/http:bridge_api",
      "PUT /actions/http:bridge_ingest",
      "PUT /actions/http:bridge_app_requests",
      ...RULE_IDS.map((id) => `PUT /rules/${id}`),
    ]);
    for (const { body } of emqx.requests.filter((r) => r.method === "PUT")) {
      expect(body).not.toHaveProperty("type");
      expect(body).not.toHaveProperty("name");
      expect(body).not.toHaveProperty("id");
    }
  });

  it("exits 1 with a clear message when EMQX refuses the key (401)", async () => {
    emqx.rejectAuth = true;
    const { code, out, err } = await run(flags());
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([
      "EMQX refused the API key/secret (401 BAD_API_KEY_OR_SECRET): check --key/--secret",
    ]);
  });

  it("names the definition EMQX rejects (400) and stops there", async () => {
    emqx.badRequestFor = "bridge_status";
    const { code, out, err } = await run(flags());
    expect(code).toBe(1);
    // Both connectors, both actions, the first rule; then the refused one stops the import.
    expect(out).toEqual(created.slice(0, 5));
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^EMQX rejected rule bridge_status \(400 BAD_REQUEST\): bad sql near \*\*\*$/);
    expect(emqx.requests.some((r) => r.path.includes("bridge_lifecycle"))).toBe(false);
  });

  it("names the URL when EMQX cannot be reached", async () => {
    const closed = new FakeEmqx();
    await closed.start();
    await closed.stop();
    const argv = flags();
    argv[1] = closed.url;
    const { code, err } = await run(argv);
    expect(code).toBe(1);
    expect(err[0]).toBe(`cannot reach EMQX at ${closed.url}/api/v5: ECONNREFUSED`);
  });

  it("prints the requests on --dry-run without sending any", async () => {
    const { code, out } = await run([...flags(), "--dry-run"]);
    expect(code).toBe(0);
    expect(emqx.requests).toEqual([]);
    expect(out.join("\n")).toContain(`POST ${emqx.url}/api/v5/connectors`);
    expect(out.join("\n")).toContain('"authorization":"Bearer ***"');
    expect(out.join("\n")).toContain(`PUT ${emqx.url}/api/v5/rules/bridge_lifecycle`);
  });
});

describe("emqx:import keeps secrets off the command line", () => {
  it.each([
    ["--token", TOKEN, "INGEST_TOKEN"],
    ["--secret", SECRET, "EMQX_API_SECRET"],
  ])("refuses %s (npm prints a script's arguments) and points to %s", async (flag, value, envName) => {
    const { code, err } = await run([...flags(), flag, value]);
    expect(code).toBe(2);
    expect(err[0]).toContain(`${flag} would show the secret on screen`);
    expect(err[0]).toContain(`set ${envName}, or pass ${flag}-file FILE`);
    expect(emqx.requests).toEqual([]);
  });

  it("reads them from --token-file and --secret-file (one trailing newline dropped)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emqx-secrets-"));
    try {
      writeFileSync(join(dir, "token"), `${TOKEN}\n`, { mode: 0o600 });
      writeFileSync(join(dir, "secret"), `${SECRET}\n`, { mode: 0o600 });
      const files = ["--token-file", join(dir, "token"), "--secret-file", join(dir, "secret")];
      const { code, out } = await run([...flags(), ...files], {});
      expect(code).toBe(0);
      expect(out).toEqual(created);
      const connector = emqx.requests.find((r) => r.method === "POST" && r.path === "/connectors")?.body;
      expect(connector).toMatchObject({ headers: { authorization: `Bearer ${TOKEN}` } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("emqx:import --url takes the listener with or without /api/v5", () => {
  it.each(["", "/", "/api/v5", "/api/v5/"])("'<listener>%s' reaches <listener>/api/v5", async (suffix) => {
    const argv = flags();
    argv[1] = `${emqx.url}${suffix}`;
    const { code } = await run(argv);
    expect(code).toBe(0);
    expect(
      emqx.rawPaths.every((path) => path.startsWith("/api/v5/") && !path.startsWith("/api/v5/api/")),
    ).toBe(true);
  });

  it.each([
    ["https://emqx:18084/api/v4", "EMQX 5's management API is /api/v5, not /api/v4"],
    ["ftp://emqx:18084", "must be http:// or https://"],
    ["https://emqx:18084/?x=1", "must not carry a query"],
    ["emqx:18084", "must be http:// or https://"],
  ])("refuses %s", async (url, message) => {
    const argv = flags();
    argv[1] = url;
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expect(err[0]).toContain(`--url: ${message}`);
  });
});

describe("emqx:import --hocon-out", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "emqx-hocon-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes HOCON with the ingest URL and token substituted, without calling the API", async () => {
    const file = join(dir, "bridge.hocon");
    const { code } = await run(["--ingest-url", INGEST_URL, "--hocon-out", file]);
    expect(code).toBe(0);
    const hocon = readFileSync(file, "utf8");
    expect(hocon).toContain(`url = "${INGEST_URL}"`);
    expect(hocon).toContain(`authorization = "Bearer ${TOKEN}"`);
    expect(hocon).not.toMatch(/\{\{/);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(emqx.requests).toEqual([]);
  });

  it("suggests an output that git ignores, and git ignores HOCON files outside generated/", async () => {
    const { out } = await run(["--help"]);
    expect(out.join("\n")).toContain("--hocon-out .local-data/bridge.hocon");
    const ignored = (path: string) =>
      promisify(execFile)("git", ["check-ignore", "--no-index", "-q", path], { cwd: REPO }).then(
        () => true,
        () => false,
      );
    expect(await ignored(".local-data/bridge.hocon")).toBe(true);
    expect(await ignored("bridge.hocon")).toBe(true);
    expect(await ignored("emqx-rules/generated/bridge.hocon")).toBe(false);
  });
});

describe("emqx:import usage", () => {
  it("exits 2 with usage when required flags are missing", async () => {
    const { code, err } = await run(["--url", emqx.url, "--key", KEY], {});
    expect(code).toBe(2);
    expect(err[0]).toMatch(
      /^missing the API secret \(EMQX_API_SECRET or --secret-file\), --ingest-url, the ingest token \(INGEST_TOKEN or --token-file\)\n\nusage:/,
    );
  });

  it("exits 2 on a token that could break out of the generated strings", async () => {
    const { code, err } = await run(flags(), { ...SECRETS_ENV, INGEST_TOKEN: 'abc"def0123456789' });
    expect(code).toBe(2);
    expect(err[0]).toMatch(/^INGEST_TOKEN: /);
  });

  it("runs as a script and exits 1 on a bad key", async () => {
    emqx.rejectAuth = true;
    const script = promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "emqx-rules/import.ts", ...flags()],
      { cwd: REPO, env: { ...process.env, ...SECRETS_ENV } },
    );
    const failure = await script.then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("EMQX refused the API key/secret (401 BAD_API_KEY_OR_SECRET)");
    expectNoSecrets([failure?.stdout ?? "", failure?.stderr ?? ""]);
  });
});
