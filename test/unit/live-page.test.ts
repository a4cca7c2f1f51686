/**
 * The live page's routes without a browser (test/e2e/live-page.test.ts drives it in Chromium): the CSP
 * names exactly one broker, a broker URL that could widen the CSP is refused, the scripts are served.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { liveRoutes } from "../../functions/api/live-page.ts";

const CONFIGURED = "ws://127.0.0.1:8083/mqtt";
const app = liveRoutes({ brokerWsUrl: CONFIGURED });
const connectSrc = (response: Response) =>
  /connect-src ([^;]*)/.exec(response.headers.get("content-security-policy") ?? "")?.[1];

describe("GET /v1/live", () => {
  it("connects only to the configured broker, named in the page and its CSP, and warns of nothing", async () => {
    const response = await app.request("/");
    expect(response.status).toBe(200);
    expect(connectSrc(response)).toBe(`'self' ${CONFIGURED}`);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain(`value="${CONFIGURED}"`);
    expect(html).toMatch(/id="broker-warning"[^>]* hidden>/);
    expect(html).not.toMatch(/<script>|<script type="module">/); // no inline script: CSP would block it
  });

  it("lets the operator choose another broker, which then is the only one in the CSP, with a warning", async () => {
    const response = await app.request(`/?broker=${encodeURIComponent("wss://emqx.example.com:8084/mqtt")}`);
    expect(response.status).toBe(200);
    expect(connectSrc(response)).toBe("'self' wss://emqx.example.com:8084/mqtt");
    const html = await response.text();
    expect(html).toMatch(/id="broker-warning"[^>]*role="alert">This is not the broker/);
  });

  it.each([
    "https://emqx.example.com/mqtt",
    "javascript:alert(1)",
    "wss://user:secret@emqx.example.com/mqtt",
    "wss://emqx.example.com/mqtt?x=1",
    "wss://emqx.example.com/a;script-src", // would end the CSP directive
    "wss://emqx.example.com/a,b",
    "not a url",
  ])("refuses the broker %s (400), so the CSP cannot be widened through the query", async (broker) => {
    const response = await app.request(`/?broker=${encodeURIComponent(broker)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-security-policy")).toBeNull();
  });
});

describe("the scripts", () => {
  it("serves MQTT.js's browser build from node_modules and the page's script, as JavaScript", async () => {
    const mqtt = await app.request("/mqtt.js");
    expect(mqtt.headers.get("content-type")).toMatch(/^text\/javascript/);
    const built = createRequire(import.meta.url).resolve("mqtt/dist/mqtt.esm");
    expect(await mqtt.text()).toBe(readFileSync(built, "utf8"));
    const client = await app.request("/live-client.js");
    expect(client.status).toBe(200);
    expect(await client.text()).toContain('import mqtt from "/v1/live/mqtt.js"');
  });

  it("gzips them for a browser that accepts it", async () => {
    const plain = await (await app.request("/mqtt.js")).text();
    const response = await app.request("/mqtt.js", { headers: { "accept-encoding": "gzip, deflate, br" } });
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(response.headers.get("vary")).toBe("accept-encoding");
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.length).toBeLessThan(plain.length / 3);
    expect(gunzipSync(bytes).toString("utf8")).toBe(plain);
  });
});
