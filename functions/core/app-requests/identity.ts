import { type ApiKey, allows, SCOPES } from "../api-keys.ts";
import type { Refusal } from "./request.ts";

/** API keys by name: what a rule event names an app by (its broker login's username). */
export interface AppKeyDirectory {
  /** The keys with this name that are not revoked. */
  activeByName(name: string): Promise<ApiKey[]>;
}

export type Identity = { ok: true; key: ApiKey } | { ok: false; refusal: Refusal };

/**
 * The key a request runs with. EMQX set `username` from the login it authenticated and its ACL lets an
 * app publish only on its own `app/v1/{name}/requests`, so the two agree for every app; they differ only
 * for a message from elsewhere (EMQX's own publish API), which is refused. Several live keys may share a
 * name (a rotation): the rule does not say which one logged in, so the request gets only the scopes every
 * one of them grants.
 */
export async function identify(
  directory: AppKeyDirectory,
  topicKeyName: string,
  username: string,
): Promise<Identity> {
  if (username !== topicKeyName) {
    return refuse(`'${username}' may not publish on the requests topic of '${topicKeyName}'`);
  }
  const keys = await directory.activeByName(username);
  const [first] = keys;
  if (!first) return refuse(`no valid API key is named '${username}' (revoked?)`);
  const scopes = SCOPES.filter((scope) => keys.every((key) => allows(key, scope)));
  return {
    ok: true,
    key: { name: username, hash: keys.length === 1 ? first.hash : "", scopes, createdAt: first.createdAt },
  };
}

function refuse(detail: string): Identity {
  return { ok: false, refusal: { kind: "unauthorized", detail } };
}
