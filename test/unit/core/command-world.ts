import { createCommand } from "../../../functions/core/commands/create-command.ts";
import { type PublishDeps, publishCommands } from "../../../functions/core/commands/publish-commands.ts";
import type { CommandRequest, CommandStatus } from "../../../functions/core/schemas/command.ts";
import {
  FakeClock,
  MemoryCommandQueue,
  MemoryCommandStore,
  MemoryDevicePublisher,
  MemoryEventQueue,
  withFaults,
} from "../../support/memory/index.ts";

/** Receives a message may take before the publisher recycles it, in these tests (below SQS's maxReceiveCount). */
export const RECYCLE_AFTER = 3;
/** The commands queue's maxReceiveCount: a message handed out this often goes to the DLQ. */
export const MAX_RECEIVES = 5;

/**
 * The command path on in-memory ports: the store, the FIFO queue, the events queue, EMQX and a fake
 * clock, each port wrapped so a test can make it fail. `publish()` is one publisher invocation: it
 * takes a batch from the queue, publishes it and ends it as the Lambda event source would.
 */
export function commandWorld() {
  const clock = new FakeClock();
  const store = withFaults(new MemoryCommandStore());
  const queue = withFaults(new MemoryCommandQueue(clock));
  const emqx = withFaults(new MemoryDevicePublisher());
  const events = new MemoryEventQueue();
  const deadLettered: string[] = [];
  const deps: PublishDeps & { queue: MemoryCommandQueue } = {
    commands: store.port,
    events,
    queue: queue.port,
    publisher: emqx.port,
    clock,
    recycle: { queue: queue.port, afterReceives: RECYCLE_AFTER },
  };
  return {
    clock,
    store,
    queue,
    emqx,
    events,
    deps,
    deadLettered,
    /** Creates a command; the clock moves on by 1 ms, so every command has its own `createdAt`. */
    async create(sn: string, request: CommandRequest) {
      const created = await createCommand(deps, sn, request);
      clock.advance(1);
      return created;
    },
    /** One publisher invocation over the next batch; messages past the receive budget go to the DLQ. */
    async publish(max = 10) {
      const batch = queue.target.receive(max);
      const report = await publishCommands(deps, batch);
      queue.target.settle(batch, report.failed);
      for (const message of [...queue.target.messages]) {
        if (message.inFlight || message.receiveCount < MAX_RECEIVES) continue;
        deadLettered.push(message.id);
        queue.target.settle([message], []);
      }
      return { batch, report };
    },
    async status(sn: string, id: string): Promise<CommandStatus | undefined> {
      return (await store.target.get(sn, id))?.status;
    },
    /** The statuses consumers of the events queue saw for a command, in order. */
    announced(id: string): string[] {
      return events
        .ofType("command_status")
        .filter((m) => m.data.id === id)
        .map((m) => String(m.data.status));
    },
    /** The command ids EMQX was asked to publish, call by call. */
    publishedIds(): string[][] {
      return emqx.target.calls.map((call) => call.map((r) => r.properties.user_properties.command_id ?? ""));
    },
  };
}

export type CommandWorld = ReturnType<typeof commandWorld>;
