import { JetStreamApiError } from '@nats-io/jetstream';

/**
 * JetStream refuses a message for several reasons under one error code (10077, "stream store
 * failed") and tells them apart only in its text. Treating the code alone as "the result is
 * already there" once made a producer count claims refused by a full queue as published, and
 * drop them.
 */
const STORE_FAILED = 10077;

/** A second message for a subject that holds one (a result already published): the first stays the answer. */
export function isSubjectTaken(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === STORE_FAILED && /maximum messages per subject exceeded/i.test(err.message);
}

/** A stream at its message or byte limit (discard new): it takes the message once consumers make room. */
export function isStreamFull(err: unknown): boolean {
  return err instanceof Error && /maximum (messages|bytes) exceeded|insufficient resources|resource limits exceeded/i.test(err.message);
}
