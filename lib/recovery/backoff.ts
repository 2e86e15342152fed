/**
 * Reconnect delays. `Backoff` is the default strategy: the first attempt goes at once (0 ms), then
 * 100 ms, doubling up to a 10 000 ms cap, each delay scaled by a random factor in
 * [1 - jitter, 1] so a fleet of clients does not reconnect in lock-step. `reset()` after a
 * successful recovery starts again from 0. Any object with the same two methods can replace it.
 */
import { ArgumentError } from '../errors.js';

/** A reconnect strategy: `next()` gives the milliseconds to wait before the next attempt. */
export interface ReconnectStrategy {
  /** Milliseconds until the next attempt. */
  next(): number;
  /** Called after a successful recovery. */
  reset(): void;
}

/** Options of `Backoff`. */
export interface BackoffOptions {
  /** Delay after the first (immediate) attempt, ms (default 100). */
  initial?: number;
  /** Upper bound of a delay, ms (default 10000). */
  max?: number;
  /** Growth factor (default 2). */
  factor?: number;
  /** Fraction of each delay that is randomised away, 0..1 (default 0.2). */
  jitter?: number;
  /** Random source in [0, 1) (default Math.random), for deterministic tests. */
  random?: () => number;
}

/** Exponential backoff with jitter; see the file header. */
export class Backoff implements ReconnectStrategy {
  /** Attempts made since the last reset. */
  attempts = 0;
  private readonly initial: number;
  private readonly max: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  /** @throws ArgumentError for negative delays, a factor below 1 or a jitter outside [0, 1]. */
  constructor(opts: BackoffOptions = {}) {
    this.initial = opts.initial ?? 100;
    this.max = opts.max ?? 10_000;
    this.factor = opts.factor ?? 2;
    this.jitter = opts.jitter ?? 0.2;
    this.random = opts.random ?? Math.random;
    if (!(this.initial >= 0) || !(this.max >= this.initial)) throw new ArgumentError('Backoff: need 0 <= initial <= max (ms)');
    if (!(this.factor >= 1)) throw new ArgumentError('Backoff: factor must be >= 1');
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new ArgumentError('Backoff: jitter must be within [0, 1]');
  }

  /** The delay before the next attempt: 0, then initial, initial*factor, ... capped at max, jittered. */
  next(): number {
    const n = this.attempts++;
    if (n === 0) return 0;
    const base = Math.min(this.max, this.initial * this.factor ** (n - 1));
    return Math.round(base * (1 - this.jitter * this.random()));
  }

  /** Starts over from an immediate attempt. */
  reset(): void {
    this.attempts = 0;
  }
}

/** @internal The waits between reconnect attempts: one at a time, cut short by `wake()` (a close). */
export class Sleeper {
  private waking: (() => void) | null = null;

  /** Resolves after `ms`, or at once when `wake()` is called meanwhile. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waking = () => {
        this.waking = null;
        done();
      };
    });
  }

  /** Ends the current wait, if any. */
  wake(): void {
    this.waking?.();
  }
}
