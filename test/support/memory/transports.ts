import type { CommandBatchRead } from "../../../functions/core/commands/ports.ts";
import type { CommandQueueMessage } from "../../../functions/core/commands/types.ts";
import type { DeliveryTransport, DeviceTransportStore } from "../../../functions/core/device-transport.ts";
import { MemoryCommandStore } from "./commands.ts";

/**
 * The command store with devices' transports next to it: like the DynamoDB store, a batch read says
 * which of its devices take commands over HTTP only (`httpOnly`); `transports` is the port the API sets.
 */
export class TransportAwareCommandStore extends MemoryCommandStore {
  readonly httpOnly = new Set<string>();

  readonly transports: DeviceTransportStore = {
    get: async (sn) => (this.httpOnly.has(sn) ? "http" : "mqtt"),
    set: async (sn, transport: DeliveryTransport) => {
      if (transport === "http") this.httpOnly.add(sn);
      else this.httpOnly.delete(sn);
    },
  };

  override async readBatch(pointers: readonly CommandQueueMessage[]): Promise<CommandBatchRead> {
    const read = await super.readBatch(pointers);
    return { ...read, httpOnly: new Set(pointers.map((p) => p.sn).filter((sn) => this.httpOnly.has(sn))) };
  }
}
