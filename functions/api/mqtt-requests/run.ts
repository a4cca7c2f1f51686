import type { ApiKey } from "../../core/api-keys.ts";
import type { AppRequest, RouteAnswer } from "../../core/app-requests/index.ts";
import type { ApiEnv } from "../types.ts";

/** The API app's own `fetch`: the same routes, validation, scopes and problems as over HTTP. */
export type ApiFetch = (request: Request, env: ApiEnv["Bindings"]) => Response | Promise<Response>;

// Never resolved: the request only travels inside this function.
const ORIGIN = "http://api.internal";

/**
 * Runs one app request through the API with `key` as if it had sent `Authorization: Bearer`: a request
 * with a body is sent as `application/json`, so the API's body limit (413) and body checks apply as they
 * do over HTTP. Every answer but a 503 (an outage: worth retrying) is final.
 */
export async function runThroughApi(
  api: ApiFetch,
  env: ApiEnv["Bindings"],
  key: ApiKey,
  request: AppRequest,
): Promise<RouteAnswer> {
  const url = new URL(request.path, ORIGIN);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.append(name, value);
  const hasBody = request.body !== undefined && request.method !== "GET";
  const response = await api(
    new Request(url, {
      method: request.method,
      ...(hasBody
        ? { body: JSON.stringify(request.body), headers: { "content-type": "application/json" } }
        : {}),
    }),
    { ...env, appKey: key },
  );
  const answer = { status: response.status, body: await readBody(response) };
  return { answer, final: response.status !== 503 };
}

/** JSON bodies as values; any other (the reference page's HTML) as text; none as `null`. */
async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return null;
  const type = response.headers.get("content-type") ?? "";
  if (!/json/i.test(type)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
