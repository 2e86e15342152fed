import { describe, expect, it } from '@jest/globals';

import { ArgumentError } from '../../lib/errors.js';
import { Backoff, type BackoffOptions } from '../../lib/recovery/backoff.js';

function take(b: Backoff, n: number): number[] {
  return Array.from({ length: n }, () => b.next());
}

describe('Backoff', () => {
  it('goes 0, 100, 200, 400 ... doubling up to the 10 000 ms cap (no jitter drawn)', () => {
    const b = new Backoff({ random: () => 0 });
    expect(take(b, 10)).toEqual([0, 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000]);
    expect(b.attempts).toBe(10);
    // stays at the cap for ever, without overflowing to Infinity/NaN
    const later = take(b, 2000);
    expect(later.every((d) => d === 10000)).toBe(true);
  });

  it('honours initial, factor and max', () => {
    const b = new Backoff({ initial: 50, factor: 3, max: 1000, random: () => 0 });
    expect(take(b, 6)).toEqual([0, 50, 150, 450, 1000, 1000]);
    const flat = new Backoff({ initial: 250, factor: 1, max: 250, random: () => 0 });
    expect(take(flat, 4)).toEqual([0, 250, 250, 250]);
    const zero = new Backoff({ initial: 0, max: 0, random: () => 0 });
    expect(take(zero, 3)).toEqual([0, 0, 0]);
  });

  it('jitter scales each delay by a factor in [1 - jitter, 1], using `random`', () => {
    // random -> 1 (just below) gives the low bound: default jitter 0.2 -> 80 %
    const low = new Backoff({ random: () => 0.999999 });
    expect(take(low, 5)).toEqual([0, 80, 160, 320, 640]);
    const half = new Backoff({ jitter: 0.5, random: () => 0.5 });
    expect(take(half, 4)).toEqual([0, 75, 150, 300]);
    const full = new Backoff({ jitter: 1, random: () => 0.999999 });
    expect(take(full, 3)).toEqual([0, 0, 0]);
    const none = new Backoff({ jitter: 0, random: () => 0.7 });
    expect(take(none, 4)).toEqual([0, 100, 200, 400]);
  });

  it('with Math.random every delay stays within the jitter bounds and is an integer', () => {
    const b = new Backoff();
    const ds = take(b, 200);
    expect(ds[0]).toBe(0);
    for (let i = 1; i < ds.length; i++) {
      const base = Math.min(10000, 100 * 2 ** (i - 1));
      const d = ds[i] as number;
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
      expect(d).toBeLessThanOrEqual(base);
    }
    // and really is jittered: 190 delays at the cap are not all the same
    expect(new Set(ds.slice(10)).size).toBeGreaterThan(1);
  });

  it('draws one random number per delayed attempt, none for the immediate one', () => {
    let calls = 0;
    const b = new Backoff({
      random: () => {
        calls++;
        return 0;
      },
    });
    b.next();
    expect(calls).toBe(0);
    take(b, 3);
    expect(calls).toBe(3);
  });

  it('reset() starts over from an immediate attempt', () => {
    const b = new Backoff({ random: () => 0 });
    expect(take(b, 4)).toEqual([0, 100, 200, 400]);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(take(b, 3)).toEqual([0, 100, 200]);
    b.reset();
    b.reset();
    expect(b.next()).toBe(0);
  });

  it.each<[string, BackoffOptions]>([
    ['negative initial', { initial: -1 }],
    ['NaN initial', { initial: Number.NaN }],
    ['max below initial', { initial: 500, max: 100 }],
    ['negative max', { max: -5 }],
    ['NaN max', { max: Number.NaN }],
    ['factor below 1', { factor: 0.5 }],
    ['zero factor', { factor: 0 }],
    ['NaN factor', { factor: Number.NaN }],
    ['negative jitter', { jitter: -0.1 }],
    ['jitter above 1', { jitter: 1.5 }],
    ['NaN jitter', { jitter: Number.NaN }],
  ])('rejects %s with ArgumentError', (_what, opts) => {
    expect(() => new Backoff(opts)).toThrow(ArgumentError);
  });

  it('accepts the boundary values', () => {
    expect(() => new Backoff({ initial: 0, max: 0, factor: 1, jitter: 0 })).not.toThrow();
    expect(() => new Backoff({ jitter: 1 })).not.toThrow();
    expect(() => new Backoff({ initial: 10, max: 10 })).not.toThrow();
  });
});
