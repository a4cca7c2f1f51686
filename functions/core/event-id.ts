import { createHash } from "node:crypto";

/**
 * A stable id derived from the parts that identify a fact, so every retry and every transport
 * (MQTT, HTTP, replay) gives consumers the same `eventId` to dedupe on.
 */
export function stableEventId(...parts: Array<string | number | boolean>): string {
  return createHash("sha256").update(parts.map(String).join("\u001f")).digest("hex").slice(0, 32);
}
