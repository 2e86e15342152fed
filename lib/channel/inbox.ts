/**
 * Consumer dispatch for one channel, and the pool of lent message bodies.
 *
 * Deliveries are never handed to user code from inside the frame parser: the Inbox queues them as
 * they are assembled and hands them to their consumers' callbacks in one microtask per batch, in
 * arrival order. A callback that throws or rejects is reported through `onError` with its
 * message (the message is not acked); a consumer's `concurrency` limiter runs its callbacks.
 *
 * Recycled bodies (the `recycleBodiesAfterCallback` consumer option): the body of a delivery of at least RECYCLE_MIN
 * bytes is read into a buffer from the channel's BodyPool, and once the callback returns (or the
 * promise it returned settles) the buffer goes back to the pool and a later delivery is read into
 * the same memory. Fresh memory costs the kernel a page fault and a page clear per 4 KiB, about
 * a third of the CPU of consuming 1 MiB messages on Linux; recycled memory costs neither. The
 * price is the contract: the body must not be used after the callback has finished.
 *
 * Misuse is made visible rather than silent: when a buffer comes back, its memory moves to a new
 * ArrayBuffer (a transfer, about 3 µs) and the old one is detached, so a body (or any view of it)
 * kept past the callback reads as empty instead of showing a later message's bytes. A body that a
 * callback forwarded in a publish and whose zero-copy write is still in flight is not recycled at
 * all: it is left to the garbage collector once written, so forwarding never needs an await.
 */
import { type ConsumeInfo, hooks } from '../hooks.js';
import { isBeingWritten } from '../transport/buffers.js';
import type { ChannelHost } from './types.js';
import type { ConsumerEntry, ReceivedMessage } from './types.js';

/** Bodies from this size are recycled for consumers that asked for it; smaller ones are copied as usual. */
export const RECYCLE_MIN = 64 * 1024;
/** Free buffers the pool keeps, in bytes; buffers given back beyond it are left to the GC. */
const POOL_MAX_BYTES = 64 * 1024 * 1024;
/** Pool buffers are allocated in multiples of this. */
const GRAIN = 64 * 1024;

/** Recycled body buffers for consumers with `recycleBodiesAfterCallback` (see the file header). */
export class BodyPool {
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;
  /** Buffers handed out and not yet given back: a buffer goes back to the pool at most once. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  /** Free bytes held. */
  get size(): number {
    return this.freeBytes;
  }

  /** A buffer of `size` bytes lent from the pool: a recycled one when one fits, else a new one. */
  take(size: number): Buffer {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const ab = free[i] as ArrayBuffer;
      // fits, and not more than twice too big (a small body must not pin a large buffer)
      if (ab.byteLength >= size && ab.byteLength <= 2 * size + GRAIN) {
        free[i] = free[free.length - 1] as ArrayBuffer;
        free.pop();
        this.freeBytes -= ab.byteLength;
        this.lent.add(ab);
        return Buffer.from(ab, 0, size);
      }
    }
    const ab = Buffer.allocUnsafeSlow(Math.ceil(size / GRAIN) * GRAIN).buffer as ArrayBuffer;
    this.lent.add(ab);
    return Buffer.from(ab, 0, size);
  }

  /**
   * Takes back a body lent by `take()`, detaching the caller's views of it (see the file header);
   * anything else (a string, a buffer not lent, a second give) is ignored.
   */
  give(body: unknown): void {
    if (!Buffer.isBuffer(body)) return;
    const ab = body.buffer as ArrayBuffer;
    if (!this.lent.delete(ab)) return;
    if (this.freeBytes + ab.byteLength > POOL_MAX_BYTES || isBeingWritten(ab)) return;
    const fresh = structuredClone(ab, { transfer: [ab] });
    this.free.push(fresh);
    this.freeBytes += fresh.byteLength;
  }
}

/** See the file header. */
export class Inbox {
  private consumers: ConsumerEntry[] = [];
  private messages: ReceivedMessage[] = [];
  private scheduled = false;
  private lender: BodyPool | null = null;
  private readonly run = (): void => this.dispatch();

  constructor(
    private readonly onError: (err: unknown, msg: ReceivedMessage) => void,
    private readonly dispatched: () => void,
    /** Whose deliveries these are (named to the instrumentation's consume hook). */
    private readonly owner: { readonly host: ChannelHost; readonly publicChannel: unknown },
  ) {}

  /** Runs `c`'s callback for `msg`, through the instrumentation's consume hook when one is registered. */
  private call(c: ConsumerEntry, msg: ReceivedMessage): void | Promise<void> {
    const hook = hooks.consume;
    if (hook === null) return c.callback(msg);
    const host = this.owner.host;
    const info: ConsumeInfo = {
      connection: host.connection,
      channel: this.owner.publicChannel,
      message: msg,
      queue: c.queue,
      consumerTag: c.tag,
      serverAddress: host.endpoint.host,
      serverPort: host.endpoint.port,
    };
    return hook(info, () => c.callback(msg));
  }

  /** The channel's body pool (created on first use). */
  get pool(): BodyPool {
    return (this.lender ??= new BodyPool());
  }

  /** Queues `msg` for consumer `c`; dispatch follows in a microtask. */
  push(c: ConsumerEntry, msg: ReceivedMessage): void {
    this.consumers.push(c);
    this.messages.push(msg);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.run);
    }
  }

  /** Gives a lent body back now (its delivery will not reach a callback, or was decoded to a string). */
  giveBack(body: unknown): void {
    this.lender?.give(body);
  }

  private dispatch(): void {
    this.scheduled = false;
    const consumers = this.consumers;
    const messages = this.messages;
    this.consumers = [];
    this.messages = [];
    for (let i = 0; i < messages.length; i++) {
      const c = consumers[i] as ConsumerEntry;
      const msg = messages[i] as ReceivedMessage;
      // a delivery that became stale while queued here is still handed over (an exclusive or
      // auto-delete queue dies with its connection and never redelivers it); its ack is refused
      const lent = c.recycleBodies ? msg.body : null;
      if (c.limiter) {
        const done = c.limiter.add(() => this.call(c, msg)).catch((err: unknown) => this.onError(err, msg));
        if (lent) void done.then(() => this.giveBack(lent));
        continue;
      }
      try {
        const r = this.call(c, msg);
        if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
          const done = (r as Promise<void>).then(undefined, (err: unknown) => this.onError(err, msg));
          if (lent) void done.then(() => this.giveBack(lent));
        } else if (lent) {
          this.giveBack(lent);
        }
      } catch (err) {
        this.onError(err, msg);
        if (lent) this.giveBack(lent);
      }
    }
    this.dispatched();
  }
}
