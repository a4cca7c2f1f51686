import { createHmac, timingSafeEqual } from "node:crypto";

/** Length of the HMAC part of every device token: base64url of a 32-byte HMAC-SHA256, unpadded. */
export const DEVICE_TOKEN_LENGTH = 43;

/** Secrets shorter than this are refused (the ingest config asks the same). */
export const MIN_DEVICE_SECRET_LENGTH = 32;

/** A generation prefix `{n}.` is at most this long; anything longer is not a token. */
const MAX_GENERATION = 1_000_000;

/**
 * The bearer token (and MQTT password) of one device. Generation 0, the token every device has until it
 * is re-keyed, is `base64url(HMAC-SHA256(secret, "device:" + sn))`; re-keying one device moves it to
 * generation n, whose token is `n.` + `base64url(HMAC-SHA256(secret, "device:" + sn + ":" + n))`.
 * Nothing secret is stored per device: the registry only keeps the current generation.
 *
 * @example
 * deriveDeviceToken(secret, "SN0001")    // 43 characters of A-Z a-z 0-9 - _
 * deriveDeviceToken(secret, "SN0001", 2) // "2." + 43 characters
 */
export function deriveDeviceToken(secret: string, sn: string, generation = 0): string {
  if (secret.length === 0) throw new Error("a device token secret cannot be empty");
  if (generation === 0) return hmac(secret, `device:${sn}`);
  return `${generation}.${hmac(secret, `device:${sn}:${generation}`)}`;
}

/**
 * The generation of `presented` when it is `sn`'s token under any of `secrets` (several while one is
 * rotated), else `undefined`. Every secret is checked, each with a constant-time comparison of
 * equal-length buffers, so neither the answer time nor the order of the secrets tells about a guess.
 */
export function deviceTokenGeneration(
  secrets: readonly string[],
  sn: string,
  presented: string,
): number | undefined {
  const { generation, mac } = splitToken(presented);
  const lengthMatches = Buffer.byteLength(mac) === DEVICE_TOKEN_LENGTH;
  // Compared at full length even when the length is wrong, so the work does not depend on the guess.
  const candidate = Buffer.alloc(DEVICE_TOKEN_LENGTH);
  if (lengthMatches) candidate.write(mac);
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(deriveDeviceToken(secret, sn, generation ?? 0).slice(-DEVICE_TOKEN_LENGTH));
    matched = timingSafeEqual(expected, candidate) || matched;
  }
  return matched && lengthMatches && generation !== undefined ? generation : undefined;
}

/** Whether `presented` is `sn`'s token of any generation under any of `secrets`. */
export function isDeviceToken(secrets: readonly string[], sn: string, presented: string): boolean {
  return deviceTokenGeneration(secrets, sn, presented) !== undefined;
}

function splitToken(presented: string): { generation: number | undefined; mac: string } {
  const dot = presented.indexOf(".");
  if (dot === -1) return { generation: 0, mac: presented };
  const prefix = presented.slice(0, dot);
  const generation = /^[1-9][0-9]{0,6}$/.test(prefix) ? Number(prefix) : undefined;
  const valid = generation !== undefined && generation <= MAX_GENERATION;
  return { generation: valid ? generation : undefined, mac: presented.slice(dot + 1) };
}

function hmac(secret: string, message: string): string {
  return createHmac("sha256", secret).update(message).digest("base64url");
}
