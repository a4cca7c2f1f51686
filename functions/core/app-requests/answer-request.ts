import type { ApiKey } from "../api-keys.ts";
import { identify } from "./identity.ts";
import type { AppAnswer, AppRequestDeps, AppRequestMessage, RequestKey, StoredRequest } from "./ports.ts";
import { type AppRequest, keyNameOfTopic, readAppRequest, responseTopic } from "./request.ts";

/** How long an answer is kept: a request id repeated within it gets the same answer, its route not run again. */
export const ANSWER_WINDOW_MS = 10 * 60_000;
/** How long a running request holds its id: above the API function's 15 s timeout, so only a crash frees it. */
export const LEASE_MS = 30_000;
/** How long a duplicate that arrives while the first is running waits for the first's answer. */
export const DUPLICATE_WAIT_MS = 5_000;
const POLL_MS = 100;

/**
 * What became of one request: run and answered (`answered`; `answered_unkept` when the store could not
 * keep the answer, so a repeat runs again), a repeat answered from the store (`replayed`), refused before
 * running (`refused`), a duplicate left to the attempt still running (`in_flight`), or not a request topic.
 */
export type Outcome = "answered" | "answered_unkept" | "replayed" | "refused" | "in_flight" | "ignored";

/**
 * Answers one app request that EMQX's requests rule forwarded: reads it, checks who sent it, runs its
 * route at most once per request id within {@link ANSWER_WINDOW_MS}, and publishes
 * `{requestId, status, body}` on `app/v1/{keyName}/responses/{requestId}`. Every request on a request
 * topic gets an answer, a refusal included; a broker or store outage throws a `TransientError`, so
 * EMQX retries the message and the stored answer is published then.
 *
 * Costs: a refused request, one publish (plus one key read when it is readable); a first request, one
 * conditional put, then the route, then one put of the answer and one publish side by side; a repeat, one
 * conditional put and one publish.
 */
export async function answerAppRequest(deps: AppRequestDeps, message: AppRequestMessage): Promise<Outcome> {
  const keyName = keyNameOfTopic(message.topic);
  if (!keyName) return "ignored";
  const read = readAppRequest(message.payload);
  if (!read.ok) {
    await reply(deps, keyName, read.requestId, deps.refused(read.refusal));
    return "refused";
  }
  const identity = await identify(deps.keys, keyName, message.username);
  if (!identity.ok) {
    await reply(deps, keyName, read.request.requestId, deps.refused(identity.refusal));
    return "refused";
  }
  return runOnce(deps, identity.key, read.request);
}

async function runOnce(deps: AppRequestDeps, key: ApiKey, request: AppRequest): Promise<Outcome> {
  const id = { keyName: key.name, requestId: request.requestId };
  const now = deps.clock.now().getTime();
  const expiresAt = now + ANSWER_WINDOW_MS;
  const claim = await deps.answers.claim(id, { now, leaseUntil: now + LEASE_MS, expiresAt });
  if (!claim.claimed) return answerRepeat(deps, id, claim.stored);
  const { answer, final } = await deps.route(key, request).catch(async (error: unknown) => {
    await deps.answers.release(id);
    throw error;
  });
  // Kept and published at once: a repeat that comes before the answer is kept waits for it (answerRepeat).
  const [kept] = await Promise.all([
    final ? keepOrRelease(deps, id, answer, expiresAt) : deps.answers.release(id).then(() => true),
    reply(deps, id.keyName, id.requestId, answer),
  ]);
  return kept ? "answered" : "answered_unkept";
}

/**
 * Keeps a final answer. One the store refuses (too large) or cannot take now is released, so a repeat runs
 * the route again: the route has run, so its answer is published either way rather than lost to a retry.
 */
async function keepOrRelease(deps: AppRequestDeps, id: RequestKey, answer: AppAnswer, expiresAt: number) {
  const kept = await deps.answers.keep(id, answer, expiresAt).catch(() => false);
  if (!kept) await deps.answers.release(id).catch(() => undefined);
  return kept;
}

async function answerRepeat(deps: AppRequestDeps, id: RequestKey, stored: StoredRequest): Promise<Outcome> {
  const answered = stored.state === "answered" ? stored : await awaitAnswer(deps, id);
  // Still running: the first attempt publishes the answer on the same topic.
  if (!answered) return "in_flight";
  await reply(deps, id.keyName, id.requestId, answered.answer);
  return "replayed";
}

/** Polls for the running attempt's answer, a bounded number of times (a fake clock must not spin it). */
async function awaitAnswer(deps: AppRequestDeps, id: RequestKey) {
  for (let polls = 0; polls < DUPLICATE_WAIT_MS / POLL_MS; polls++) {
    await deps.pause(POLL_MS);
    const stored = await deps.answers.find(id);
    if (stored?.state === "answered") return stored;
    // Released (a "retry" answer, already published) or gone: nothing to repeat.
    if (!stored || stored.leaseUntil <= deps.clock.now().getTime()) return undefined;
  }
  return undefined;
}

async function reply(
  deps: AppRequestDeps,
  keyName: string,
  requestId: string | undefined,
  answer: AppAnswer,
) {
  const payload = JSON.stringify({ requestId: requestId ?? null, status: answer.status, body: answer.body });
  await deps.publisher.publish(responseTopic(keyName, requestId), payload);
}
