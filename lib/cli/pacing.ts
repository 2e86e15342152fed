/**
 * Pacing for publishers: a rate limiter (`--rate`, messages per second, sent in small bursts so
 * high rates do not need a timer per message) and a window of outstanding confirms (`perf
 * --confirm N`, publish --confirm). Both wait with an AbortSignal, so a stop or Ctrl-C ends any wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Spaces sends out to `rate` per second on average, measured from the first call. */
export class RateLimiter {
  private start = -1;
  private sent = 0;

  /**
   * @param rate - messages per second; 0 or Infinity for no limit.
   * @param now - the clock, in ms (performance.now by default; tests pass their own).
   */
  constructor(
    readonly rate: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** How long (ms) to wait before the next send may go; 0 when it may go now. */
  delay(): number {
    if (!(this.rate > 0) || this.rate === Number.POSITIVE_INFINITY) return 0;
    const t = this.now();
    if (this.start < 0) this.start = t;
    const due = this.start + (this.sent * 1000) / this.rate;
    return Math.max(0, due - t);
  }

  /** Waits until the next send is due and counts it. Rejects with the signal's reason when it aborts. */
  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.delay();
    // timers are ms-granular: under 1 ms, send now (later sends catch up to the average)
    if (wait >= 1) await sleep(wait, undefined, signal ? { signal } : undefined).catch(() => signal?.throwIfAborted());
    signal?.throwIfAborted();
    this.sent++;
  }
}

/** A counting semaphore: at most `size` holders at once. */
export class Window {
  private held = 0;
  private readonly waiters: Array<() => void> = [];

  /** @param size - the most holders at once (at least 1). */
  constructor(readonly size: number) {}

  /** How many hold a slot now. */
  get inFlight(): number {
    return this.held;
  }

  /** Takes a slot, waiting for one to free up. Rejects with the signal's reason when it aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.held < this.size) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.held++;
        resolve();
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Frees a slot (hands it to the longest waiter). */
  release(): void {
    this.held = Math.max(0, this.held - 1);
    this.waiters.shift()?.();
  }
}
