import { MAX_COMMAND_PAYLOAD_BYTES } from "../core/commands/envelope.ts";
import { InvalidInputError } from "../core/errors.ts";
import { CommandId, CommandRequest } from "../core/schemas/command.ts";
import { parseJson, parseOrReject } from "../core/validation.ts";

/** Largest request body: the publisher fails any command whose MQTT payload is larger anyway. */
export const MAX_BODY_BYTES = MAX_COMMAND_PAYLOAD_BYTES;

const REQUEST_FIELDS = Object.keys(CommandRequest.entries);

/** A path's command id, or a 400 naming `id`. */
export function parseCommandId(value: string | undefined): string {
  return parseOrReject(CommandId, value, "id", 400);
}

/**
 * The body of `POST /v1/devices/{sn}/commands`: 413 when too large, 400 `body` when not a JSON object,
 * 422 naming the field otherwise.
 *
 * @example
 * parseCommandRequest('{"op":"sync_user","ttlSeconds":60}') // { op: "sync_user", ttlSeconds: 60 }
 * parseCommandRequest('{"op":"x","colour":1}')              // throws 422, field "colour"
 */
export function parseCommandRequest(raw: string): CommandRequest {
  const bytes = Buffer.byteLength(raw);
  if (bytes > MAX_BODY_BYTES) {
    throw new InvalidInputError(
      413,
      "body",
      `body is ${bytes} bytes, more than the ${MAX_BODY_BYTES} allowed`,
    );
  }
  const body = parseJson(raw, "body");
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new InvalidInputError(400, "body", "body must be a JSON object");
  }
  // Checked here rather than left to the schema: its strictObject message names valibot's `expected`
  // ("never") instead of the key, so the client would not learn which field to remove.
  const unknown = Object.keys(body).find((key) => !REQUEST_FIELDS.includes(key));
  if (unknown !== undefined) {
    // An empty key cannot name itself: the field is then the body that holds it.
    const field = unknown || "body";
    const what = unknown ? "unknown field" : "a field with an empty name";
    throw new InvalidInputError(
      422,
      field,
      `${field}: ${what}; a command has only ${REQUEST_FIELDS.join(", ")}`,
    );
  }
  // The schema's `v.record` lets an array through (stored as {"0": ...}); a device expects an object.
  const data = (body as { data?: unknown }).data;
  if (Array.isArray(data)) throw new InvalidInputError(422, "data", "data: data must be an object");
  return parseOrReject(CommandRequest, body, "");
}
