// ConfirmTracker: tags are consecutive; single and multiple acks/nacks settle the right publishes
// in any order, the window compacts, and take/fail hand back exactly the outstanding ones.
import { describe, expect, it } from '@jest/globals';
import { ConfirmTracker } from '../../lib/channel/confirms.js';
import { PublishNacked } from '../../lib/errors.js';

type State = 'pending' | 'acked' | 'nacked';

function track(t: ConfirmTracker, n: number): State[] {
  const states: State[] = [];
  for (let i = 0; i < n; i++) {
    states.push('pending');
    t.register(Buffer.from(String(i + 1)), {}, '', 'q', false, false, true).then(
      () => {
        states[i] = 'acked';
      },
      (e: unknown) => {
        states[i] = e instanceof PublishNacked ? 'nacked' : 'pending';
      },
    );
  }
  return states;
}
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ConfirmTracker', () => {
  it('single acks out of order, then a multiple ack covering the rest', async () => {
    const t = new ConfirmTracker();
    const s = track(t, 6);
    t.ack(3, false);
    t.ack(1, false);
    t.nack(5, false);
    await flush();
    expect(s).toEqual(['acked', 'pending', 'acked', 'pending', 'nacked', 'pending']);
    expect(t.size).toBe(3);
    t.ack(6, true);
    await flush();
    expect(s).toEqual(['acked', 'acked', 'acked', 'acked', 'nacked', 'acked']);
    expect(t.size).toBe(0);
  });

  it('repeated, stale and unknown tags change nothing; a multiple ack below the settled front is harmless', async () => {
    const t = new ConfirmTracker();
    const s = track(t, 4);
    t.ack(2, true);
    t.ack(2, false);
    t.ack(1, true);
    t.ack(99, false);
    t.ack(0, true);
    await flush();
    expect(s).toEqual(['acked', 'acked', 'pending', 'pending']);
    expect(t.size).toBe(2);
    t.ack(4, false);
    t.ack(3, true);
    await flush();
    expect(s.every((x) => x === 'acked')).toBe(true);
  });

  it('stays right across compaction of a long settled prefix', async () => {
    const t = new ConfirmTracker();
    const s = track(t, 5000);
    for (let tag = 1; tag <= 4000; tag += 7) t.ack(Math.min(tag + 6, 4000), true);
    t.ack(4500, false);
    await flush();
    expect(s.slice(0, 4000).every((x) => x === 'acked')).toBe(true);
    expect(s[4499]).toBe('acked');
    expect(t.size).toBe(999);
    const more = track(t, 10); // tags 5001..5010
    t.ack(5005, true);
    await flush();
    expect(s.filter((x) => x === 'pending').length).toBe(0);
    expect(more.slice(0, 5)).toEqual(['acked', 'acked', 'acked', 'acked', 'acked']);
    expect(more.slice(5)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
  });

  it('takeUnconfirmed returns the outstanding ones in tag order and restarts tags at 1', async () => {
    const t = new ConfirmTracker();
    track(t, 5);
    t.ack(2, false);
    t.ack(4, false);
    const left = t.takeUnconfirmed().map((p) => p.body?.toString());
    expect(left).toEqual(['1', '3', '5']);
    expect(t.size).toBe(0);
    const again = track(t, 1);
    t.ack(1, false); // the new session's tag 1
    await flush();
    expect(again).toEqual(['acked']);
  });

  it('failAll rejects every outstanding publish; waitForAll resolves when the last settles', async () => {
    const t = new ConfirmTracker();
    const errs: unknown[] = [];
    for (let i = 0; i < 3; i++) t.register(Buffer.alloc(0), {}, '', 'q', false, false, false).catch((e: unknown) => errs.push(e));
    t.ack(1, false);
    const idle = t.waitForAll();
    let done = false;
    void idle.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    await flush();
    expect(done).toBe(false);
    const boom = new Error('gone');
    t.failAll(boom);
    await flush();
    expect(errs).toEqual([boom, boom]);
    const t2 = new ConfirmTracker();
    track(t2, 2);
    const w = t2.waitForAll();
    t2.ack(2, true);
    await expect(w).resolves.toBeUndefined();
  });
});
