import { createHmac, timingSafeEqual } from "node:crypto";

/** Length of every device token: base64url of a 32-byte HMAC-SHA256, unpadded. */
export const DEVICE_TOKEN_LENGTH = 43;

/** Secrets shorter than this are refused (the ingest config asks the same). */
export const MIN_DEVICE_SECRET_LENGTH = 32;

/**
 * The bearer token of one HTTP device: `base64url(HMAC-SHA256(secret, "device:" + sn))`.
 * Nothing is stored per device; whoever holds the secret can derive (and so issue) any device's token.
 *
 * @example
 * deriveDeviceToken(secret, "SN0001") // 43 characters of A-Z a-z 0-9 - _
 */
export function deriveDeviceToken(secret: string, sn: string): string {
  if (secret.length === 0) throw new Error("a device token secret cannot be empty");
  return createHmac("sha256", secret).update(`device:${sn}`).digest("base64url");
}

/**
 * Whether `presented` is the token of `sn` under any of `secrets` (several while one is rotated).
 * Every secret is checked, each with a constant-time comparison of equal-length buffers, so neither the
 * answer time nor the order of the secrets tells anything about a guess.
 */
export function isDeviceToken(secrets: readonly string[], sn: string, presented: string): boolean {
  const lengthMatches = Buffer.byteLength(presented) === DEVICE_TOKEN_LENGTH;
  // Compared at full length even when the length is wrong, so the work does not depend on the guess.
  const candidate = Buffer.alloc(DEVICE_TOKEN_LENGTH);
  if (lengthMatches) candidate.write(presented);
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(deriveDeviceToken(secret, sn));
    matched = timingSafeEqual(expected, candidate) || matched;
  }
  return matched && lengthMatches;
}
