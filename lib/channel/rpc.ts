/**
 * RpcQueue: one synchronous method in flight per channel; later calls wait their turn in order.
 *
 * A call's frame is encoded when the call is made (so bad arguments are rejected before anything
 * is queued or sent) and written when it reaches the head. The reply must be one of the request's
 * expected replies (`basic.get` -> `get-ok | get-empty`); anything else is a protocol error.
 *
 * Deadlines: a call that times out while still queued is removed and never sent. One that times
 * out in flight is rejected at once but stays at the head, "abandoned", until its reply arrives,
 * so that later replies still pair with the right requests.
 *
 * While `paused` (a channel reopening after a server close), queued user calls wait; `direct()`
 * calls (the reopen and restore steps) go first.
 */
import type { MethodName } from '../protocol/generated/methods.js';
import { arm, type CallOptions } from '../util/wait.js';

/** @internal One queued or in-flight call. */
export interface RpcCall {
  /** Method name, for error messages. */
  readonly name: MethodName;
  /** Replies that complete it; empty for a nowait call (resolved once written). */
  readonly expect: readonly MethodName[];
  /** Writes the pre-encoded frame. */
  readonly send: () => void;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  /** @internal */
  disarm?: () => void;
  /** @internal */
  abandoned?: boolean;
  /** @internal A reopen/restore step: sent even while the queue is paused. */
  priority?: boolean;
}

/** The empty queue of an idle channel, shared (never mutated): an idle channel holds no array of its own. */
const NO_CALLS: RpcCall[] = [];

/** @internal See the file header. */
export class RpcQueue {
  private queue: RpcCall[] = NO_CALLS;
  private inFlight: RpcCall | null = null;
  private paused = false;

  /** The name of the call awaiting a reply, if any. */
  get current(): RpcCall | null {
    return this.inFlight;
  }

  /** Number of calls waiting (not counting the one in flight). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Queues a user call under its deadline. */
  push(call: RpcCall, opts: CallOptions): void {
    if (this.queue === NO_CALLS) this.queue = [];
    this.queue.push(call);
    call.disarm = arm(opts, call.name, (err) => this.expire(call, err)); // after queueing: an aborted signal removes it at once
    this.pump();
  }

  /** Sends a call ahead of everything queued (reopen/restore steps); the queue must be idle. */
  direct(call: RpcCall, opts: CallOptions): void {
    call.priority = true;
    if (this.queue === NO_CALLS) this.queue = [];
    this.queue.unshift(call);
    call.disarm = arm(opts, call.name, (err) => this.expire(call, err));
    this.pump();
  }

  /** Stops sending queued calls (in-flight ones still complete). */
  pause(): void {
    this.paused = true;
  }

  /** Resumes sending queued calls. */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Whether `name` is an acceptable reply to the call in flight. */
  accepts(name: MethodName): boolean {
    return this.inFlight?.expect.includes(name) === true;
  }

  /** Completes the in-flight call with `value` and sends the next. */
  complete(value: unknown): void {
    const call = this.inFlight;
    if (!call) return;
    this.inFlight = null;
    call.disarm?.();
    if (!call.abandoned) call.resolve(value);
    this.pump();
  }

  /** Rejects the in-flight call (e.g. the server closed the channel because of it). */
  failInFlight(err: unknown): void {
    const call = this.inFlight;
    if (!call) return;
    this.inFlight = null;
    call.disarm?.();
    if (!call.abandoned) call.reject(err);
  }

  /** Rejects every call, in flight and queued. */
  failAll(err: unknown): void {
    this.failInFlight(err);
    const q = this.queue;
    this.queue = NO_CALLS;
    for (const c of q) {
      c.disarm?.();
      c.reject(err);
    }
  }

  private expire(call: RpcCall, err: unknown): void {
    if (call === this.inFlight) {
      call.abandoned = true;
      call.reject(err);
      return;
    }
    const i = this.queue.indexOf(call);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.queue.length === 0) this.queue = NO_CALLS;
    call.reject(err);
  }

  private pump(): void {
    while (!this.inFlight && this.queue.length > 0 && (!this.paused || this.queue[0]?.priority === true)) this.sendNext();
  }

  private sendNext(): void {
    const call = this.queue.shift();
    if (this.queue.length === 0) this.queue = NO_CALLS; // the idle channel lets its array go
    if (!call) return;
    try {
      call.send();
    } catch (err) {
      call.disarm?.();
      call.reject(err);
      return;
    }
    if (call.expect.length === 0) {
      call.disarm?.();
      call.resolve(undefined);
      return;
    }
    this.inFlight = call;
  }
}
