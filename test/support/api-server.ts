import type { Logger } from "@aws-lambda-powertools/logger";
import { createApiApp } from "../../functions/api/app.ts";
import type { ApiDeps } from "../../functions/api/types.ts";
import { type ApiKeyStore, StaticApiKeyStore } from "../../functions/core/api-keys.ts";
import { serveApp } from "../../local/services/http-server.ts";
import { silentLogger } from "./resources.ts";

export const API_KEY = "api-key-0123456789abcdef";
export const SECOND_API_KEY = "rotated-api-key-fedcba9876543210";

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** The commands API over a real socket, the way an application reaches it. */
export async function startApi(
  deps: Omit<ApiDeps, "keys" | "reader"> & Partial<Pick<ApiDeps, "keys" | "reader">>,
  options: { logger?: Logger; deadlineMs?: number; keys?: ApiKeyStore } = {},
) {
  const keys =
    options.keys ??
    deps.keys ??
    new StaticApiKeyStore([
      { name: "test", key: API_KEY, scopes: ["admin"] },
      { name: "rotated", key: SECOND_API_KEY, scopes: ["admin"] },
    ]);
  const reader = deps.reader ?? unreachableReader();
  const app = createApiApp({ ...deps, keys, reader } as ApiDeps, {
    logger: options.logger ?? silentLogger(),
    ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}),
  });
  const server = await serveApp(app.fetch);
  /** `body`: a string is sent as is, anything else as JSON; `key: null` sends no Authorization header. */
  const request = async (
    method: string,
    path: string,
    init: { body?: unknown; key?: string | null } = {},
  ): Promise<ApiAnswer> => {
    const key = init.key === undefined ? API_KEY : init.key;
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(key !== null ? { authorization: `Bearer ${key}` } : {}),
      },
      ...(init.body !== undefined
        ? { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) }
        : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
  };
  return { ...server, request };
}

/** For tests of the command routes only: any read of devices or attendance is a test bug. */
function unreachableReader(): ApiDeps["reader"] {
  const fail = () => Promise.reject(new Error("this test gave the API no reader"));
  return { byDevice: fail, byUser: fail, all: fail, list: fail, get: fail, byDay: fail };
}
