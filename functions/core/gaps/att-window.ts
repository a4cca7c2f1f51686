/**
 * Arithmetic on normalized `att_time`s (see core/att-time.ts): a UTC one ends in `Z`, a device-local one
 * has no zone. Both sort as text; shifting keeps the form, so a window stays comparable with the keys.
 */
export function shiftAt(at: string, ms: number): string {
  const zoned = at.endsWith("Z");
  const shifted = new Date(Date.parse(zoned ? at : `${at}Z`) + ms).toISOString();
  return zoned ? shifted : shifted.slice(0, 23);
}

/** Epoch ms of a normalized `att_time`; a device-local one is read as if UTC (only differences matter). */
export function atMs(at: string): number {
  return Date.parse(at.endsWith("Z") ? at : `${at}Z`);
}

export const isZoned = (at: string) => at.endsWith("Z");

/** Where to look for punches sorting between two neighbours, whichever is later (a clock set back). */
export function windowAround(
  a: string | undefined,
  b: string | undefined,
  slackMs: number,
): { from?: string; to?: string } {
  const known = [a, b].filter((at): at is string => at !== undefined).sort();
  const first = known[0];
  const last = known.at(-1);
  if (!first || !last) return {};
  return { from: shiftAt(first, -slackMs), ...(b === undefined ? {} : { to: shiftAt(last, slackMs) }) };
}
