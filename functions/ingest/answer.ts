import { LogLevelThreshold } from "@aws-lambda-powertools/logger";
import type { Context } from "hono";
import { withDeadline } from "../core/deadline.ts";
import { InvalidInputError, TransientError } from "../core/errors.ts";
import { type BridgeMetrics, METRIC } from "../core/metrics.ts";
import type { Transport } from "../core/ports.ts";
import { quarantine } from "../core/quarantine.ts";
import { RecordRefusedError } from "../core/refusal.ts";
import { budgetMs } from "../http/deadline.ts";
import { PROBLEM_KINDS, type ProblemKind, problemResponse } from "../http/problems.ts";
import type { BodyRead } from "./read-body.ts";
import type { IngestDeps, IngestEnv, IngestOptions, IngestResult } from "./types.ts";

/** Time a rejection may take to be quarantined after the deadline; within the function's timeout. */
const QUARANTINE_BUDGET_MS = 3_000;

/** What is known of a request before it is processed: for logs and the quarantine. */
export interface Ids {
  emqxId?: string;
  ruleId?: string;
  sn?: string;
}

/** One request to the ingest, whichever route it came by. */
export interface Intake {
  transport: Transport;
  /** The body as read under `maxBodyBytes`; quarantined as is (its head, if too large) when rejected. */
  body: BodyRead;
  /** Read only for a log line or the quarantine: a punch that is stored parses its body once, not twice. */
  ids: () => Ids;
  /** Parses `raw` and hands it to the domain; throws {@link InvalidInputError} for bad input. */
  process: () => Promise<IngestResult>;
}

/**
 * Processes one request within the deadline and maps the outcome to the ingest's answers, the same for
 * every route: 200 summary; 4xx problem naming the field, quarantined; 422 for a backlog with bad records;
 * 503 + `Retry-After` for transient failures (or when the quarantine is down). Never 500/502/504.
 */
export async function processAndAnswer(
  c: Context<IngestEnv>,
  deps: IngestDeps,
  options: IngestOptions,
  intake: Intake,
): Promise<Response> {
  const budget = budgetMs(c, options.deadlineMs);
  const run = async () => {
    checkBodySize(intake.body, options.maxBodyBytes);
    return intake.process();
  };
  try {
    const result = await withDeadline(run, budget);
    if (options.logger.level <= LogLevelThreshold.DEBUG)
      options.logger.debug("ingested", { transport: intake.transport, ...intake.ids(), ...summary(result) });
    countRepeatsAndRejects(options.metrics, result);
    return answer(c, result);
  } catch (error) {
    return rejectOrDefer(c, deps, options, intake, error);
  }
}

/**
 * Counts what an operator watches for: repeats and, in a backlog, quarantined punches. A request whose
 * events are simply stored counts nothing, so it writes no metrics line (each costs log ingestion, like
 * any log line): the events topic's own `NumberOfMessagesPublished` counts what was published.
 */
function countRepeatsAndRejects(metrics: BridgeMetrics | undefined, result: IngestResult): void {
  if (!metrics || result.result !== "attendance") return;
  if (result.duplicates) metrics.count(METRIC.Duplicates, result.duplicates);
  // Bad records of a backlog are quarantined one by one.
  if (result.rejected.length) metrics.count(METRIC.Quarantined, result.rejected.length);
}

function checkBodySize(body: BodyRead, maxBodyBytes: number): void {
  if (body.complete) return;
  throw new InvalidInputError(
    "too_large",
    "body",
    `body is ${body.bytes} bytes or more, over the ${maxBodyBytes} bytes allowed`,
  );
}

function answer(c: Context, result: IngestResult): Response {
  if (result.result !== "attendance" || result.rejected.length === 0) return c.json(result, 200);
  const first = result.rejected[0];
  return problemResponse(
    c,
    "records_rejected",
    `${result.rejected.length} record(s) rejected: ${first?.message}`,
    {
      ...(first ? { field: first.field, quarantineId: first.quarantineId } : {}),
      stored: result.stored,
      duplicates: result.duplicates,
      rejected: result.rejected,
    },
  );
}

async function rejectOrDefer(
  c: Context,
  deps: IngestDeps,
  options: IngestOptions,
  intake: Intake,
  error: unknown,
): Promise<Response> {
  const log = options.logger;
  const context = { transport: intake.transport, ...intake.ids() };
  if (error instanceof TransientError) {
    log.warn("deferred: answering 503 so the sender retries", { ...context, reason: error.message });
    return unavailable(c, options, error.message);
  }
  const rejection = classify(error);
  if (rejection.kind === "internal") log.error("unexpected failure", { ...context, error });
  try {
    return await quarantineAndReject(c, deps, options, { body: intake.body, context }, rejection);
  } catch (quarantineError) {
    log.warn("could not quarantine: answering 503 so the sender retries", {
      ...context,
      error: quarantineError,
    });
    return unavailable(c, options, "the quarantine is unavailable");
  }
}

/** Keeps the rejected request in the quarantine, then answers its 4xx naming the field and the entry. */
async function quarantineAndReject(
  c: Context,
  deps: IngestDeps,
  options: IngestOptions,
  rejected: { body: BodyRead; context: Ids & { transport: Transport } },
  rejection: RejectionAnswer,
): Promise<Response> {
  const { kind, field, message } = rejection;
  const { body, context } = rejected;
  // The quarantine keeps the answer's status and type (as `reason`), so an operator sees what the sender saw.
  const answer = { status: PROBLEM_KINDS[kind].status, reason: PROBLEM_KINDS[kind].type, field, message };
  // Bounded too: the first deadline may be nearly spent, and Lambda's own timeout would be a 502.
  const entry = await withDeadline(
    () =>
      quarantine(deps, {
        raw: body.text,
        rawBytes: body.bytes,
        ...context,
        ...answer,
      }),
    QUARANTINE_BUDGET_MS,
  );
  // Powertools' Logger keeps its own `message` key and drops ours: the text goes out as `detail`.
  const { message: detail, ...rest } = answer;
  options.logger.warn("rejected and quarantined", {
    ...context,
    ...rest,
    detail,
    quarantineId: entry.id,
  });
  options.metrics?.count(METRIC.Quarantined);
  return problemResponse(c, kind, message, { field, quarantineId: entry.id });
}

/** 503 with `Retry-After`: EMQX (or the device) sends the same request again. */
function unavailable(c: Context, options: IngestOptions, detail: string): Response {
  options.metrics?.count(METRIC.Unavailable503);
  return problemResponse(c, "unavailable", detail);
}

interface RejectionAnswer {
  kind: ProblemKind;
  field: string;
  message: string;
}

function classify(error: unknown): RejectionAnswer {
  if (error instanceof InvalidInputError)
    return { kind: error.kind, field: error.field, message: error.message };
  if (error instanceof RecordRefusedError)
    return { kind: "refused", field: "payload", message: error.message };
  // A bug must not become a 500 (dropped by EMQX) nor a 503 (blocks EMQX's queue); keep it for an operator.
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "internal", field: "body", message: `could not process: ${message}` };
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
