import type { Logger } from "@aws-lambda-powertools/logger";
import type { CreateCommandDeps } from "../core/commands/create-command.ts";

/**
 * What the API needs from the outside world: exactly what `createCommand` needs (the command store, the
 * commands FIFO queue, the events queue, a clock). `createAwsDeps(config)` satisfies it.
 */
export type ApiDeps = CreateCommandDeps;

export interface ApiOptions {
  /** Valid bearer keys; more than one while a key is being rotated. */
  apiKeys: string[];
  logger: Logger;
  /** Answer 503 after this long (default 8000 ms), and always 1 s before Lambda's own timeout. */
  deadlineMs?: number;
}
