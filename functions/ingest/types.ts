import type { Logger } from "@aws-lambda-powertools/logger";
import type { AttendanceDeps } from "../core/attendance.ts";
import type { RequeueDeps } from "../core/commands/requeue-pending.ts";
import type { QuarantineStore } from "../core/ports.ts";
import type { PresenceDeps } from "../core/record-presence.ts";

/** Everything the ingest needs from the outside world; the Lambda and the local stack pass different clients. */
export type IngestDeps = AttendanceDeps & PresenceDeps & RequeueDeps & { quarantine: QuarantineStore };

export interface IngestOptions {
  /** Valid bearer tokens; more than one while a token is being rotated. */
  tokens: string[];
  deadlineMs: number;
  maxBodyBytes: number;
  logger: Logger;
}

/** What a processed message came to; the body of a 200. */
export type IngestResult =
  | { result: "attendance"; sn: string; stored: number; duplicates: number; rejected: RecordRejection[] }
  | { result: "presence"; sn: string; online?: boolean; since?: string }
  | { result: "command"; sn: string; id: string; status?: string; changed: boolean }
  | { result: "ignored"; reason: string };

export interface RecordRejection {
  index: number;
  field: string;
  message: string;
  quarantineId: string;
}
