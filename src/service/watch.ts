import { watch, type FSWatcher } from 'node:fs';

/** How long the files must be quiet before a reload: an editor's save is several events. */
export const WATCH_DEBOUNCE_MS = 300;

/**
 * Calls `onChange` once the rules folder has been quiet for a moment after a change
 * (SCRUB_WATCH=1). Returns a function that stops watching.
 */
export function watchRules(dir: string, onChange: () => void, onError: (err: Error) => void, debounceMs = WATCH_DEBOUNCE_MS): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { recursive: true, persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
  } catch (err) {
    onError(err as Error);
    return () => undefined;
  }
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
