import { normalizeAttTime } from "./att-time.ts";
import { InvalidInputError } from "./errors.ts";

/** Bounds on the normalized `att_time` (see `normalizeAttTime`), both inclusive. */
export interface TimeWindow {
  from: string;
  to: string;
}

export const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `from`/`to` query values → bounds comparable with stored keys. A date means the whole day; a time with
 * an offset is compared in UTC, one without in device-local time, as `att_time` itself is stored.
 *
 * @example
 * parseWindow("2026-11-22", "2026-11-22") // { from: "2026-11-22T00:00:00.000", to: "2026-11-22T23:59:59.999" }
 */
export function parseWindow(from: string | undefined, to: string | undefined): TimeWindow {
  const window = { from: bound(from, "from", "start") ?? "0000", to: bound(to, "to", "end") ?? "9999" };
  if (window.from > window.to) throw new InvalidInputError("malformed", "from", "from must not be after to");
  return window;
}

function bound(value: string | undefined, field: string, edge: "start" | "end"): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (DAY.test(value)) {
    const normalized = normalizeAttTime(`${value}T${edge === "start" ? "00:00:00.000" : "23:59:59.999"}`);
    if (normalized) return normalized;
  }
  const normalized = normalizeAttTime(value);
  if (!normalized) {
    throw new InvalidInputError(
      "malformed",
      field,
      `${field} must be a date (YYYY-MM-DD) or an ISO 8601 time`,
    );
  }
  return normalized;
}
