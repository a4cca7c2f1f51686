// Moved to ./memory/ (one folder, one index for every in-memory port); kept so existing imports work.
export { type CallCounts, MemoryEventQueue, MemoryPresenceStore } from "./memory/index.ts";
