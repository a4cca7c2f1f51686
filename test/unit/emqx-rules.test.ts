import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ACTION_ID,
  ACTION_PATH,
  API_ACTION_PATH,
  API_URL_PLACEHOLDER,
  DEFINITIONS,
  INGEST_TOKEN_PLACEHOLDER,
  INGEST_URL_PLACEHOLDER,
  RULE_ID,
  RULE_IDS,
  render,
  ruleSql,
  withoutApiRequests,
} from "../../emqx-rules/definitions.ts";
import { GENERATED_DIR, generatedFiles, staleFiles } from "../../emqx-rules/generate.ts";

const files = generatedFiles();
const hocon = files["bridge.hocon"] ?? "";
const values = {
  ingestUrl: "https://abc123.lambda-url.eu-west-1.on.aws",
  ingestToken: "tok_0123456789abcdef",
  apiUrl: "https://def456.lambda-url.eu-west-1.on.aws/",
};
/** The API over MQTT's rule feeds the API's action; every other rule the ingest's. */
const actionOf = (ruleId: string) =>
  ruleId === RULE_ID.appRequests ? "http:bridge_app_requests" : ACTION_ID;

/** The `name { ... }` block of a HOCON root, found by brace counting. */
function hoconBlock(path: string): string {
  const start = hocon.indexOf(`\n${path} {`);
  expect(start, `${path} in bridge.hocon`).toBeGreaterThanOrEqual(0);
  let depth = 0;
  for (let i = hocon.indexOf("{", start); i < hocon.length; i++) {
    if (hocon[i] === "{") depth++;
    if (hocon[i] === "}" && --depth === 0) return hocon.slice(start, i + 1);
  }
  throw new Error(`unbalanced braces after ${path}`);
}

describe("generated files", () => {
  it("are in step with definitions.ts (run npm run emqx:generate if not)", () => {
    for (const [name, text] of Object.entries(files)) {
      expect(readFileSync(join(GENERATED_DIR, name), "utf8"), name).toBe(text);
    }
    expect(staleFiles()).toEqual([]);
  });

  it("JSON files are the REST bodies, with type/name and id", () => {
    const connectors = JSON.parse(files["connectors.json"] ?? "");
    const actions = JSON.parse(files["actions.json"] ?? "");
    const rules = JSON.parse(files["rules.json"] ?? "");
    expect(connectors).toEqual([
      expect.objectContaining({ type: "http", name: "bridge_ingest" }),
      expect.objectContaining({ type: "http", name: "bridge_api" }),
    ]);
    expect(actions).toEqual([
      expect.objectContaining({ type: "http", name: "bridge_ingest" }),
      expect.objectContaining({ type: "http", name: "bridge_app_requests", connector: "bridge_api" }),
    ]);
    expect(rules.map((rule: { id: string }) => rule.id)).toEqual([...RULE_IDS]);
  });
});

describe("definitions", () => {
  it("have the uplink, presence and command-tracking rules, each SELECT * into the ingest action", () => {
    expect(RULE_ID).toEqual({
      attendance: "bridge_attendance",
      status: "bridge_status",
      lifecycle: "bridge_lifecycle",
      commandDelivered: "bridge_command_delivered",
      commandReply: "bridge_command_reply",
      shadowReport: "bridge_shadow_report",
      appRequests: "bridge_app_requests",
    });
    const sqlById = Object.fromEntries(DEFINITIONS.rules.map((rule) => [rule.id, rule.sql]));
    expect(sqlById).toEqual({
      bridge_attendance: 'SELECT * FROM "api/mqtt/v1/+/evt"',
      bridge_status: 'SELECT * FROM "api/mqtt/v1/+/st"',
      bridge_lifecycle: 'SELECT * FROM "$events/client_connected", "$events/client_disconnected"',
      bridge_command_delivered: `SELECT * FROM "$events/message_acked" WHERE topic =~ 'api/mqtt/v1/+/cmd'`,
      bridge_command_reply: 'SELECT * FROM "api/mqtt/v1/+/ack"',
      bridge_shadow_report: 'SELECT * FROM "api/mqtt/v1/+/shadow/update"',
      bridge_app_requests: 'SELECT * FROM "app/v1/+/requests"',
    });
    for (const rule of DEFINITIONS.rules) expect(rule.actions).toEqual([actionOf(rule.id)]);
  });

  it("post to the ingest path with no body template", () => {
    const [action] = DEFINITIONS.actions;
    expect(action?.parameters).toEqual({
      method: "post",
      path: ACTION_PATH,
      headers: { "content-type": "application/json" },
    });
    expect(action?.parameters).not.toHaveProperty("body");
  });

  it("keep request_ttl above health_check_interval (EMQX issue #18948)", () => {
    const opts = DEFINITIONS.actions[0]?.resource_opts;
    const seconds = (d: string) =>
      Number.parseFloat(d) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[d.replace(/[\d.]/g, "")] ?? Number.NaN);
    expect(seconds(opts?.request_ttl ?? "")).toBeGreaterThan(seconds(opts?.health_check_interval ?? ""));
  });

  it("use names EMQX accepts", () => {
    const names = [
      ...DEFINITIONS.connectors.map((c) => c.name),
      ...DEFINITIONS.actions.map((a) => a.name),
      ...DEFINITIONS.rules.map((r) => r.id),
    ];
    for (const name of names) {
      expect(name).toMatch(/^[0-9a-zA-Z][-0-9a-zA-Z_]*$/);
      expect(name.length).toBeLessThan(255);
    }
  });

  it("build a WHERE clause for filtered rules", () => {
    expect(ruleSql({ from: ["$events/message_acked"], where: "topic =~ 'api/mqtt/v1/+/cmd'" })).toBe(
      `SELECT * FROM "$events/message_acked" WHERE topic =~ 'api/mqtt/v1/+/cmd'`,
    );
  });
});

