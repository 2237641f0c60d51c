/**
 * `produce`, called at most once per `ms`: callers within that time get the value it last made,
 * and callers while it runs share that run. With `ms` 0 only concurrent callers share.
 */
export function cachedFor<T>(ms: number, produce: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let made: { value: T; at: number } | undefined;
  return () => {
    if (made && performance.now() - made.at < ms) return Promise.resolve(made.value);
    running ??= produce().then(
      (value) => {
        made = { value, at: performance.now() };
        running = undefined;
        return value;
      },
      (err: unknown) => {
        running = undefined;
        throw err;
      },
    );
    return running;
  };
}

/**
 * A Map of answers for the keys asked most lately, forgotten all at once when `limit` is
 * reached: no eviction order to keep on the hot path, and memory bounded whatever the input.
 * Codes and short values repeat from claim to claim, so the few thousand last asked for serve
 * nearly every lookup.
 */
export class RecentAnswers<K, V> {
  private readonly answers = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    return this.answers.get(key);
  }

  /** Keeps `value` for `key` and hands it back. */
  keep(key: K, value: V): V {
    if (this.answers.size >= this.limit) this.answers.clear();
    this.answers.set(key, value);
    return value;
  }
}
