import * as v from "valibot";
import { recordPresenceAndRequeue } from "../core/commands/requeue-on-connect.ts";
import { InvalidInputError } from "../core/errors.ts";
import { SerialNumber } from "../core/schemas/common.ts";
import type { EmqxClientConnected, EmqxClientDisconnected, EmqxRuleEvent } from "../core/schemas/emqx.ts";
import { parseDeviceTopic } from "../core/topics.ts";
import { ingestCommandAcked } from "./command-events.ts";
import { ingestDeviceMessage, presenceResult } from "./device-message.ts";
import type { IngestDeps, IngestResult } from "./types.ts";

/** Routes one EMQX rule event (already validated) to the domain. */
export async function ingestRuleEvent(deps: IngestDeps, event: EmqxRuleEvent): Promise<IngestResult> {
  if (event.event === "message.publish") {
    const topic = parseDeviceTopic(event.topic);
    if (!topic) {
      throw new InvalidInputError(
        "invalid",
        "topic",
        `topic '${event.topic}' is not api/mqtt/v1/{sn}/evt|st`,
      );
    }
    // Defence in depth: the broker's ACL already confines a device to its own topics, but a misconfigured
    // broker must not make the bridge store a punch one client published for another device.
    if (event.clientid !== topic.sn) {
      throw new InvalidInputError(
        "invalid",
        "clientid",
        `client '${event.clientid.slice(0, 80)}' may not publish for device '${topic.sn}': a device speaks only for itself`,
      );
    }
    return ingestDeviceMessage(deps, {
      sn: topic.sn,
      channel: topic.channel,
      payload: event.payload,
      transport: "mqtt",
      receivedAt: event.publish_received_at,
      emqxId: event.id,
      ...(event.metadata?.rule_id ? { ruleId: event.metadata.rule_id } : {}),
    });
  }
  if (event.event === "message.acked") return ingestCommandAcked(deps, event);
  return ingestLifecycle(deps, event);
}

async function ingestLifecycle(
  deps: IngestDeps,
  event: EmqxClientConnected | EmqxClientDisconnected,
): Promise<IngestResult> {
  // Devices connect with their serial number as client id; other clients (apps, dashboards) are not devices.
  if (!v.is(SerialNumber, event.clientid)) {
    return { result: "ignored", reason: `client id '${event.clientid}' is not a device serial number` };
  }
  const signal =
    event.event === "client.connected"
      ? { kind: "connected" as const, connectedAt: event.connected_at }
      : {
          kind: "disconnected" as const,
          connectedAt: event.connected_at,
          disconnectedAt: event.disconnected_at,
          reason: event.reason,
        };
  return presenceResult(event.clientid, await recordPresenceAndRequeue(deps, event.clientid, signal));
}
