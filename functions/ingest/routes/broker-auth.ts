import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, Env, Hono } from "hono";
import * as v from "valibot";
import {
  authenticateBrokerClient,
  type BrokerAccessDeps,
  type BrokerAccessOptions,
  type BrokerDecision,
} from "../../core/broker-access/index.ts";
import { withDeadline } from "../../core/deadline.ts";

/** The path EMQX's HTTP authenticator posts every CONNECT to. */
export const BROKER_AUTH_PATH = "/emqx/authn";

/** EMQX gives up after its `request_timeout` (5 s) + 0.5 s and refuses the client; answer well before. */
const AUTH_DEADLINE_MS = 3_000;

/** Larger than any real login (a 64-character client id and username, a 64-character password). */
const MAX_LOGIN_BYTES = 4 * 1024;

/** What the authenticator's body template sends (docs/emqx.md §10): every value a string, absent ones "". */
const BrokerLoginBody = v.object({
  clientid: v.pipe(v.string(), v.maxLength(256)),
  username: v.pipe(v.string(), v.maxLength(256)),
  password: v.pipe(v.string(), v.maxLength(1024)),
});

export interface BrokerAuthOptions extends BrokerAccessOptions {
  logger: Logger;
}

/**
 * `POST /emqx/authn`: EMQX's HTTP authenticator. Always 200 `application/json` with `allow` or `deny`:
 * EMQX reads a 4xx/5xx, another content type or a missing `result` as "ignore" and asks the next
 * authenticator, so bad input and outages must be an explicit deny (fail closed, docs/emqx.md §10).
 */
export function registerBrokerAuthRoute<E extends Env>(
  app: Hono<E>,
  deps: BrokerAccessDeps,
  options: BrokerAuthOptions,
): void {
  app.post(BROKER_AUTH_PATH, async (c) => {
    const decision = await decide(c, deps, options);
    if (decision.result === "deny") return c.json({ result: "deny" }, 200);
    return c.json(
      {
        result: "allow",
        is_superuser: false,
        expire_at: decision.expireAt,
        client_attrs: clientAttrs(decision),
        acl: decision.acl,
      },
      200,
    );
  });
}

async function decide(
  c: Context,
  deps: BrokerAccessDeps,
  options: BrokerAuthOptions,
): Promise<BrokerDecision> {
  const raw = await c.req.text();
  const login =
    Buffer.byteLength(raw) <= MAX_LOGIN_BYTES ? v.safeParse(BrokerLoginBody, tryJson(raw)) : undefined;
  // The login is never logged: it holds a password. The client id is enough to follow a device.
  if (!login?.success)
    return logged(options.logger, { result: "deny", reason: "malformed_login" }, undefined);
  const clientid = login.output.clientid.slice(0, 64);
  try {
    const decision = await withDeadline(
      () => authenticateBrokerClient(deps, options, login.output),
      AUTH_DEADLINE_MS,
    );
    return logged(options.logger, decision, clientid);
  } catch (error) {
    options.logger.warn("broker login refused: the device registry or key store is unavailable", {
      clientid,
      error: (error as Error).message,
    });
    return { result: "deny", reason: "bad_credentials" };
  }
}

function logged(logger: Logger, decision: BrokerDecision, clientid: string | undefined): BrokerDecision {
  if (decision.result === "deny") logger.info("broker login denied", { clientid, reason: decision.reason });
  else logger.debug("broker login allowed", { clientid, kind: decision.identity.kind });
  return decision;
}

function clientAttrs(decision: Extract<BrokerDecision, { result: "allow" }>): Record<string, string> {
  const identity = decision.identity;
  return identity.kind === "device" ? { sn: identity.sn } : { app: identity.keyId };
}

function tryJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
