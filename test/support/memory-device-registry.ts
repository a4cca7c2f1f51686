// Moved to ./memory/ (one folder, one index for every in-memory port); kept so existing imports work.
export { FakeClock, MemoryDeviceRegistry } from "./memory/index.ts";
