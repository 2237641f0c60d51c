/**
 * An error as the log may show it: its kind and where it was thrown, not its message. A message
 * can quote the data being processed (a claim's values are protected health information), so
 * only the stack frames are kept. The request id ties the log line to the caller.
 */
export function loggableError(err: unknown): { type: string; code?: string; frames: string[] } {
  if (!(err instanceof Error)) return { type: typeof err, frames: [] };
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 12)
    .map((line) => line.trim());
  const code = (err as { code?: unknown }).code;
  return { type: err.name, ...(typeof code === 'string' ? { code } : {}), frames };
}
