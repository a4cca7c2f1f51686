import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { ACCESS, AUTHN_PATH, AUTHORIZATION_SETTINGS } from "../../emqx-rules/access.ts";
import {
  aclFile,
  aclTerm,
  DEVICE_ACL_CONF,
  DEVICE_ACL_RULES,
  SERIAL_NUMBER_PATTERN,
} from "../../emqx-rules/access-acl.ts";
import {
  DEFINITIONS,
  INGEST_TOKEN_PLACEHOLDER,
  INGEST_URL_PLACEHOLDER,
} from "../../emqx-rules/definitions.ts";
import { allFiles, generatedFiles, RULES_DIR, staleFiles } from "../../emqx-rules/generate.ts";
import { accessSteps, renderedAccess, renderedAccessHocon } from "../../emqx-rules/import-access.ts";
import { SerialNumber } from "../../functions/core/schemas/common.ts";

const values = {
  ingestUrl: "https://abc123.lambda-url.eu-west-1.on.aws/",
  ingestToken: "tok_0123456789abcdef",
};

/**
 * A strict parser for the HOCON subset the generator writes (and a little more): `#` comments,
 * dotted or quoted keys, `=` or an opening brace, quoted and triple-quoted strings, numbers, booleans,
 * arrays and objects separated by newlines or commas. Anything else throws, so a writer bug shows here.
 */
function parseHocon(text: string): Record<string, unknown> {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`HOCON: ${what} at ${text.slice(at, at + 30)}`);
  };
  const skip = (newlines: boolean) => {
    const space = newlines ? /^(\s|#[^\n]*|,)+/ : /^[ \t]+/;
    at += space.exec(text.slice(at))?.[0].length ?? 0;
  };
  const quoted = (): string => {
    if (text.startsWith('"""', at)) {
      const end = text.indexOf('"""', at + 3);
      if (end < 0) fail("unterminated triple quote");
      const body = text.slice(at + 3, end);
      at = end + 3;
      return body;
    }
    const match = /^"(?:[^"\\\n]|\\.)*"/.exec(text.slice(at)) ?? fail("bad string");
    at += match[0].length;
    return JSON.parse(match[0]) as string;
  };
  const key = (): string[] => {
    if (text[at] === '"') return [quoted()];
    const match = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*/.exec(text.slice(at)) ?? fail("bad key");
    at += match[0].length;
    return match[0].split(".");
  };
  const value = (): unknown => {
    if (text[at] === "{") return object("}");
    if (text[at] === "[") return array();
    if (text[at] === '"') return quoted();
    const match = /^(true|false|-?\d+(\.\d+)?)(?=\s|,|\]|\}|$)/.exec(text.slice(at)) ?? fail("bad value");
    at += match[0].length;
    return JSON.parse(match[0]);
  };
  const array = (): unknown[] => {
    at++;
    const items: unknown[] = [];
    for (skip(true); text[at] !== "]"; skip(true)) items.push(value());
    at++;
    return items;
  };
  const object = (close: "}" | ""): Record<string, unknown> => {
    if (close) at++;
    const result: Record<string, unknown> = {};
    for (skip(true); close ? text[at] !== close : at < text.length; skip(true)) {
      const path = key();
      skip(false);
      if (text[at] === "=") at++;
      else if (text[at] !== "{") fail("expected = or {");
      skip(false);
      let target = result;
      for (const part of path.slice(0, -1)) {
        target[part] ??= {};
        target = target[part] as Record<string, unknown>;
      }
      const name = path.at(-1) as string;
      if (name in target) fail(`duplicate key ${name}`);
      target[name] = value();
    }
    if (close) at++;
    return result;
  };
  return object("");
}

describe("generated access files", () => {
  it("are written by generate.ts and in step with access.ts (run npm run emqx:generate if not)", () => {
    for (const [path, text] of Object.entries(allFiles())) {
      expect(readFileSync(join(RULES_DIR, path), "utf8"), path).toBe(text);
    }
    expect(Object.keys(allFiles())).toEqual(
      expect.arrayContaining(["generated/access.hocon", "generated/authentication.json", "acl.conf"]),
    );
    expect(staleFiles()).toEqual([]);
  });

  it("are generated the same way every time", () => {
    expect(allFiles()).toEqual(allFiles());
    expect(JSON.stringify(generatedFiles())).toBe(JSON.stringify(generatedFiles()));
  });

  it("access.hocon parses back to exactly the typed source", () => {
    const parsed = parseHocon(generatedFiles()["access.hocon"] ?? "");
    expect(parsed).toEqual({ authentication: [ACCESS.authenticator], authorization: ACCESS.authorization });
  });

  it("bridge.hocon parses back to the connector, action and rules", () => {
    const parsed = parseHocon(generatedFiles()["bridge.hocon"] ?? "") as Record<
      string,
      Record<string, object>
    >;
    const byName = <T extends { name: string }>(items: T[]) =>
      Object.fromEntries(items.map((item) => [item.name, { ...item, type: undefined, name: undefined }]));
    expect(parsed.connectors?.http).toEqual(byName(DEFINITIONS.connectors));
    expect(JSON.parse(JSON.stringify(parsed.actions?.http))).toEqual(
      JSON.parse(JSON.stringify(byName(DEFINITIONS.actions))),
    );
    const rules = parsed.rule_engine?.rules as Record<string, { sql: string }>;
    for (const rule of DEFINITIONS.rules) expect(rules[rule.id]?.sql.trim()).toBe(rule.sql);
  });

  it("REST bodies are the same objects as the HOCON", () => {
    const files = generatedFiles();
    expect(JSON.parse(files["authentication.json"] ?? "")).toEqual(ACCESS.authenticator);
    expect(JSON.parse(files["authorization-settings.json"] ?? "")).toEqual(AUTHORIZATION_SETTINGS);
    expect(JSON.parse(files["authorization-sources.json"] ?? "")).toEqual(ACCESS.authorization.sources);
  });

  it("hold no secret: the token and URL are placeholders, filled in only when rendered", () => {
    const { authenticator } = ACCESS;
    expect(authenticator.url).toBe(`${INGEST_URL_PLACEHOLDER}${AUTHN_PATH}`);
    expect(authenticator.headers.authorization).toBe(`Bearer ${INGEST_TOKEN_PLACEHOLDER}`);
    const rendered = renderedAccess(values).authenticator;
    expect(rendered.url).toBe("https://abc123.lambda-url.eu-west-1.on.aws/emqx/authn");
    expect(rendered.headers.authorization).toBe(`Bearer ${values.ingestToken}`);
    const hocon = parseHocon(renderedAccessHocon(values)) as { authentication: { url: string }[] };
    expect(hocon.authentication[0]?.url).toBe(rendered.url);
  });
});

