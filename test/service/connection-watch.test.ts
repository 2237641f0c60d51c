import { describe, expect, it } from 'vitest';
import { ConnectionWatch, PROBE_AFTER_MS, PROBE_TIMEOUT_MS, STARVE_CONNECTIONS, STARVE_MS } from '../../src/service/connection-watch.js';

/** The primary's judgement of its workers, from their once-a-second reports, on a fake clock. */
function watch() {
  let now = 0;
  const probes = { opened: 0, closed: 0 };
  const w = new ConnectionWatch({
    now: () => now,
    openProbe: () => {
      probes.opened++;
      return () => probes.closed++;
    },
  });
  /** Each worker reports its count; then the clock moves one second. */
  const second = (counts: Record<number, number>, stopping: number[] = []) => {
    for (const [worker, accepted] of Object.entries(counts)) w.report(Number(worker), accepted, stopping.includes(Number(worker)));
    const starved = w.starved();
    now += 1000;
    return starved;
  };
  return { w, second, probes };
}

describe('the primary watching its workers receive connections', () => {
  it('finds a worker starved once its count stood still for STARVE_MS while the others were handed STARVE_CONNECTIONS', () => {
    const { second } = watch();
    expect(second({ 1: 0, 2: 0 })).toEqual([]);
    const perSecond = Math.ceil(STARVE_CONNECTIONS / 2);
    const seen: number[][] = [];
    for (let s = 1; s <= STARVE_MS / 1000 + 1; s++) seen.push(second({ 1: s * perSecond, 2: 0 }));
    expect(seen.slice(0, STARVE_MS / 1000 - 1).flat()).toEqual([]);
    expect(seen.at(-1)).toEqual([2]);
  });

  it('does not judge a worker while the others were handed fewer than STARVE_CONNECTIONS', () => {
    const { second } = watch();
    for (let s = 0; s < 10; s++) expect(second({ 1: Math.min(s, STARVE_CONNECTIONS - 1), 2: 0 })).toEqual([]);
  });

  it('does not judge a worker that stopped reporting (blocked or stopped) or that is stopping', () => {
    const { second } = watch();
    second({ 1: 0, 2: 0, 3: 0 });
    for (let s = 1; s <= 8; s++) expect(second({ 1: s * STARVE_CONNECTIONS, 3: 0 }, [3])).toEqual([]);
  });

  it('with no connections at all, probes the port after PROBE_AFTER_MS; a worker that takes the probe clears everyone', () => {
    const { second, probes } = watch();
    let s = 0;
    while (probes.opened === 0) expect(second({ 1: 0, 2: 0 }), `second ${s++}`).toEqual([]);
    expect(s).toBe(PROBE_AFTER_MS / 1000 + 1);
    expect(second({ 1: 1, 2: 0 })).toEqual([]);
    expect(probes).toEqual({ opened: 1, closed: 1 });
  });

  it('finds every reporting worker starved when nobody takes the probe within PROBE_TIMEOUT_MS', () => {
    const { second, probes } = watch();
    while (probes.opened === 0) second({ 1: 5, 2: 5 });
    const seen: number[][] = [];
    for (let s = 0; s < PROBE_TIMEOUT_MS / 1000; s++) seen.push(second({ 1: 5, 2: 5 }));
    expect(seen.slice(0, -1).flat()).toEqual([]);
    expect(seen.at(-1)).toEqual([1, 2]);
    expect(probes.closed).toBe(1);
  });
});
