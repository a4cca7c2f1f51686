import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/**
 * The files the live page serves besides itself, by their name next to the API's Lambda bundle, each with
 * where it is in this repository: infra copies them next to `index.mjs` when bundling (BridgeFunction's
 * `bundledFiles`), so the page needs nothing from the internet.
 */
export const LIVE_ASSETS = {
  /** The page's own script. */
  "live-client.js": () => fileURLToPath(new URL("./live-client.js", import.meta.url)),
  /** MQTT.js's browser build: one self-contained ES module (the package exports `dist/*` as `dist/*.js`). */
  "mqtt.esm.js": () => createRequire(import.meta.url).resolve("mqtt/dist/mqtt.esm"),
} as const;

export type LiveAsset = keyof typeof LIVE_ASSETS;

/** `name → path` of every asset, for the bundler. */
export function liveAssetSources(): Record<LiveAsset, string> {
  return {
    "live-client.js": LIVE_ASSETS["live-client.js"](),
    "mqtt.esm.js": LIVE_ASSETS["mqtt.esm.js"](),
  };
}

const texts = new Map<LiveAsset, string>();

/**
 * An asset's text, read once per process: next to this module when it is the Lambda bundle (where infra
 * copied it), from its place in the repository everywhere else (`npm start`, tests).
 */
export function liveAsset(name: LiveAsset): string {
  let text = texts.get(name);
  if (text === undefined) {
    const bundled = fileURLToPath(new URL(`./${name}`, import.meta.url));
    text = readFileSync(existsSync(bundled) ? bundled : LIVE_ASSETS[name](), "utf8");
    texts.set(name, text);
  }
  return text;
}

const gzipped = new Map<LiveAsset, Uint8Array<ArrayBuffer>>();

/** The asset gzipped, once per process (MQTT.js: 340 KB → about 105 KB over the wire). */
export function liveAssetGzipped(name: LiveAsset): Uint8Array<ArrayBuffer> {
  let bytes = gzipped.get(name);
  if (bytes === undefined) {
    bytes = new Uint8Array(gzipSync(liveAsset(name), { level: 9 }));
    gzipped.set(name, bytes);
  }
  return bytes;
}