describe("bridge.hocon", () => {
  it("has the connector and action roots", () => {
    expect(hoconBlock("connectors.http.bridge_ingest")).toContain(`url = "${INGEST_URL_PLACEHOLDER}"`);
    expect(hoconBlock("actions.http.bridge_ingest")).toContain(`path = "${ACTION_PATH}"`);
  });

  it("contains every rule with its SQL in triple quotes", () => {
    for (const rule of DEFINITIONS.rules) {
      const block = hoconBlock(`rule_engine.rules.${rule.id}`);
      expect(block).toContain(`sql = """${rule.sql}\n"""`);
      expect(block).toContain(`actions = ["${actionOf(rule.id)}"]`);
    }
  });

  it("quotes every string value, so no template or placeholder is read as a substitution", () => {
    const assignments = hocon.split("\n").filter((line) => / = /.test(line) && !line.startsWith("#"));
    expect(assignments.length).toBeGreaterThan(20);
    for (const line of assignments) {
      const value = line.slice(line.indexOf(" = ") + 3);
      expect(value, line).toMatch(/^(".*"|"""|\d+|true|false|\[(".*"(, )?)*\])/);
    }
    for (const line of hocon.split("\n").filter((l) => /\$\{|\{\{/.test(l) && !l.startsWith("#"))) {
      expect(line, line).toMatch(/^\s*(\S+ = "[^"]*(\$\{|\{\{)[^"]*"|sql = """)/);
    }
  });

  it("has balanced braces", () => {
    const opened = hocon.match(/\{(?!\{)/g)?.length ?? 0;
    const closed = hocon.match(/(?<!\})\}/g)?.length ?? 0;
    expect(opened - (hocon.match(/\{\{/g)?.length ?? 0)).toBe(closed - (hocon.match(/\}\}/g)?.length ?? 0));
  });
});

describe("render", () => {
  it("replaces every placeholder in every generated file and leaves none", () => {
    for (const [name, text] of Object.entries(files)) {
      const rendered = render(text, values);
      expect(rendered, name).not.toMatch(/\{\{|\}\}/);
      if (name.endsWith(".json")) JSON.parse(rendered);
    }
    const [connector, apiConnector] = JSON.parse(render(files["connectors.json"] ?? "", values));
    expect(connector.url).toBe(values.ingestUrl);
    expect(connector.headers.authorization).toBe(`Bearer ${values.ingestToken}`);
    // The API gets EMQX's token too, never an app's key; its URL loses the trailing slash.
    expect(apiConnector.url).toBe(values.apiUrl.replace(/\/$/, ""));
    expect(apiConnector.headers.authorization).toBe(`Bearer ${values.ingestToken}`);
    expect(render(hocon, values)).toContain(`authorization = "Bearer ${values.ingestToken}"`);
  });

  it("refuses values that would break out of a JSON or HOCON string, without echoing them", () => {
    const bad = [
      { ...values, ingestToken: 'x"y' },
      // A HOCON substitution, literally: it must be refused, not expanded.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the test is about exactly this text
      { ...values, ingestToken: "${secret}" },
      { ...values, ingestUrl: "ftp://example.com" },
      { ...values, ingestUrl: "https://user:pw@example.com" },
      { ...values, ingestUrl: 'https://example.com/"' },
    ];
    for (const v of bad) {
      expect(() => render(INGEST_TOKEN_PLACEHOLDER, v)).toThrow(/ingest (URL|token)/);
    }
    try {
      render("", { ...values, ingestToken: "leaky token" });
    } catch (error) {
      expect(String(error)).not.toContain("leaky");
    }
  });

  it("without an API URL, refuses the API connector and leaves the API over MQTT out", () => {
    const { apiUrl: _, ...ingestOnly } = values;
    expect(() => render(API_URL_PLACEHOLDER, ingestOnly)).toThrow(/--api-url/);
    const rest = withoutApiRequests(DEFINITIONS);
    expect(rest.connectors.map((c) => c.name)).toEqual(["bridge_ingest"]);
    expect(rest.actions.map((a) => a.name)).toEqual(["bridge_ingest"]);
    expect(rest.rules.map((r) => r.id)).not.toContain(RULE_ID.appRequests);
    expect(rest.rules).toHaveLength(DEFINITIONS.rules.length - 1);
    expect(() => render(JSON.stringify(rest), ingestOnly)).not.toThrow();
  });

  it("post app requests to the API path with a TTL an app would still wait for", () => {
    const action = DEFINITIONS.actions.find((a) => a.name === "bridge_app_requests");
    expect(action?.parameters.path).toBe(API_ACTION_PATH);
    expect(action?.resource_opts.request_ttl).toBe("1m");
  });

  it("refuses unknown placeholders instead of leaving them in", () => {
    expect(() => render("{{INGEST_REGION}}", values)).toThrow(/unknown placeholder/);
  });
});
