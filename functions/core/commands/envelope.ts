import { isShadowDelta, shadowDeltaMessage } from "../shadow/delta-command.ts";
import { deviceTopic } from "../topics.ts";
import type { PublishRequest } from "./ports.ts";
import type { Command } from "./types.ts";

/** Largest payload the publisher sends; EMQX's default `max_packet_size` is 1 MB, with room for headers. */
export const MAX_COMMAND_PAYLOAD_BYTES = 256 * 1024;

/**
 * The MQTT message for a command: envelope `{"id","op","data"}` on `api/mqtt/v1/{sn}/cmd` at QoS 1, the id
 * also in user properties (MQTT 5 devices), expiring with the command's TTL. Returns a reason instead
 * when EMQX would refuse it, so one bad command cannot reject a whole bulk request.
 */
export function toPublishRequest(command: Command, now: Date): PublishRequest | { invalid: string } {
  // A shadow delta rides the same pipeline but has its own topic and payload.
  const { topic, payload } = isShadowDelta(command)
    ? shadowDeltaMessage(command)
    : {
        topic: deviceTopic(command.sn, "cmd"),
        payload: JSON.stringify({ id: command.id, op: command.op, data: command.data }),
      };
  const bytes = Buffer.byteLength(payload);
  if (bytes > MAX_COMMAND_PAYLOAD_BYTES) {
    return {
      invalid: `payload is ${bytes} bytes, more than the ${MAX_COMMAND_PAYLOAD_BYTES} a command may have`,
    };
  }
  const expiry = command.expiresAt
    ? Math.max(1, Math.ceil((Date.parse(command.expiresAt) - now.getTime()) / 1000))
    : undefined;
  return {
    topic,
    payload,
    qos: 1,
    retain: false,
    properties: {
      ...(expiry ? { message_expiry_interval: expiry } : {}),
      user_properties: { command_id: command.id },
    },
  };
}

export const isExpired = (command: Command, now: Date) =>
  command.expiresAt !== undefined && Date.parse(command.expiresAt) <= now.getTime();
