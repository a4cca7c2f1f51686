/**
 * How a device takes its commands. `mqtt` (the default): the publisher publishes them through EMQX.
 * `http`: the device only polls `GET /v1/devices/{sn}/commands/next`, so the publisher does not call EMQX
 * for it; its commands wait as `pending` (with {@link HTTP_POLL_REASON}) until a poll takes them, and a
 * poll or a reconnect expires those whose TTL passed. An operator sets it (`PUT /v1/devices/{sn}/transport`).
 */
export const DELIVERY_TRANSPORTS = ["mqtt", "http"] as const;
export type DeliveryTransport = (typeof DELIVERY_TRANSPORTS)[number];

export const HTTP_POLL_REASON =
  "waiting for the HTTP device to poll GET /v1/devices/{sn}/commands/next (its transport is http)";

/** Per-device transport; the publisher reads it in its batch read (see `CommandBatchRead.httpOnly`). */
export interface DeviceTransportStore {
  get(sn: string): Promise<DeliveryTransport>;
  set(sn: string, transport: DeliveryTransport, at: string): Promise<void>;
}
