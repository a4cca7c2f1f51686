import type { CommandStore } from "../core/commands/ports.ts";
import { type BridgeMetrics, METRIC } from "../core/metrics.ts";

/**
 * The command store, counting every status a command reaches (`CommandsByStatus`, dimension `status`)
 * at the one place all of them pass: a created command (`queued`) and every accepted transition.
 */
export function countingCommandStore(store: CommandStore, metrics: BridgeMetrics): CommandStore {
  return {
    get: (sn, id) => store.get(sn, id),
    readBatch: (pointers) => store.readBatch(pointers),
    hold: (sn, through) => store.hold(sn, through),
    release: (sn, through) => store.release(sn, through),
    markWaiting: (sn, at) => store.markWaiting(sn, at),
    clearWaiting: (sn, markedAt) => store.clearWaiting(sn, markedAt),
    markNoneWaiting: (sn) => store.markNoneWaiting(sn),
    markEnqueued: (sn, id, at, announced) => store.markEnqueued(sn, id, at, announced),
    markAnnounced: (sn, id, status) => store.markAnnounced(sn, id, status),
    listByStatus: (sn, status, limit, cursor) => store.listByStatus(sn, status, limit, cursor),
    listByDevice: (sn, limit, cursor) => store.listByDevice(sn, limit, cursor),
    countByStatus: (sn, status) => store.countByStatus(sn, status),
    async create(command) {
      const result = await store.create(command);
      if (result.created) metrics.count(METRIC.CommandsByStatus, 1, { status: command.status });
      return result;
    },
    async transition(sn, id, to, at, fields, onlyFrom) {
      const moved = await store.transition(sn, id, to, at, fields, onlyFrom);
      if (moved) metrics.count(METRIC.CommandsByStatus, 1, { status: to });
      return moved;
    },
  };
}
