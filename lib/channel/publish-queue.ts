/**
 * PublishQueue: publishes waiting for their channel to become publishable (open, flow active,
 * connection not blocked, confirm window not full), in call order. `drain()` sends from the front
 * while the channel allows it and fails them all once it is closed for good. Each waits under its
 * call's deadline; one that expires leaves the queue and rejects with Timeout.
 */
import { arm, type CallOptions } from '../util/wait.js';

interface QueuedPublish {
  run(): void;
  fail(err: unknown): void;
}

const NOOP = (): void => {};

/** @internal See the file header. */
export class PublishQueue {
  private queue: QueuedPublish[] = [];

  /** Number of waiting publishes. */
  get length(): number {
    return this.queue.length;
  }

  /**
   * Queues `send` (which encodes and writes the publish) until `drain()` runs it; `release` is
   * called once when the entry leaves the queue (sent, failed or expired).
   */
  add(send: () => Promise<void>, opts: CallOptions, what: string, release?: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let disarm = NOOP;
      const entry: QueuedPublish = {
        run: () => {
          disarm();
          release?.();
          send().then(resolve, reject);
        },
        fail: (err) => {
          disarm();
          release?.();
          reject(err);
        },
      };
      this.queue.push(entry);
      // armed after queueing, so an already-aborted signal removes the entry at once
      disarm = arm(opts, what, (err) => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        release?.();
        reject(err);
      });
    });
  }

  /** Sends from the front while `canRun()`; then, if `closedError()` gives an error, fails the rest. */
  drain(canRun: () => boolean, closedError: () => unknown): void {
    const q = this.queue;
    while (q.length > 0 && canRun()) q.shift()?.run();
    if (q.length === 0) return;
    const err = closedError();
    if (err) {
      this.queue = [];
      for (const p of q) p.fail(err);
    }
  }
}
