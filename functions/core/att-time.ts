/** An offset as RFC 3339 writes it (`time-numoffset`: hour 00-23, minute 00-59), the colon optional. */
const OFFSET = "[+-](?:[01]\\d|2[0-3]):?[0-5]\\d";
const ATT_TIME = new RegExp(
  `^(\\d{4})-(\\d{2})-(\\d{2})[T ](\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?(Z|${OFFSET})?$`,
  "i",
);

/**
 * The sortable form of an `att_time`, used in keys so that the same punch always gets the same key.
 *
 * With an offset the instant is converted to UTC (`2026-11-22T00:01:02.000Z`); without one the time is
 * device-local and kept as such (`2026-11-22T08:01:02.000`), since the bridge cannot know the terminal's zone.
 * Returns `undefined` for anything that is not a real calendar time.
 *
 * @example
 * normalizeAttTime("2026-11-22 08:01:02")        // "2026-11-22T08:01:02.000"
 * normalizeAttTime("2026-11-22T08:01:02+08:00")  // "2026-11-22T00:01:02.000Z"
 */
export function normalizeAttTime(raw: string): string | undefined {
  const match = ATT_TIME.exec(raw.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, frac = "", zone] = match;
  const ms = Number(frac.padEnd(3, "0").slice(0, 3));
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const roundTrip = new Date(local).toISOString();
  if (roundTrip.slice(0, 19) !== `${y}-${mo}-${d}T${h}:${mi}:${s}`) return undefined;
  if (!zone) return roundTrip.slice(0, 23);
  return new Date(local - offsetMinutes(zone) * 60_000).toISOString();
}

function offsetMinutes(zone: string): number {
  if (zone.toUpperCase() === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}
