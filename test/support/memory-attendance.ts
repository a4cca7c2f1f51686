// Moved to ./memory/ (one folder, one index for every in-memory port); kept so existing imports work.
export {
  FAULT_KINDS,
  FakeClock,
  type Fault,
  FunctionInstance,
  MemoryAttendanceStore,
  MemoryEventQueue as MemoryAttendanceQueue,
  ProcessCrash,
  type QueuedMessage,
} from "./memory/index.ts";
