import * as v from "valibot";
import { recordDelivered, recordDeviceAck } from "../core/commands/track-delivery.ts";
import { InvalidInputError } from "../core/errors.ts";
import { CommandAck, CommandId } from "../core/schemas/command.ts";
import type { EmqxMessageAcked } from "../core/schemas/emqx.ts";
import { parseDeviceTopic } from "../core/topics.ts";
import { parseJson, parseOrReject } from "../core/validation.ts";
import type { IngestDeps, IngestResult } from "./types.ts";

/** A device PUBACKed a command: `delivered`. The command id comes from the user property, else the envelope. */
export async function ingestCommandAcked(deps: IngestDeps, event: EmqxMessageAcked): Promise<IngestResult> {
  const topic = parseDeviceTopic(event.topic);
  if (topic?.channel !== "cmd") {
    return { result: "ignored", reason: `message.acked on '${event.topic}' is not a command topic` };
  }
  const id = commandIdOf(event);
  if (!id)
    throw new InvalidInputError(
      "invalid",
      "payload.id",
      "payload.id: the acked command carries no valid command id",
    );
  const outcome = await recordDelivered(deps, topic.sn, id, event.id);
  return { result: "command", sn: topic.sn, id, status: outcome.command?.status, changed: outcome.changed };
}

/** A device's answer on `api/mqtt/v1/{sn}/ack`: `acked` or `failed`. */
export async function ingestCommandReply(
  deps: IngestDeps,
  sn: string,
  payload: string,
): Promise<IngestResult> {
  const ack = parseOrReject(CommandAck, parseJson(payload, "payload"), "payload");
  const outcome = await recordDeviceAck(deps, sn, ack);
  return { result: "command", sn, id: ack.id, status: outcome.command?.status, changed: outcome.changed };
}

function commandIdOf(event: EmqxMessageAcked): string | undefined {
  const fromProperty = event.pub_props?.["User-Property"]?.command_id;
  if (v.is(CommandId, fromProperty)) return fromProperty;
  try {
    const envelope = JSON.parse(event.payload) as { id?: unknown };
    return v.is(CommandId, envelope.id) ? envelope.id : undefined;
  } catch {
    return undefined;
  }
}
