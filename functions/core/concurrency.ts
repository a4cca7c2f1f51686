/**
 * Maps `items` with at most `limit` calls in flight, keeping the order of results. When a call fails,
 * no further item starts, and the first error is thrown only once the calls in flight have ended:
 * nothing keeps writing after the caller saw the failure (on Lambda, a frozen call would resume at the
 * next invocation, after a retry may have decided what exists).
 *
 * @example
 * const stored = await mapWithConcurrency(sns, 25, (sn) => store.create(commandFor(sn)));
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  // A live punch is one item, the common case: it needs no workers.
  if (items.length === 1) return [await fn(items[0] as T, 0)];
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
