import { createHash } from "node:crypto";
import { type Context, Hono } from "hono";
import { APP_ROOT, FEED_ROOT } from "../core/broker-access/acl.ts";
import { type LiveAsset, liveAsset, liveAssetGzipped } from "./live/assets.ts";
import { LIVE_STYLE, livePageHtml } from "./live/html.ts";

export const LIVE_PATH = "/v1/live";
/** Punches kept on the page: enough to watch a fleet, bounded so a busy one cannot grow the tab forever. */
export const LIVE_MAX_PUNCHES = 100;

export interface LivePageOptions {
  /** The broker's MQTT-over-WebSocket URL (`LIVE_BROKER_WS_URL`), e.g. `wss://emqx.example.com:8084/mqtt`. */
  brokerWsUrl?: string | undefined;
}

const STYLE_HASH = `'sha256-${createHash("sha256").update(LIVE_STYLE).digest("base64")}'`;

/**
 * The live fleet page (`GET /v1/live`) and the two scripts it loads: its own and MQTT.js's browser build,
 * both served from here. No API key is needed to load it: the operator pastes an app key, which the page
 * sends only to the broker. `?broker=wss://…` points it at another broker than the configured one (the
 * page warns); the Content-Security-Policy allows scripts from this API only and connections to that one
 * broker only, so nothing on the page can send the key anywhere else.
 */
export function liveRoutes(options: LivePageOptions) {
  const configured = brokerSource(options.brokerWsUrl) ?? null;
  const app = new Hono();
  app.get("/", (c) => {
    const asked = c.req.query("broker");
    const broker = asked === undefined ? configured : (brokerSource(asked) ?? null);
    if (asked !== undefined && broker === null) {
      return c.text("broker must be a ws:// or wss:// URL without credentials, query or fragment", 400);
    }
    const config = {
      brokerWsUrl: broker,
      configuredBrokerWsUrl: configured,
      feedTopics: `${FEED_ROOT}/+/+`,
      appRoot: APP_ROOT,
      maxPunches: LIVE_MAX_PUNCHES,
    };
    c.header("content-security-policy", contentSecurityPolicy(broker));
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    c.header("x-content-type-options", "nosniff");
    return c.html(livePageHtml(config, `${LIVE_PATH}/live-client.js`));
  });
  app.get("/live-client.js", (c) => script(c, "live-client.js"));
  app.get("/mqtt.js", (c) => script(c, "mqtt.esm.js"));
  return app;
}

/**
 * Scripts from this origin only, the page's one style by its hash, connections to this origin and the
 * broker only (CSP matches a source with a path exactly), workers from blobs the page's scripts made,
 * no plugins, frames, forms posting elsewhere.
 */
function contentSecurityPolicy(broker: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${STYLE_HASH}`,
    `connect-src 'self'${broker ? ` ${broker}` : ""}`,
    // MQTT.js runs its keepalive timer in a worker made from a blob, so pings stay on time in background tabs.
    "worker-src blob:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * A broker URL fit for the page and its CSP: ws:// or wss://, no user, query or fragment, a plain path (a
 * `;` or `,` would end the CSP directive or source early). Undefined when it is not.
 */
export function brokerSource(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  if (!/^[A-Za-z0-9/._~%-]*$/.test(url.pathname)) return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** A script, gzipped when the browser takes it (on Lambda the adapter then answers in base64). */
function script(c: Context, name: LiveAsset) {
  c.header("content-type", "text/javascript; charset=utf-8");
  c.header("cache-control", "public, max-age=300");
  c.header("x-content-type-options", "nosniff");
  c.header("vary", "accept-encoding");
  if (!/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) return c.body(liveAsset(name));
  c.header("content-encoding", "gzip");
  return c.body(liveAssetGzipped(name));
}
