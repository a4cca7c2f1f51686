import * as v from "valibot";
import { SerialNumber } from "./schemas/common.ts";

/** Root of every device topic: `api/mqtt/v1/{sn}/{channel}`. */
export const TOPIC_ROOT = "api/mqtt/v1";

/** A channel may have two levels (`shadow/update`): the topic is then `api/mqtt/v1/{sn}/shadow/update`. */
export const DEVICE_CHANNELS = ["evt", "st", "cmd", "ack", "shadow/update", "shadow/delta"] as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];

export interface DeviceTopic {
  sn: string;
  channel: DeviceChannel;
}

/** The topic filter a rule subscribes to for one channel, e.g. `api/mqtt/v1/+/evt`. */
export function channelFilter(channel: DeviceChannel): string {
  return `${TOPIC_ROOT}/+/${channel}`;
}

export function deviceTopic(sn: string, channel: DeviceChannel): string {
  return `${TOPIC_ROOT}/${v.parse(SerialNumber, sn)}/${channel}`;
}

/** Parses a device topic; `undefined` when the topic is not one of ours or the serial number is invalid. */
export function parseDeviceTopic(topic: string): DeviceTopic | undefined {
  const parts = topic.split("/");
  if (parts.length < 5 || parts.length > 6 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT)
    return undefined;
  const [, , , sn] = parts;
  const channel = parts.slice(4).join("/");
  if (!v.is(SerialNumber, sn)) return undefined;
  if (!DEVICE_CHANNELS.includes(channel as DeviceChannel)) return undefined;
  return { sn: sn as string, channel: channel as DeviceChannel };
}
