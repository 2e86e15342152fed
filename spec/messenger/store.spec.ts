// Proton's tracking window: consecutive sequence numbers, only the last `window` entries keep a
// status, the oldest fall out first (and are reported), forgetting advances the window's low end.
import { describe, expect, it } from '@jest/globals';
import { TrackingStore } from '../../lib/messenger/store.js';

describe('TrackingStore', () => {
  it('window 0 tracks nothing: each entry falls out at once', () => {
    const s = new TrackingStore<string>();
    const out: string[] = [];
    expect(s.track('a', (e) => out.push(e))).toBe(0);
    expect(s.track('b', (e) => out.push(e))).toBe(1);
    expect(out).toEqual(['a', 'b']);
    expect(s.get(0)).toBeUndefined();
    expect(s.nextSequence).toBe(2);
  });

  it('keeps the last `window` entries, dropping the oldest first', () => {
    const s = new TrackingStore<number>();
    s.window = 3;
    const out: number[] = [];
    for (let i = 0; i < 5; i++) s.track(i * 10, (e) => out.push(e));
    expect(out).toEqual([0, 10]);
    expect([s.get(1), s.get(2), s.get(3), s.get(4)]).toEqual([undefined, 20, 30, 40]);
    expect(s.upTo(3)).toEqual([20, 30]);
    expect(s.upTo(99)).toEqual([20, 30, 40]);
  });

  it('forgetting the oldest entries lets newer ones stay longer', () => {
    const s = new TrackingStore<number>();
    s.window = 2;
    const out: number[] = [];
    s.track(0, (e) => out.push(e));
    s.track(1, (e) => out.push(e));
    s.forget(0);
    s.track(2, (e) => out.push(e));
    expect(out).toEqual([]);
    expect([...s.all()]).toEqual([1, 2]);
    s.forget(2);
    expect(s.upTo(2)).toEqual([1]);
  });
});
