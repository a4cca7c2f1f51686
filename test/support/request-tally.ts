/** Requests per operation name, e.g. `{ PutItemCommand: 1 }`, from the names an SDK middleware recorded. */
export function tally(calls: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const call of calls) out[call] = (out[call] ?? 0) + 1;
  return out;
}
