import type { DeviceIdentity, DeviceRegistry } from "../../../functions/core/broker-access/index.ts";

/** The device registry in memory, counting reads and writes like the DynamoDB one would cost. */
export class MemoryDeviceRegistry implements DeviceRegistry {
  readonly entries = new Map<string, DeviceIdentity>();
  reads = 0;
  writes = 0;

  async find(sn: string) {
    this.reads++;
    const found = this.entries.get(sn);
    return found ? { ...found } : undefined;
  }

  async registerIfAbsent(identity: DeviceIdentity) {
    this.writes++;
    if (!this.entries.has(identity.sn)) this.entries.set(identity.sn, { ...identity });
  }

  async recordLogin(sn: string, at: string) {
    this.writes++;
    const found = this.entries.get(sn);
    if (found) found.lastLoginAt = at;
  }

  async rotate(sn: string, at: string) {
    this.writes++;
    const found = this.entries.get(sn);
    const next: DeviceIdentity = found
      ? { ...found, generation: found.generation + 1, updatedAt: at }
      : { sn, enabled: true, generation: 1, createdAt: at, registeredBy: "operator", updatedAt: at };
    this.entries.set(sn, next);
    return { ...next };
  }

  async setEnabled(sn: string, enabled: boolean, at: string) {
    this.writes++;
    const found = this.entries.get(sn);
    if (!found) return undefined;
    found.enabled = enabled;
    found.updatedAt = at;
    return { ...found };
  }
}
