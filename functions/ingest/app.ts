import { type Context, Hono } from "hono";
import type { LambdaContext } from "hono/aws-lambda";
import { StoreRejectedError } from "../adapters/aws-errors.ts";
import { withDeadline } from "../core/deadline.ts";
import { InvalidInputError, TransientError } from "../core/errors.ts";
import { quarantine } from "../core/quarantine.ts";
import { EmqxRuleEvent } from "../core/schemas/emqx.ts";
import { parseJson, parseOrReject } from "../core/validation.ts";
import { bearerAuth } from "../http/bearer-auth.ts";
import { problem, problemResponse } from "../http/problems.ts";
import { ingestRuleEvent } from "./rule-event.ts";
import type { IngestDeps, IngestOptions, IngestResult } from "./types.ts";

/** The path EMQX's HTTP action posts every rule event to. */
export const RULE_EVENTS_PATH = "/emqx/rule-events";

/** Time kept back from Lambda's remaining time to write the answer. */
const ANSWER_MARGIN_MS = 1_000;

type Env = { Bindings: { lambdaContext?: LambdaContext } };

/**
 * The ingest: EMQX rule events in, attendance and presence stored and fanned out.
 *
 * Answers: 200 stored (or a duplicate, or ignored); 4xx bad input, quarantined; 503 transient, EMQX retries.
 * Never 500/502/504, which EMQX drops without retry.
 */
export function createIngestApp(deps: IngestDeps, options: IngestOptions) {
  const app = new Hono<Env>();
  const log = options.logger;

  app.use("*", bearerAuth(options.tokens));

  app.post(RULE_EVENTS_PATH, async (c) => {
    const raw = await c.req.text();
    const context = peekIds(raw);
    const budget = Math.min(options.deadlineMs, remaining(c.env?.lambdaContext) - ANSWER_MARGIN_MS);
    try {
      const result = await withDeadline(processRuleEvent(deps, raw, options.maxBodyBytes), budget);
      log.info("ingested", { ...context, ...summary(result) });
      return answer(c, result);
    } catch (error) {
      return rejectOrDefer(c, deps, options, raw, context, error);
    }
  });

  app.notFound((c) =>
    problemResponse(c, problem(404, "not_found", `no route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError((error, c) => {
    log.error("unhandled error", { error });
    return problemResponse(c, problem(503, "unavailable", "the ingest failed unexpectedly; retry"));
  });
  return app;
}

async function processRuleEvent(deps: IngestDeps, raw: string, maxBodyBytes: number): Promise<IngestResult> {
  const bytes = Buffer.byteLength(raw);
  if (bytes > maxBodyBytes) {
    throw new InvalidInputError(413, "body", `body is ${bytes} bytes, more than the ${maxBodyBytes} allowed`);
  }
  const event = parseOrReject(EmqxRuleEvent, parseJson(raw, "body"), "", 400);
  return ingestRuleEvent(deps, event);
}

function answer(c: Context, result: IngestResult): Response {
  if (result.result !== "attendance" || result.rejected.length === 0) return c.json(result, 200);
  const first = result.rejected[0];
  const body = problem(
    422,
    "invalid_attendance_record",
    `${result.rejected.length} record(s) rejected: ${first?.message}`,
    {
      ...(first ? { field: first.field, quarantineId: first.quarantineId } : {}),
      stored: result.stored,
      duplicates: result.duplicates,
      rejected: result.rejected,
    },
  );
  return problemResponse(c, body);
}

type Ids = { emqxId?: string; ruleId?: string; sn?: string };

async function rejectOrDefer(
  c: Context,
  deps: IngestDeps,
  options: IngestOptions,
  raw: string,
  ids: Ids,
  error: unknown,
): Promise<Response> {
  const log = options.logger;
  if (error instanceof TransientError) {
    log.warn("deferred: answering 503 so EMQX retries", { ...ids, reason: error.message });
    return problemResponse(c, problem(503, "unavailable", error.message), { "retry-after": "5" });
  }
  const rejection = classify(error);
  if (rejection.status === 422 && rejection.reason === "internal_error")
    log.error("unexpected failure", { ...ids, error });
  try {
    const entry = await quarantine(deps, { transport: "mqtt", raw, ...ids, ...rejection });
    log.warn("rejected and quarantined", { ...ids, ...rejection, quarantineId: entry.id });
    return problemResponse(
      c,
      problem(rejection.status, rejection.reason, rejection.message, {
        field: rejection.field,
        quarantineId: entry.id,
      }),
    );
  } catch (quarantineError) {
    log.warn("could not quarantine: answering 503 so EMQX retries", { ...ids, error: quarantineError });
    return problemResponse(c, problem(503, "unavailable", "the quarantine is unavailable"), {
      "retry-after": "5",
    });
  }
}

function classify(error: unknown): { status: number; reason: string; field: string; message: string } {
  if (error instanceof InvalidInputError) {
    return { status: error.status, reason: reasonFor(error), field: error.field, message: error.message };
  }
  if (error instanceof StoreRejectedError) {
    return { status: 422, reason: "refused_by_store", field: "payload", message: error.message };
  }
  // A bug must not become a 500 (dropped by EMQX) nor a 503 (blocks EMQX's queue); keep it for an operator.
  const message = error instanceof Error ? error.message : String(error);
  return { status: 422, reason: "internal_error", field: "body", message: `could not process: ${message}` };
}

function reasonFor(error: InvalidInputError): string {
  if (error.status === 413) return "body_too_large";
  if (error.field === "body" || error.status === 400) return "invalid_body";
  return "invalid_payload";
}

/** Best-effort ids for logs and the quarantine, read before (and whatever) validation decides. */
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

function summary(result: IngestResult): Record<string, unknown> {
  return result.result === "attendance"
    ? {
        result: result.result,
        stored: result.stored,
        duplicates: result.duplicates,
        rejected: result.rejected.length,
      }
    : { ...result };
}

function remaining(context: LambdaContext | undefined): number {
  return context?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
}
