/** Timer tasks: what `container.schedule()` returns; each fires `onTimerTask` once unless cancelled. */
import type { Handler } from './handlers.js';

/** A timer task made by `container.schedule()`; fires `onTimerTask` unless cancelled. */
export class Task {
  /** The handler of its onTimerTask, if one was given; else the container's handlers. */
  readonly handler: Handler | undefined;
  /** When it is due (ms since the epoch). */
  readonly deadline: number;
  /** True once cancelled. */
  cancelled = false;
  /** True once its event was handled. */
  fired = false;
  /** @internal Set by the container: stops the timer and lets go of the task. */
  onCancel: (() => void) | undefined = undefined;

  /** @internal Made by container.schedule(). */
  constructor(handler: Handler | undefined, delay: number) {
    this.handler = handler;
    this.deadline = Date.now() + delay;
  }

  /** Cancels the task: its event will not fire. Cancelling a fired task does nothing. */
  cancel(): void {
    if (this.cancelled || this.fired) return;
    this.cancelled = true;
    this.onCancel?.();
  }
}
