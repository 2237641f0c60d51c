/**
 * Failed authentications counted per client address, in fixed windows: past the limit, the
 * address is refused (429) until its window ends, whatever key it sends, so that keys cannot be
 * guessed at the speed the service answers. Per process: with --workers N, an address may fail
 * up to N times the limit, spread over the workers.
 */
export class FailedAuthentications {
  private readonly byAddress = new Map<string, { failures: number; until: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    /** Addresses tracked at most: past it, windows that ended are dropped, then the oldest. */
    private readonly maxAddresses = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whole seconds until the address may try again; 0 when it may now. */
  blockedFor(address: string): number {
    const entry = this.byAddress.get(address);
    if (!entry) return 0;
    const left = entry.until - this.now();
    if (left <= 0) {
      this.byAddress.delete(address);
      return 0;
    }
    return entry.failures >= this.max ? Math.ceil(left / 1000) : 0;
  }

  record(address: string): void {
    const now = this.now();
    const entry = this.byAddress.get(address);
    if (entry && entry.until > now) {
      entry.failures++;
      return;
    }
    if (entry) this.byAddress.delete(address);
    if (this.byAddress.size >= this.maxAddresses) this.prune(now);
    this.byAddress.set(address, { failures: 1, until: now + this.windowMs });
  }

  private prune(now: number): void {
    for (const [address, entry] of this.byAddress) if (entry.until <= now) this.byAddress.delete(address);
    // Still full: the oldest windows go first (a Map keeps insertion order).
    for (const address of this.byAddress.keys()) {
      if (this.byAddress.size < this.maxAddresses) break;
      this.byAddress.delete(address);
    }
  }
}
