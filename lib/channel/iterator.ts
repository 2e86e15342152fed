/**
 * Async iteration over a queue: `for await (const msg of ch.consume('q', { prefetch: 10 }))`.
 *
 * Consuming starts at the first `next()`. Deliveries wait in a buffer until the loop takes them
 * (with `prefetch`, the broker never has more than that many unacked messages out, so the buffer
 * stays bounded; with `noAck` and no prefetch it is unbounded). Leaving the loop (break, return,
 * throw) cancels the consumer and requeues what it received but did not yield. A server-sent cancel (queue deleted) or the channel closing for
 * good ends the loop with the typed error (ConsumerCancelled, ...); it never yields `null`.
 * With `recycleBodiesAfterCallback`, each delivery's callback stays pending until the loop has
 * moved past its message, which is what keeps a recycled body valid for the loop body.
 */
import type { AMQPError } from '../errors.js';
import type { StreamConsumeOptions } from './stream-offset.js';
import type { ReceivedMessage } from './types.js';
import type { CallOptions } from '../util/wait.js';
import type { FieldTable } from '../protocol/primitives.js';

/** Options of `channel.consume()` (`offset`, `filter`, `matchUnfiltered`: as basicConsume's, for streams). */
export interface IterateOptions extends CallOptions, StreamConsumeOptions {
  /** basic.qos prefetch count for this consumer (per-consumer qos), set before consuming. */
  prefetch?: number;
  /** Deliveries need no ack (default false: ack each message, e.g. `msg.ack()`). */
  noAck?: boolean;
  /** Be the only consumer of the queue. */
  exclusive?: boolean;
  /** Consumer tag (default: server-generated). */
  consumerTag?: string;
  /** Consumer arguments. */
  arguments?: FieldTable;
  /**
   * Recycle the memory of large bodies (64 KiB and up; default false), as basicConsume's option
   * does: a yielded message's body stays valid until the loop asks for the next message or ends,
   * and then its memory is reused for a later delivery. What you must not do: keep the body past
   * that without copying it (`Buffer.from(msg.body)`).
   */
  recycleBodiesAfterCallback?: boolean;
}

/** What the iterator needs from a channel. */
export interface IterableChannel {
  basicQos(opts: CallOptions & { prefetchCount?: number }): Promise<void>;
  basicConsume(
    queue: string,
    opts: {
      callback: (msg: ReceivedMessage) => void | Promise<void>;
      onCancel: (err: AMQPError) => void;
      noAck?: boolean;
      exclusive?: boolean;
      consumerTag?: string;
      arguments?: FieldTable;
      recycleBodiesAfterCallback?: boolean;
    } & CallOptions &
      StreamConsumeOptions,
  ): Promise<string>;
  basicCancel(tag: string, opts?: CallOptions): Promise<void>;
  readonly isOpen: boolean;
}

/** The async iterator returned by `channel.consume()`. */
export class ConsumerIterator implements AsyncIterableIterator<ReceivedMessage> {
  /** The consumer tag, once consuming has started. */
  consumerTag: string | undefined;
  private buffer: ReceivedMessage[] = [];
  /** With recycled bodies: the callbacks' pending settlements, parallel to `buffer`. */
  private releases: Array<() => void> = [];
  /** With recycled bodies: settles the callback of the message yielded last, which gives its body back. */
  private lent: (() => void) | null = null;
  private waiter: { resolve: (r: IteratorResult<ReceivedMessage>) => void; reject: (e: unknown) => void } | null = null;
  private error: unknown = null;
  private done = false;
  private starting: Promise<void> | null = null;

  /** @internal */
  constructor(
    private readonly channel: IterableChannel,
    private readonly queue: string,
    private readonly opts: IterateOptions,
  ) {}

