import type { Readable } from 'node:stream';
import { errorCodes, type FastifyError } from 'fastify';
import type { ReadProblem } from '../formats/index.js';

/**
 * A request body read as it arrives instead of whole (a claim file sent to the batch route), with
 * the checks Fastify makes on a body it reads whole, raising the same errors, so that the client
 * gets the same answers: more than `limit` bytes is FST_ERR_CTP_BODY_TOO_LARGE (413), a body
 * that ends short of its Content-Length is FST_ERR_CTP_INVALID_CONTENT_LENGTH, and a body cut
 * off (the client went away) is an error with status 400.
 */
export class ArrivingBody {
  /** Bytes read so far. */
  received = 0;

  constructor(
    private readonly payload: Readable,
    readonly contentType: string,
    readonly limit: number,
    /** The Content-Length header; NaN when the body is chunked. */
    private readonly declared: number,
  ) {}

  /**
   * The body's chunks, as they come. Stopping early (a batch past its claim limit) leaves the
   * connection open: the rest of the body is then the caller's to drop (discardRestOfBody).
   */
  async *chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of this.payload.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer | string>) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.received += bytes.length;
        if (this.received > this.limit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
        yield bytes;
      }
    } catch (err) {
      const status = (err as FastifyError).statusCode;
      if (!(typeof status === 'number' && status >= 400)) (err as FastifyError).statusCode = 400;
      throw err;
    }
    if (!Number.isNaN(this.declared) && this.received !== this.declared) throw new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH();
  }

  /** The whole body, for a reader that needs all of it (an asynchronous batch goes on the queue whole). */
  async whole(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.chunks()) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
}

/** Whether an error is the body running past its limit. */
export function isBodyTooLarge(err: unknown): boolean {
  return (err as FastifyError | undefined)?.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
}

/**
 * A body that ran past its limit after the answer had begun (a chunked upload: no Content-Length
 * told the size up front), said in the answer where it happened. The answer's status was already
 * sent, so it cannot be the 413 a body refused up front gets.
 */
export function bodyTooLargeProblem(limit: number): ReadProblem {
  return {
    code: 'body-too-large',
    severity: 'error',
    message: `The body is larger than SCRUB_BATCH_BODY_LIMIT (${limit} bytes), which was found only after the answer had begun: the body was not read past that point, and no claim after the last result above was scrubbed. Split the file; a body sent with its Content-Length is refused (413) before anything is scrubbed.`,
    details: { limit },
  };
}
