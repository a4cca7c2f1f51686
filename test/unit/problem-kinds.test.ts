import { Logger } from "@aws-lambda-powertools/logger";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { CommandConflictError } from "../../functions/core/commands/errors.ts";
import { InvalidInputError, TransientError } from "../../functions/core/errors.ts";
import { ShadowVersionConflictError } from "../../functions/core/shadow/errors.ts";
import { answerErrors } from "../../functions/http/on-error.ts";
import { PROBLEM_KINDS } from "../../functions/http/problems.ts";

/** An app whose one route throws `error`, answered by the shared onError. */
async function answerTo(error: unknown) {
  const app = new Hono();
  app.get("/", () => {
    throw error;
  });
  app.onError(answerErrors({ logger: new Logger({ logLevel: "SILENT" }) }));
  const response = await app.request("/");
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body };
}

describe("the problem kinds both apps answer with", () => {
  it("keeps the statuses EMQX and clients act on: 4xx for input, 503 for outages, never 500/502/504", () => {
    const statuses = Object.fromEntries(
      Object.entries(PROBLEM_KINDS).map(([kind, { status }]) => [kind, status]),
    );
    expect(statuses).toEqual({
      malformed: 400,
      invalid: 422,
      too_large: 413,
      unsupported_media_type: 415,
      records_rejected: 422,
      refused: 422,
      internal: 422,
      unauthorized: 401,
      forbidden: 403,
      not_found: 404,
      devices_disabled: 404,
      command_conflict: 409,
      job_conflict: 409,
      version_conflict: 409,
      unavailable: 503,
      not_configured: 503,
    });
  });

  it("answers a domain input error with its kind's status and type, naming the field", async () => {
    const answer = await answerTo(
      new InvalidInputError("invalid", "payload.att_time", "payload.att_time: bad"),
    );
    expect(answer.status).toBe(422);
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
    expect(answer.body).toEqual({
      type: "invalid_field",
      title: "Unprocessable Content",
      status: 422,
      detail: "payload.att_time: bad",
      field: "payload.att_time",
    });
    expect(
      (await answerTo(new InvalidInputError("malformed", "body", "body is not valid JSON"))).body,
    ).toMatchObject({ status: 400, type: "invalid_request", field: "body" });
  });

  it("answers conflicts 409 with what the caller needs to resolve them", async () => {
    expect((await answerTo(new CommandConflictError("SN1", "c-1"))).body).toMatchObject({
      status: 409,
      type: "command_conflict",
      field: "id",
    });
    expect((await answerTo(new ShadowVersionConflictError("SN1", 3, 5))).body).toMatchObject({
      status: 409,
      type: "shadow_version_conflict",
      field: "version",
      currentVersion: 5,
    });
  });

  it("answers an outage, and an error nobody expected, 503 with Retry-After", async () => {
    const outage = await answerTo(new TransientError("DynamoDB throttled"));
    expect(outage).toMatchObject({
      status: 503,
      body: { type: "unavailable", detail: "DynamoDB throttled" },
    });
    expect(outage.headers.get("retry-after")).toBe("5");
    const bug = await answerTo(new TypeError("x is undefined"));
    expect(bug).toMatchObject({ status: 503, body: { type: "unavailable" } });
    expect(bug.body.detail).not.toContain("x is undefined");
  });
});
