/**
 * AckBatcher: ack coalescing for one channel (the `ackBatchDelay` option, off by default).
 *
 * A consumer that acks one message at a time costs the broker one basic.ack each. With coalescing,
 * single acks wait up to `ackBatchDelay` ms and go out together: the longest run of them that no
 * unsettled delivery interrupts becomes one `multiple` ack, the rest go out one by one.
 *
 * Exact tracking keeps a `multiple` ack from ever covering a message the user has not settled:
 * `low` is the smallest delivery tag not known to be settled (every tag below it was acked, nacked,
 * rejected, delivered with noAck, or acked in the batch being built), and `above` holds settled
 * tags past `low`. A `multiple` ack is sent only for a tag below `low`. Nacks, rejects and the
 * user's own `multiple` acks flush the batch first and go out at once, in order. Any synchronous
 * call on the channel (tx.commit, basic.recover, channel.close...) and connection.close flush it
 * too, so acks are never reordered after them. On a channel close or a connection loss the batch
 * is dropped: its tags are stale, and the broker redelivers those messages (at least once).
 *
 * A tag the batcher cannot place (never delivered, or settled already) goes out at once, so the
 * broker answers a double ack as it would without coalescing (PRECONDITION_FAILED, 406).
 */
import { ACK_METHOD } from '../protocol/encode.js';

/** Pending acks flushed at once when no prefetch bounds the consumer window. */
const MAX_PENDING = 1024;

/** Where the batcher sends acks (the channel's link). */
export interface AckSink {
  /** Sends basic.ack / nack / reject now (`bits` as in encodeDeliveryAck). */
  writeAck(methodId: number, tag: number, bits: number): void;
}

/** What bounds the consumer window (the channel's settings): a batch never holds half of it. */
export interface AckWindow {
  /** The smallest prefetch count in force on the channel (0: none). */
  readonly smallestPrefetch: number;
}

/** See the file header. */
export class AckBatcher {
  private low = 1;
  private delivered = 0;
  private readonly above = new Set<number>();
  private pending: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly flushCb = (): void => {
    this.timer = undefined;
    try {
      this.flush();
    } catch {
      // the channel or connection is gone: its close or loss resets the batch (stale tags)
    }
  };

  constructor(
    /** The coalescing window in ms (> 0). */
    readonly delayMs: number,
    private readonly sink: AckSink,
    private readonly window: AckWindow,
  ) {}

  /** Acks waiting to be sent. */
  get waiting(): number {
    return this.pending.length;
  }

  /** A delivery (basic.deliver or basic.get-ok) arrived; `settled`: it needs no ack (noAck). */
  noteDelivery(tag: number, settled: boolean): void {
    if (tag > this.delivered) this.delivered = tag;
    if (settled) this.markSettled(tag);
  }

  /** A settlement from the user (or the channel): a single ack is batched, anything else flushes and goes out. */
  settle(methodId: number, tag: number, bits: number): void {
    if (methodId === ACK_METHOD.ack && bits === 0 && this.isOutstanding(tag)) {
      this.pending.push(tag);
      this.markSettled(tag);
      const window = this.window.smallestPrefetch;
      const limit = window > 0 ? Math.max(1, window >> 1) : MAX_PENDING;
      if (this.pending.length >= limit) this.flush();
      else this.timer ??= setTimeout(this.flushCb, this.delayMs);
      return;
    }
    this.flush();
    this.sink.writeAck(methodId, tag, bits);
    // multiple: bit 0 of ack and nack (reject has none)
    if (methodId !== ACK_METHOD.reject && (bits & 1) === 1) this.markSettledUpTo(tag);
    else if (this.isOutstanding(tag)) this.markSettled(tag);
  }

  /**
   * Sends the batch: the acks below `low` as one `multiple` ack (every tag up to it is settled),
   * the others one by one.
   */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    let covered = 0;
    let top = 0;
    for (const t of pending) {
      if (t < this.low) {
        covered++;
        if (t > top) top = t;
      }
    }
    if (covered > 1) this.sink.writeAck(ACK_METHOD.ack, top, 1);
    else if (covered === 1) this.sink.writeAck(ACK_METHOD.ack, top, 0);
    if (covered < pending.length) for (const t of pending) if (t >= this.low) this.sink.writeAck(ACK_METHOD.ack, t, 0);
  }

  /** The channel closed or was lost: the batch's tags are stale (dropped), tags start again at 1. */
  reset(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.above.clear();
    this.low = 1;
    this.delivered = 0;
  }

  /** Delivered, and not settled yet as far as the batcher knows. */
  private isOutstanding(tag: number): boolean {
    return Number.isSafeInteger(tag) && tag >= this.low && tag <= this.delivered && !this.above.has(tag);
  }

  private markSettled(tag: number): void {
    if (tag !== this.low) {
      if (tag > this.low) this.above.add(tag);
      return;
    }
    this.low++;
    while (this.above.delete(this.low)) this.low++;
  }

  private markSettledUpTo(tag: number): void {
    if (tag === 0) tag = this.delivered; // multiple with tag 0: everything delivered so far
    if (tag < this.low) return;
    for (const t of this.above) if (t <= tag) this.above.delete(t);
    this.low = tag + 1;
    while (this.above.delete(this.low)) this.low++;
  }
}
