import * as v from "valibot";
import type { DeliveryTransport, DeviceTransportStore } from "../../core/device-transport.ts";
import { StoredTransportItem } from "./items.ts";
import { keys } from "./keys.ts";
import { TableAdapter } from "./table-adapter.ts";

/**
 * `DEVICE#{sn}` / `TRANSPORT`, present once an operator set a transport: the publisher's one
 * BatchGetItem per batch reads it beside the commands and hold marks (`command-store.ts`), so knowing
 * costs no extra request.
 */
export class DynamoDbDeviceTransportStore extends TableAdapter implements DeviceTransportStore {
  async get(sn: string): Promise<DeliveryTransport> {
    const read = (item: Record<string, unknown>) => v.parse(StoredTransportItem, item).transport;
    // No item: an operator never set one, so commands go over MQTT.
    return (await this.itemByKey(transportKey(sn), "device transport", read)) ?? "mqtt";
  }

  async set(sn: string, transport: DeliveryTransport, at: string): Promise<void> {
    // `mqtt` is written too rather than deleted: the API's role has no DeleteItem (infra/lib/permissions.ts).
    const item = { ...transportKey(sn), type: "device_transport", sn, transport, updatedAt: at };
    await this.putItem("device transport", { Item: item });
  }
}

export const TRANSPORT_SK = keys.transport();
export const transportKey = (sn: string) => ({ pk: keys.device(sn), sk: TRANSPORT_SK });
