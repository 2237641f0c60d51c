/** Where a command writes; tests pass buffers, the real CLI passes process streams. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Bad usage: the command prints the message and its help, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

/** Writes and waits for the stream to accept it, so large outputs keep memory flat. */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.write(text)) return resolve();
    // Each listener goes when the other fires: a long run waits for 'drain' many times, and
    // listeners left behind would pile up on the stream.
    const drained = () => {
      stream.off('error', failed);
      resolve();
    };
    const failed = (err: Error) => {
      stream.off('drain', drained);
      reject(err);
    };
    stream.once('drain', drained);
    stream.once('error', failed);
  });
}
