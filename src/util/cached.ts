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
