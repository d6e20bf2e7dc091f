/**
 * `fn` over every item with at most `limit` calls pending at once; results in the items' order. File work goes
 * through libuv's thread pool: a few calls in flight keep it busy, one at a time leaves it idle between calls.
 * The first rejection rejects the whole (calls already started finish on their own).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
