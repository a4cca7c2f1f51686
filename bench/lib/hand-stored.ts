/** A punch as a terminal sends it (bench/lib/fixture.ts's `punch`). */
export interface RawPunch {
  user_id: string;
  att_time: string;
  att_state: number;
}

/**
 * The attendance item a hand-written handler stores for `punch`, with the table's keys and index keys
 * and no validation: what the floors of the ingest and HTTP benchmarks write.
 */
export function handStoredItem(sn: string, punch: RawPunch) {
  return {
    pk: `DEVICE#${sn}`,
    sk: `ATT#${punch.att_time}#${punch.user_id}`,
    gsi1pk: `ATT#${punch.att_time.slice(0, 10)}`,
    gsi1sk: `${punch.att_time}#${sn}#${punch.user_id}`,
    sn,
    userId: punch.user_id,
    attTime: punch.att_time,
    attState: punch.att_state,
    eventId: `${sn}-${punch.att_time}-${punch.user_id}`,
    receivedAt: new Date().toISOString(),
    transport: "mqtt",
  };
}