  /** The iterator itself, so `for await (const msg of ch.consume(q))` works. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  private start(): Promise<void> {
    this.starting ??= (async () => {
      const o = this.opts;
      const call = { ...(o.timeout !== undefined ? { timeout: o.timeout } : {}), ...(o.signal ? { signal: o.signal } : {}) };
      if (o.prefetch !== undefined) await this.channel.basicQos({ ...call, prefetchCount: o.prefetch });
      this.consumerTag = await this.channel.basicConsume(this.queue, {
        ...call,
        ...(o.noAck !== undefined ? { noAck: o.noAck } : {}),
        ...(o.exclusive !== undefined ? { exclusive: o.exclusive } : {}),
        ...(o.consumerTag !== undefined ? { consumerTag: o.consumerTag } : {}),
        ...(o.arguments !== undefined ? { arguments: o.arguments } : {}),
        ...(o.recycleBodiesAfterCallback !== undefined ? { recycleBodiesAfterCallback: o.recycleBodiesAfterCallback } : {}),
        ...(o.offset !== undefined ? { offset: o.offset } : {}),
        ...(o.filter !== undefined ? { filter: o.filter } : {}),
        ...(o.matchUnfiltered !== undefined ? { matchUnfiltered: o.matchUnfiltered } : {}),
        callback: (msg) => this.push(msg),
        onCancel: (err) => this.fail(err),
      });
    })();
    return this.starting;
  }

  /** Takes a delivery; with recycled bodies the returned promise settles when its body may be reused. */
  private push(msg: ReceivedMessage): Promise<void> | undefined {
    if (this.done) {
      this.requeue(msg); // arrived between return() and the broker's cancel-ok
      return undefined;
    }
    let release: (() => void) | null = null;
    const settled = this.opts.recycleBodiesAfterCallback
      ? new Promise<void>((r) => {
          release = r;
        })
      : undefined;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      this.lent = release;
      w.resolve({ value: msg, done: false });
    } else {
      this.buffer.push(msg);
      if (release) this.releases.push(release);
    }
    return settled;
  }

  /** Gives back the body of the message yielded last (recycled bodies). */
  private giveBack(): void {
    const r = this.lent;
    this.lent = null;
    r?.();
  }

  private fail(err: unknown): void {
    if (this.done || this.error) return;
    this.error = err;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.reject(err);
    }
  }

  /**
   * The next delivery. Rejects with ConsumerCancelled when the server cancels the consumer, or
   * with the channel's/connection's error when it closes; buffered messages are yielded first.
   */
  async next(): Promise<IteratorResult<ReceivedMessage>> {
    this.giveBack();
    if (this.done) return { value: undefined, done: true };
    await this.start();
    if (this.done) return { value: undefined, done: true }; // return() was called while starting
    const m = this.buffer.shift();
    if (m) {
      this.lent = this.releases.shift() ?? null;
      return { value: m, done: false };
    }
    if (this.error) {
      this.done = true;
      throw this.error;
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * Stops: cancels the consumer (called by `break`/`return` in a for-await loop) and requeues the
   * deliveries it had received but not yet yielded (unless `noAck`), so none stays unacked.
   */
  async return(): Promise<IteratorResult<ReceivedMessage>> {
    this.giveBack();
    if (!this.done) {
      this.done = true;
      const w = this.waiter;
      this.waiter = null;
      w?.resolve({ value: undefined, done: true });
      if (this.starting) await this.starting.catch(() => undefined); // a start under way finishes first
      if (this.consumerTag !== undefined && !this.error && this.channel.isOpen) {
        await this.channel.basicCancel(this.consumerTag).catch(() => undefined);
      }
      const unread = this.buffer;
      const releases = this.releases;
      this.buffer = [];
      this.releases = [];
      for (const m of unread) this.requeue(m);
      for (const r of releases) r();
    }
    return { value: undefined, done: true };
  }

  private requeue(msg: ReceivedMessage): void {
    if (this.opts.noAck) return;
    try {
      msg.reject({ requeue: true });
    } catch {
      // stale (its channel closed or reopened since): the broker requeues it by itself
    }
  }

  /** Same as `return()`; the error propagates from the loop as usual. */
  async throw(err?: unknown): Promise<IteratorResult<ReceivedMessage>> {
    await this.return();
    throw err;
  }
}
