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

/** Text held before a write: large enough that the cost of a write is spread over many results. */
const BUFFERED_BYTES = 64 * 1024;

/**
 * Output for many small pieces (a result per claim): held and written in blocks, since a
 * stream write and the wait for it cost about as much as serialising a result. A block goes out
 * when it is full, and whatever is held goes out as soon as the process has nothing else to do
 * (the next turn of the event loop: waiting for input, for instance), so a reader at the other
 * end of a pipe still sees each result about when it is made. Memory stays bounded: a full
 * block waits for the stream to drain, and so does the next piece after a block the stream
 * could not take at once.
 */
export class BufferedWriter {
  private held = '';
  private flushSoon: NodeJS.Immediate | undefined;
  /** The stream's own buffer is full: the next piece waits for it to drain. */
  private draining: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly blockBytes = BUFFERED_BYTES,
  ) {}

  /**
   * Adds text. Undefined when it is taken at once (nearly always): a loop over many results
   * then waits for nothing, not even a resolved promise; a promise when the stream is behind,
   * or a block goes out, to be awaited before the next write.
   */
  write(text: string): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.draining) return this.draining.then(() => this.hold(text));
    return this.hold(text);
  }

  private hold(text: string): Promise<void> | undefined {
    this.held += text;
    if (this.held.length >= this.blockBytes) return this.flush();
    this.flushSoon ??= setImmediate(() => {
      this.flushSoon = undefined;
      this.send();
    });
    return undefined;
  }

  /** Writes what is held, and waits for the stream to take it. */
  async flush(): Promise<void> {
    if (this.flushSoon) clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    this.send();
    if (this.draining) await this.draining;
    if (this.failure) throw this.failure;
  }

  private send(): void {
    if (this.held === '' || this.failure) return;
    const text = this.held;
    this.held = '';
    const sent: Promise<void> = write(this.stream, text).then(
      () => {
        if (this.draining === sent) this.draining = undefined;
      },
      (err: Error) => {
        this.failure ??= err;
        if (this.draining === sent) this.draining = undefined;
      },
    );
    this.draining = sent;
  }
}