describe("authenticator", () => {
  it("posts the login's client id, username, password and peer address as EMQX templates", () => {
    const { authenticator } = ACCESS;
    expect(authenticator).toMatchObject({ mechanism: "password_based", backend: "http", method: "post" });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: these are EMQX's placeholders, literally
    const templates = ["${clientid}", "${username}", "${password}", "${peerhost}"];
    expect(Object.values(authenticator.body)).toEqual(templates);
    expect(authenticator).toMatchObject({ request_timeout: "5s", enable_pipelining: 1 });
    expect(authenticator.pool_size).toBeGreaterThanOrEqual(32);
  });
});

describe("authorization", () => {
  it("denies what the login ACL does not allow, and keeps the client connected", () => {
    expect(ACCESS.authorization).toMatchObject({ no_match: "deny", deny_action: "ignore" });
    expect(ACCESS.authorization.sources).toEqual([{ type: "file", enable: true, rules: "{deny, all}.\n" }]);
  });

  it("keeps the per-client cache shorter than EMQX's 1 minute default", () => {
    const ttl = ACCESS.authorization.cache.ttl;
    expect(ttl.endsWith("s") && Number.parseInt(ttl, 10) <= 30).toBe(true);
  });
});

describe("REST steps", () => {
  it("put the authenticator in front, then authorization, then clear caches", () => {
    const steps = accessSteps(ACCESS).map((step) =>
      step.kind === "upsert" ? `upsert ${step.path}` : `${step.method} ${step.path}`,
    );
    expect(steps).toEqual([
      "upsert /authentication/password_based%3Ahttp",
      "PUT /authentication/password_based%3Ahttp/position/front",
      "PUT /authorization/settings",
      "upsert /authorization/sources/file",
      "POST /authorization/sources/file/move",
      "DELETE /authorization/cache",
      "POST /authentication/node_cache/reset",
      "POST /authorization/node_cache/reset",
    ]);
  });

  it("send all three keys EMQX requires for the settings", () => {
    const settings = accessSteps(ACCESS).find((step) => step.path === "/authorization/settings");
    expect(Object.keys(settings && "body" in settings ? (settings.body ?? {}) : {}).sort()).toEqual([
      "cache",
      "deny_action",
      "no_match",
    ]);
  });
});

describe("acl.conf (no-HTTP alternative)", () => {
  it("confines each serial-number client to its own topics through its username, then denies all", () => {
    const lines = DEVICE_ACL_CONF.split("\n").filter((line) => line && !line.startsWith("%%"));
    const who = `{'and', [{clientid, {re, "${SERIAL_NUMBER_PATTERN}"}}, {username, {re, "${SERIAL_NUMBER_PATTERN}"}}]}`;
    const own = (channel: string) => `"api/mqtt/v1/\${username}/${channel}"`;
    expect(lines).toEqual([
      `{allow, ${who}, publish, [${own("evt")}, ${own("st")}, ${own("ack")}, ${own("shadow/update")}]}.`,
      `{allow, ${who}, subscribe, [${own("cmd")}, ${own("shadow/delta")}]}.`,
      "{deny, all}.",
    ]);
    expect(aclFile(DEVICE_ACL_RULES)).toBe(`${lines.join("\n")}\n`);
  });

  it("lets through exactly the client ids a serial number may be, so + # / cannot widen a topic", () => {
    const pattern = new RegExp(SERIAL_NUMBER_PATTERN);
    const samples = ["SN7001", "a_b-C9", "x".repeat(64), "x".repeat(65), "+", "#", "SN/1", "", "SNé", "a b"];
    for (const sample of samples) expect(pattern.test(sample), sample).toBe(v.is(SerialNumber, sample));
  });

  it("refuses strings Erlang would read differently", () => {
    expect(() => aclTerm({ permission: "allow", who: "all", action: "all", topics: ['a"b'] })).toThrow(
      /printable/,
    );
    expect(() => aclTerm({ permission: "allow", who: "all", action: "all", topics: ["é"] })).toThrow(
      /printable/,
    );
    expect(aclTerm({ permission: "deny", who: "all", action: "subscribe", topics: [{ eq: "#" }] })).toBe(
      '{deny, all, subscribe, [{eq, "#"}]}.',
    );
  });
});
