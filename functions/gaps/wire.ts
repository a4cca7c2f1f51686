import type { DynamoDbGapStore } from "../adapters/dynamodb/gap-store.ts";
import { type CreateCommandDeps, createCommand } from "../core/commands/create-command.ts";
import { CommandConflictError } from "../core/commands/errors.ts";
import { isFinal } from "../core/commands/status.ts";
import type { DeviceReportSource } from "../core/gaps/ports.ts";
import type { GapRunDeps } from "../core/gaps/run.ts";
import type { GapConfig } from "../core/gaps/types.ts";

/**
 * The tracker's ports on the table and queues. Commands go through the existing create-command path;
 * a conflict there is a command this tracker sent before (a replayed pass whose body changed with the
 * time, e.g. `set_time`'s): already sent, nothing to do.
 */
export function gapRunDeps(
  deps: CreateCommandDeps,
  store: DynamoDbGapStore,
  reports: DeviceReportSource | undefined,
  config: GapConfig,
): GapRunDeps {
  return {
    gaps: store,
    punches: store,
    devices: store,
    ...(reports ? { reports } : {}),
    events: deps.events,
    clock: deps.clock,
    config,
    commandPending: async (sn, id) => {
      const command = await deps.commands.get(sn, id);
      return command !== undefined && !isFinal(command.status);
    },
    sendCommand: async (sn, request) => {
      try {
        await createCommand(deps, sn, request);
      } catch (error) {
        if (!(error instanceof CommandConflictError)) throw error;
      }
    },
  };
}
