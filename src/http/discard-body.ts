import type { IncomingMessage } from 'node:http';

/** How long the unread rest of a refused body is read and dropped before the connection is cut. */
export const DISCARD_GRACE_MS = 5000;

/**
 * When the service answers before reading the whole body (a body over the limit, a batch past
 * its claim limit), closing the connection at once would make the kernel reset it, and a client
 * still sending would lose the answer. So the rest of the body is read and dropped (never kept),
 * for a few seconds at most; a client still sending after that is cut off. Resolves once the
 * body has ended or the connection was cut.
 */
/** Whether some of the request body has not been read yet. */
export function bodyUnread(request: IncomingMessage): boolean {
  return !(request.complete || request.readableEnded || request.destroyed);
}

export function discardRestOfBody(request: IncomingMessage, graceMs = DISCARD_GRACE_MS): Promise<void> {
  if (!bodyUnread(request)) return Promise.resolve();
  return new Promise((resolve) => {
    const cut = setTimeout(() => {
      request.socket?.destroy();
      resolve();
    }, graceMs);
    cut.unref();
    const done = () => {
      clearTimeout(cut);
      resolve();
    };
    request.once('end', done);
    request.once('close', done);
    request.removeAllListeners('data');
    request.on('data', () => undefined);
    request.resume();
  });
}
