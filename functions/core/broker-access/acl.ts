import { allows, apiKeyNameProblem, type Scope } from "../api-keys.ts";
import { TOPIC_ROOT } from "../topics.ts";
import type { AclRule } from "./types.ts";

/** Topics the bridge reserves for applications: `app/v1/{key id}/…`, each app only under its own id. */
export const APP_ROOT = "app/v1";

/** The read-only fleet feed: `fleet/v1/{sn}/{type}`; only the bridge publishes there. */
export const FEED_ROOT = "fleet/v1";

/** Device channels a device may publish on, each under its own serial number only. */
export const DEVICE_PUBLISH_CHANNELS = ["evt", "st", "ack", "shadow/update"] as const;

/** Device channels a device may subscribe to. */
export const DEVICE_SUBSCRIBE_CHANNELS = ["cmd", "shadow/delta"] as const;

/** Ends every ACL: anything not allowed above is denied here rather than left to EMQX's other sources. */
const DENY_EVERYTHING_ELSE: AclRule = { permission: "deny", action: "all", topics: ["#"] };

/**
 * A device's ACL: publish on its own `evt`, `st`, `ack`, `shadow/update`, subscribe to its own `cmd` and
 * `shadow/delta`, nothing else.
 * The serial number is written out literally: a placeholder such as `${clientid}` is expanded raw by
 * EMQX, so a client id of `+` would widen it to every device (docs/emqx.md §10.5).
 *
 * @example
 * deviceAcl("SN0001")[0] // { permission: "allow", action: "publish", topics: ["api/mqtt/v1/SN0001/evt", …] }
 */
export function deviceAcl(sn: string): AclRule[] {
  const topic = (channel: string) => `${TOPIC_ROOT}/${sn}/${channel}`;
  return [
    { permission: "allow", action: "publish", topics: DEVICE_PUBLISH_CHANNELS.map(topic) },
    { permission: "allow", action: "subscribe", topics: DEVICE_SUBSCRIBE_CHANNELS.map(topic) },
    DENY_EVERYTHING_ELSE,
  ];
}

/**
 * An application's ACL, from its key's scopes: its own requests and answers under `app/v1/{key id}/`,
 * and, with `read`, the fleet feed (subscribe only, never publish). The key id is its name, read with
 * `ApiKeyName` like the requests topic is.
 */
export function appAcl(keyId: string, scopes: readonly Scope[]): AclRule[] {
  // A name that is no topic level (a key made before names were checked) gets no topic at all.
  if (apiKeyNameProblem(keyId)) return [DENY_EVERYTHING_ELSE];
  const key = { name: keyId, hash: "", scopes: [...scopes], createdAt: "" };
  const own = `${APP_ROOT}/${keyId}`;
  const rules: AclRule[] = [
    { permission: "allow", action: "publish", topics: [`${own}/requests`], retain: false },
    { permission: "allow", action: "subscribe", topics: [`${own}/responses/#`] },
  ];
  if (allows(key, "read")) {
    rules.push({ permission: "allow", action: "subscribe", topics: [`${FEED_ROOT}/#`] });
  }
  rules.push(DENY_EVERYTHING_ELSE);
  return rules;
}
