/**
 * Deadlines for anything that waits on the network: every public await takes `{ timeout, signal }`
 * and ends in a typed `Timeout` when either fires. `arm()` is the low-level form (a timer plus an
 * abort listener, disarmed in one call); `waitWith()` wraps a promise using p-timeout.
 */
import pTimeout from 'p-timeout';
import { ArgumentError, Timeout } from '../errors.js';

/** Options every network-waiting call accepts. All times in amqpts are milliseconds. */
export interface CallOptions {
  /** Give up after this many milliseconds with a `Timeout` error (default: the call's default, often none). */
  timeout?: number | undefined;
  /** Give up when this signal aborts, with a `Timeout` error whose `cause` is the abort reason. */
  signal?: AbortSignal | undefined;
}

/** @internal Validates a timeout value: a non-negative finite number or undefined/Infinity. */
export function checkTimeout(timeout: number | undefined, what = 'timeout'): void {
  if (timeout === undefined || timeout === Infinity) return;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new ArgumentError(`${what} must be a non-negative number of milliseconds, got ${String(timeout)}`);
  }
}

/** @internal The Timeout error a fired deadline produces. */
export function timeoutError(what: string, opts: CallOptions, aborted: boolean): Timeout {
  if (aborted) {
    return new Timeout(`${what}: aborted`, { cause: opts.signal?.reason });
  }
  return new Timeout(`${what}: timed out after ${String(opts.timeout)} ms`);
}

const NOOP = (): void => {};

/**
 * @internal Arms a deadline: calls `onExpire` once with a `Timeout` when the timeout elapses or the
 * signal aborts (at once if it already has). Returns a function that disarms it (idempotent).
 */
export function arm(opts: CallOptions | undefined, what: string, onExpire: (err: Timeout) => void): () => void {
  if (!opts) return NOOP;
  const { timeout, signal } = opts;
  const hasTimer = timeout !== undefined && timeout !== Infinity;
  if (!hasTimer && !signal) return NOOP;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const disarm = (): void => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const fire = (aborted: boolean): void => {
    if (done) return;
    disarm();
    onExpire(timeoutError(what, opts, aborted));
  };
  function onAbort(): void {
    fire(true);
  }
  if (signal?.aborted) {
    fire(true);
    return disarm;
  }
  if (hasTimer) timer = setTimeout(() => fire(false), timeout);
  signal?.addEventListener('abort', onAbort, { once: true });
  return disarm;
}

/** @internal Waits for `promise` under `opts`' deadline; rejects with `Timeout` when it fires. */
export async function waitWith<T>(promise: PromiseLike<T>, opts: CallOptions | undefined, what: string): Promise<T> {
  const timeout = opts?.timeout;
  const signal = opts?.signal;
  if ((timeout === undefined || timeout === Infinity) && !signal) return promise;
  checkTimeout(timeout);
  if (timeout === 0) return raceNow(promise, opts ?? {}, what); // p-timeout takes only positive times
  try {
    return await pTimeout(promise, {
      milliseconds: timeout ?? Infinity,
      message: timeoutError(what, opts ?? {}, false),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted && err === signal.reason) throw timeoutError(what, opts ?? {}, true);
    throw err;
  }
}

/** A zero timeout: `promise` if it settles within this turn of the event loop, else Timeout (or abort). */
function raceNow<T>(promise: PromiseLike<T>, opts: CallOptions, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const disarm = arm(opts, what, reject);
    Promise.resolve(promise).then(
      (v) => {
        disarm();
        resolve(v);
      },
      (e: unknown) => {
        disarm();
        reject(e);
      },
    );
  });
}

/** @internal A promise with its settle functions exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/** @internal Creates a Deferred. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
