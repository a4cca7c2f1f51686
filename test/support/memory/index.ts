/**
 * In-memory adapters for every port of functions/core, with the DynamoDB, SQS and EMQX adapters'
 * contracts (conditional writes, versions, not-found, paging), a fake clock and a fault injector, so
 * the domain's use cases are tested in milliseconds without Java. Integration and e2e tests keep the
 * real parts.
 */
export { MemoryApiKeyStore } from "./api-keys.ts";
export { MemoryAttendanceStore } from "./attendance.ts";
export { FAKE_CLOCK_START, FakeClock } from "./clock.ts";
export { DEDUPLICATION_WINDOW_MS, MemoryCommandQueue, MemoryCommandStore } from "./commands.ts";
export { FAULT_KINDS, type Fault, FunctionInstance, ProcessCrash } from "./crash.ts";
export { MemoryDeviceRegistry } from "./device-registry.ts";
export {
  FAILED_TO_DISPATCH,
  MemoryBrokerSessions,
  MemoryDevicePublisher,
  NO_MATCHING_SUBSCRIBERS,
} from "./emqx.ts";
export { MemoryEventQueue, type QueuedMessage } from "./event-queue.ts";
export { withFaults } from "./faults.ts";
export { pageOf } from "./paging.ts";
export { type CallCounts, MemoryPresenceStore } from "./presence.ts";
export { MemoryQuarantineStore } from "./quarantine.ts";
export { TransportAwareCommandStore } from "./transports.ts";
