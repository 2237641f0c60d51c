import type { PackHolder } from './pack-holder.js';

/** What the HTTP layer needs to know about the process it runs in. */
export interface ServiceState {
  /** The packs serving now. */
  readonly packs: PackHolder;
  /** Set on SIGTERM: readiness turns false; requests are still served, each with Connection: close. */
  shuttingDown: boolean;
  /** Set once the server closes: a request on a kept-alive connection gets 503 shutting-down. */
  draining: boolean;
}
