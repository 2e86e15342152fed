/**
 * Deadlines and option checks shared by the request/response, Session and Messenger layers: a
 * timer plus an AbortSignal listener disarmed in one call, and validators that turn bad option
 * values into ArgumentError before anything goes on the wire. (The core's own helpers are internal
 * to it; these layers use only its public surface.)
 */
import { ArgumentError, Timeout } from '../core.js';

/** Options of a call that waits on the network. Times are milliseconds. */
export interface DeadlineOptions {
  /** Give up after this many milliseconds with `Timeout`. */
  timeout?: number | undefined;
  /** Give up when this signal aborts, with `Timeout` whose `cause` is the abort reason. */
  signal?: AbortSignal | undefined;
}

/**
 * Arms a deadline: `onExpire` runs once with a `Timeout` when `timeout` ms pass or `signal` aborts
 * (at once when it already has). Returns the disarm function (idempotent). No timer is set for an
 * undefined or infinite timeout.
 */
export function armDeadline(opts: DeadlineOptions, what: string, onExpire: (err: Timeout) => void): () => void {
  const { timeout, signal } = opts;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const disarm = (): void => {
    if (done) return;
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  function onAbort(): void {
    if (done) return;
    disarm();
    onExpire(new Timeout(`${what}: aborted`, { cause: signal?.reason }));
  }
  if (signal?.aborted) {
    onAbort();
    return disarm;
  }
  if (timeout !== undefined && Number.isFinite(timeout)) {
    timer = setTimeout(() => {
      if (done) return;
      disarm();
      onExpire(new Timeout(`${what}: timed out after ${timeout} ms`));
    }, timeout);
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  return disarm;
}

/**
 * Waits for `promise` until the deadline; rejects with `Timeout` when it fires first. The
 * promise's own later rejection is then handled (never unhandled).
 */
export function withDeadline<T>(promise: Promise<T>, opts: DeadlineOptions, what: string): Promise<T> {
  if ((opts.timeout === undefined || !Number.isFinite(opts.timeout)) && !opts.signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const disarm = armDeadline(opts, what, (err) => {
      promise.catch(() => undefined);
      reject(err);
    });
    promise.then(
      (v) => {
        disarm();
        resolve(v);
      },
      (err: unknown) => {
        disarm();
        reject(err);
      },
    );
  });
}

/** @throws ArgumentError unless `value` is a finite number of milliseconds > 0 (or undefined when `optional`). */
export function checkMillis(value: unknown, what: string, { optional = true, zero = false } = {}): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!zero && value === 0)) {
    throw new ArgumentError(`${what} must be a finite number of milliseconds${zero ? ' >= 0' : ' > 0'}, got ${String(value)}`);
  }
}

/** @throws ArgumentError unless `value` is an integer in [min, max] (or undefined). */
export function checkInteger(value: unknown, what: string, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/** @throws ArgumentError unless `value` is an AbortSignal (or undefined). */
export function checkSignal(value: unknown, what: string): void {
  if (value !== undefined && !(value instanceof AbortSignal)) throw new ArgumentError(`${what} must be an AbortSignal`);
}
