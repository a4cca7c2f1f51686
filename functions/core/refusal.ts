/**
 * One record refused for what it holds, by a store or a queue, not because of an outage: retrying the
 * same record cannot help, so it is quarantined on its own and the rest of its message goes on.
 */
export class RecordRefusedError extends Error {
  override readonly name: string = "RecordRefusedError";
}

/** A message of a fan-out that the queue refused for its content, and why. */
export interface RefusedMessage {
  eventId: string;
  reason: string;
}

/** Some messages of one `EventQueue.send` were refused for their content; all the others were sent. */
export class FanoutRefusedError extends Error {
  override readonly name = "FanoutRefusedError";
  constructor(readonly refused: RefusedMessage[]) {
    super(`the events queue refused ${refused.length} message(s): ${refused[0]?.reason}`);
  }
}
