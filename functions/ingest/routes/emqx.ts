import type { Hono } from "hono";
import { EmqxRuleEvent } from "../../core/schemas/emqx.ts";
import { parseJson, parseOrReject } from "../../core/validation.ts";
import { type Ids, processAndAnswer } from "../answer.ts";
import { readBody } from "../read-body.ts";
import { ingestRuleEvent } from "../rule-event.ts";
import type { IngestDeps, IngestEnv, IngestOptions } from "../types.ts";

/** The path EMQX's HTTP action posts every rule event to. */
export const RULE_EVENTS_PATH = "/emqx/rule-events";

/** `POST /emqx/rule-events`: the body is EMQX's `SELECT *` output of any of the bridge's rules. */
export function registerEmqxRoutes(app: Hono<IngestEnv>, deps: IngestDeps, options: IngestOptions): void {
  app.post(RULE_EVENTS_PATH, async (c) => {
    const body = await readBody(c.req.raw, options.maxBodyBytes);
    return processAndAnswer(c, deps, options, {
      transport: "mqtt",
      body,
      ids: () => peekIds(body.text),
      process: async () =>
        ingestRuleEvent(deps, parseOrReject(EmqxRuleEvent, parseJson(body.text, "body"), "", "malformed")),
    });
  });
}

/** Best-effort ids for logs and the quarantine, from the raw body whatever validation decides; read only when needed. */
function peekIds(raw: string): Ids {
  try {
    const body = JSON.parse(raw) as Record<string, unknown>;
    const metadata = body.metadata as { rule_id?: unknown } | undefined;
    const ids: Ids = {};
    if (typeof body.id === "string") ids.emqxId = body.id;
    if (typeof metadata?.rule_id === "string") ids.ruleId = metadata.rule_id;
    const sn = typeof body.topic === "string" ? body.topic.split("/")[3] : body.clientid;
    if (typeof sn === "string" && sn.length <= 64) ids.sn = sn;
    return ids;
  } catch {
    return {};
  }
}
