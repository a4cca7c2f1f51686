/** Placeholders left in the generated files; `render` fills them in at import time. */
export const INGEST_URL_PLACEHOLDER = "{{INGEST_URL}}";
export const INGEST_TOKEN_PLACEHOLDER = "{{INGEST_TOKEN}}";
/** The API function's base URL: the API over MQTT's connector (`bridge_api`) posts there. */
export const API_URL_PLACEHOLDER = "{{API_URL}}";

/** Values substituted for the placeholders. */
export interface RenderValues {
  /** Base URL of the ingest front door, e.g. `https://abc.lambda-url.eu-west-1.on.aws`. */
  ingestUrl: string;
  /** Shared bearer token the ingest handler checks. */
  ingestToken: string;
  /**
   * Base URL of the API front door, for the API over MQTT. Unset: text holding `{{API_URL}}` cannot be
   * rendered; `npm run emqx:import` then leaves the API over MQTT out (`withoutApiRequests`).
   */
  apiUrl?: string | undefined;
}

// The values are pasted into JSON and HOCON strings unescaped, so anything that could end a string
// (`"`, `\`), start an EMQX template or HOCON substitution (`$`, `{`, `}`) or break a line is refused
// rather than escaped: a URL or token that needs escaping is a mistake anyway.
const UNSAFE = /["\\${}\s]/;
// RFC 6750 b64token: what a Bearer credential may contain.
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Throws when `ingestUrl` is not an http(s) URL that EMQX's connector accepts. */
export function assertIngestUrl(ingestUrl: string, what = "ingest URL"): void {
  const url = URL.canParse(ingestUrl) ? new URL(ingestUrl) : undefined;
  if (!url || !["http:", "https:"].includes(url.protocol)) {
    throw new Error(`${what} must be an absolute http:// or https:// URL`);
  }
  // EMQX's URL parser rejects userinfo and fragments; say so here instead of as a 400 later.
  if (url.username || url.password || url.hash)
    throw new Error(`${what} must not contain user:password@ or #fragment`);
  if (UNSAFE.test(ingestUrl))
    throw new Error(`${what} must not contain quotes, backslashes, $, { } or whitespace`);
}

/** Throws when `ingestToken` is not a valid Bearer credential; the message never contains the token. */
export function assertIngestToken(ingestToken: string): void {
  if (!BEARER_TOKEN.test(ingestToken)) {
    throw new Error(
      "ingest token must be a Bearer token: letters, digits and - . _ ~ + / with optional trailing =",
    );
  }
}

/**
 * Replaces `{{INGEST_URL}}` and `{{INGEST_TOKEN}}` in generated HOCON or JSON text.
 * Throws on an unsafe value or on any `{{NAME}}` placeholder it does not know, so no placeholder survives.
 */
export function render(text: string, values: RenderValues): string {
  assertIngestUrl(values.ingestUrl);
  assertIngestToken(values.ingestToken);
  if (values.apiUrl !== undefined) assertIngestUrl(values.apiUrl, "API URL");
  const byName: Record<string, string> = {
    // Paths are appended to the URL (`{{INGEST_URL}}/emqx/authn`), so a trailing slash would double.
    [INGEST_URL_PLACEHOLDER]: values.ingestUrl.replace(/\/+$/, ""),
    [INGEST_TOKEN_PLACEHOLDER]: values.ingestToken,
    ...(values.apiUrl !== undefined ? { [API_URL_PLACEHOLDER]: values.apiUrl.replace(/\/+$/, "") } : {}),
  };
  return text.replace(/\{\{[A-Z_]+\}\}/g, (placeholder) => {
    const value = byName[placeholder];
    if (placeholder === API_URL_PLACEHOLDER && value === undefined) {
      throw new Error("the API over MQTT's connector needs the API URL (--api-url)");
    }
    if (value === undefined) throw new Error(`unknown placeholder ${placeholder}`);
    return value;
  });
}
