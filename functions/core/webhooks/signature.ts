import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures as the Standard Webhooks specification (https://www.standardwebhooks.com/) writes
 * them, so a receiver can check them with that project's libraries as well as with the few lines below:
 *
 * - `webhook-id`: the event's `eventId` (the same on every retry: receivers drop repeats by it);
 * - `webhook-timestamp`: Unix seconds of this attempt;
 * - `webhook-signature`: `v1,` + base64 HMAC-SHA256 over `${id}.${timestamp}.${rawBody}`, keyed with the
 *   secret's bytes (`whsec_` + base64 of them).
 *
 * The id and the timestamp are signed with the body: a captured request cannot be replayed later (the
 * receiver refuses timestamps older than its tolerance) nor under another id.
 */
export const WEBHOOK_HEADERS = {
  id: "webhook-id",
  timestamp: "webhook-timestamp",
  signature: "webhook-signature",
} as const;

export const SECRET_PREFIX = "whsec_";
/** How far a receiver accepts a timestamp from its own clock, either way (the specification's 5 minutes). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A new signing secret: 32 random bytes. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

/** The HMAC key of a `whsec_...` secret; `undefined` when it is not one. */
export function secretKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  return Buffer.from(encoded, "base64");
}

export interface SignedRequest {
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: string;
}

/** The three headers of one delivery attempt. */
export function signWebhook(secret: string, request: SignedRequest): Record<string, string> {
  return {
    [WEBHOOK_HEADERS.id]: request.id,
    [WEBHOOK_HEADERS.timestamp]: String(request.timestamp),
    [WEBHOOK_HEADERS.signature]: `v1,${signature(secret, `${request.id}.${request.timestamp}.${request.body}`)}`,
  };
}

function signature(secret: string, signedContent: string): string {
  const key = secretKey(secret);
  if (!key) throw new Error("a webhook secret is whsec_ followed by base64");
  return createHmac("sha256", key).update(signedContent).digest("base64");
}

export type VerifyResult = { ok: true; id: string } | { ok: false; reason: string };

export interface VerifyOptions {
  /** Unix seconds; default now. */
  nowSeconds?: number;
  toleranceSeconds?: number;
}

/**
 * The receiver's check: the three headers present, the timestamp within the tolerance, and one of the
 * `v1,` signatures (space-separated; several during a secret rotation) equal in constant time to the
 * one computed over the raw body as received (never a re-serialized JSON).
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | undefined>,
  rawBody: string,
  options: VerifyOptions = {},
): VerifyResult {
  const id = headers[WEBHOOK_HEADERS.id];
  const timestamp = headers[WEBHOOK_HEADERS.timestamp];
  const signatures = headers[WEBHOOK_HEADERS.signature];
  if (!id || !timestamp || !signatures) return { ok: false, reason: "missing webhook-* header" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "bad webhook-timestamp" };
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    return { ok: false, reason: "webhook-timestamp outside the tolerance (a replay?)" };
  }
  // The timestamp as received: signed content is bytes, never a re-formatted number.
  const expected = Buffer.from(signature(secret, `${id}.${timestamp}.${rawBody}`));
  const matches = signatures.split(" ").some((entry) => {
    const [version, value = ""] = entry.split(",", 2);
    const given = Buffer.from(value);
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { ok: true, id } : { ok: false, reason: "no matching signature" };
}
