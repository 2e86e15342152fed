/**
 * How the Messenger's blocking calls wait: each waits for a condition, re-checked whenever
 * something changes (a delivery, a confirm, an error), under the Messenger's timeout; `interrupt()`
 * ends the waits in progress, or, when none is, the next one (as Proton's interrupt does).
 */
import { type AMQPError, Timeout } from '../core.js';
import { armDeadline } from '../rpc/deadline.js';
import { MessengerInterrupted } from './errors.js';

/** A wait's condition: true when done, an error to end it with, false to go on waiting. */
export type Condition = () => boolean | AMQPError;

interface Waiter {
  check: Condition;
  resolve: () => void;
  reject: (err: unknown) => void;
  disarm: () => void;
}

/** See the file header. */
export class Waiters {
  /** Counts changes: a wait can tell whether anything happened since it began. */
  events = 0;
  private readonly waiting = new Set<Waiter>();
  private interruptPending = false;

  constructor(private readonly who: string) {}

  /**
   * Waits until `check` says so, up to `timeout` ms (-1: no limit; 0: only checks once).
   * @throws Timeout; MessengerInterrupted; the error `check` returns.
   */
  wait(check: Condition, what: string, timeout: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.interruptPending) {
        this.interruptPending = false;
        reject(new MessengerInterrupted(`${this.who}: ${what} interrupted`));
        return;
      }
      const first = check();
      if (first === true) return resolve();
      if (first !== false) return reject(first);
      if (timeout === 0) return reject(new Timeout(`${this.who}: ${what} would have to wait (timeout 0)`));
      const w: Waiter = { check, resolve, reject, disarm: () => undefined };
      if (timeout > 0) {
        w.disarm = armDeadline({ timeout }, `${this.who}: ${what}`, (err) => {
          this.waiting.delete(w);
          reject(err);
        });
      }
      this.waiting.add(w);
    });
  }

  /** Something changed: re-checks every wait. */
  changed(): void {
    this.events++;
    for (const w of this.waiting) {
      const r = w.check();
      if (r === false) continue;
      this.waiting.delete(w);
      w.disarm();
      if (r === true) w.resolve();
      else w.reject(r);
    }
  }

  /** Ends every wait with `err` (their timers are cleared). */
  endAll(err: AMQPError): void {
    for (const w of [...this.waiting]) {
      this.waiting.delete(w);
      w.disarm();
      w.reject(err);
    }
  }

  /** Ends the waits in progress with MessengerInterrupted, or, when none is, the next one. */
  interrupt(): void {
    if (this.waiting.size === 0) this.interruptPending = true;
    else this.endAll(new MessengerInterrupted(`${this.who}: interrupted`));
  }
}
