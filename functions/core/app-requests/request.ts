import * as v from "valibot";
import { API_KEY_NAME_CHARS } from "../api-keys.ts";
import { APP_ROOT } from "../broker-access/acl.ts";
import { fieldPath, issueMessage, parseJson } from "../validation.ts";

/**
 * A request id is one topic level of the answer's topic: no `/`, `+`, `#`, and it starts with a letter or a
 * digit, so it can never be {@link UNREADABLE_LEVEL}.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Where a request whose id cannot be read is answered: the app subscribes to `responses/#` anyway. */
export const UNREADABLE_LEVEL = "_unreadable";

/** Methods the API's routes answer. */
export const REQUEST_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** `{"requestId","method","path","query"?,"body"?}`: one API call over MQTT (README "API over MQTT"). */
export const AppRequest = v.strictObject({
  requestId: v.pipe(
    v.string("must be a string"),
    v.regex(REQUEST_ID_PATTERN, "must be 1-64 of A-Z a-z 0-9 _ . : - starting with a letter or digit"),
  ),
  method: v.picklist(REQUEST_METHODS, `must be one of ${REQUEST_METHODS.join(", ")}`),
  path: v.pipe(
    v.string("must be a string"),
    v.maxLength(1024, "must be at most 1024 characters"),
    // Only the REST API: never the bridge's own EMQX endpoints. A query goes in `query`.
    v.regex(/^\/v1\/[^?#\s]*$/, "must start with /v1/ and hold no ? # or whitespace (use query)"),
  ),
  query: v.optional(v.record(v.string(), v.string("query values must be strings"))),
  body: v.optional(v.unknown()),
});
export type AppRequest = v.InferOutput<typeof AppRequest>;

/** Why a request is answered without running: it cannot be read, or nobody valid sent it. */
export interface Refusal {
  kind: "invalid_request" | "unauthorized";
  detail: string;
  field?: string;
}

export type ReadRequest =
  | { ok: true; request: AppRequest }
  | { ok: false; refusal: Refusal; requestId?: string };

/** `app/v1/{keyName}/requests` */
export const requestTopic = (keyName: string) => `${APP_ROOT}/${keyName}/requests`;

/** `app/v1/{keyName}/responses/{requestId}`; an unreadable id is answered under {@link UNREADABLE_LEVEL}. */
export const responseTopic = (keyName: string, requestId: string | undefined) =>
  `${APP_ROOT}/${keyName}/responses/${requestId ?? UNREADABLE_LEVEL}`;

/** The key name level is read with the key names' own pattern (functions/core/api-keys.ts). */
const REQUEST_TOPIC = new RegExp(`^${APP_ROOT}/(${API_KEY_NAME_CHARS})/requests$`);

/** The key name a request topic belongs to, or `undefined` for any other topic. */
export function keyNameOfTopic(topic: string): string | undefined {
  return REQUEST_TOPIC.exec(topic)?.[1];
}

/**
 * Reads an MQTT payload as a request. A refusal keeps the request id when it could be read, so the
 * answer goes to the topic the app waits on.
 */
export function readAppRequest(payload: string): ReadRequest {
  let parsed: unknown;
  try {
    parsed = parseJson(payload, "payload");
  } catch (error) {
    return { ok: false, refusal: invalid((error as Error).message, "payload") };
  }
  const result = v.safeParse(AppRequest, parsed);
  if (result.success) return { ok: true, request: result.output };
  const issue = result.issues[0];
  const field = fieldPath("", issue);
  const refusal = invalid(`${field}: ${issueMessage(issue)}`, field);
  const requestId = (parsed as { requestId?: unknown } | null)?.requestId;
  if (typeof requestId === "string" && REQUEST_ID_PATTERN.test(requestId)) {
    return { ok: false, refusal, requestId };
  }
  return { ok: false, refusal };
}

function invalid(detail: string, field: string): Refusal {
  return { kind: "invalid_request", detail, field };
}
