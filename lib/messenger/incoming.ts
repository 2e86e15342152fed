/**
 * The Messenger's incoming side: the queue deliveries land in, `get()` (which moves the head into
 * the caller's message and tracks it), and settling: `accept` is basic.ack, `reject` basic.reject
 * without requeue (or basic.nack `multiple`), `settle` of an unsettled delivery releases it
 * (basic.reject with requeue). Cumulative settling (no tracker) covers every tracked delivery up to
 * the last `get()` with one `multiple` ack or nack per domain: on a channel, every earlier delivery
 * was taken by an earlier `get()` and is either in that range or already settled, because the
 * incoming queue keeps each channel's delivery order.
 *
 * The incoming window (Proton's): only the last `window` deliveries taken with `get()` are
 * tracked; one that falls out unsettled is accepted then (so with the default 0, `get()` accepts
 * at once). When a domain's consuming channel or connection is lost, its deliveries are back with
 * the broker, which will deliver them again: the ones not yet taken leave the incoming queue, the
 * tracked unsettled ones become RELEASED.
 */
import { type AMQPError, Message } from '../core.js';
import { copyInto, receivedAddress } from './copy.js';
import type { Domain } from './domain.js';
import { TrackerStatus } from './status.js';
import { TrackingStore } from './store.js';
import { Tracker, type Subscription } from './tracker.js';

/** One delivery of the incoming side. */
export interface InEntry {
  /** The message as received (settled through it). */
  readonly message: Message;
  readonly domain: Domain;
  readonly sub: Subscription;
  tracker: Tracker | undefined;
  settled: boolean;
  status: TrackerStatus;
}

type How = 'accept' | 'reject' | 'release';

const STATUS: Record<How, TrackerStatus> = {
  accept: TrackerStatus.ACCEPTED,
  reject: TrackerStatus.REJECTED,
  release: TrackerStatus.RELEASED,
};

/** See the file header. */
export class Incoming {
  /** Tracking window of incoming trackers. */
  readonly store = new TrackingStore<InEntry>();
  /** The tracker of the last `get()`. */
  last: Tracker | undefined;
  private queue: InEntry[] = [];
  private head = 0;
  private readonly held = new Map<Subscription, number>();

  constructor(private readonly owner: object) {}

  /** Deliveries waiting for `get()`. */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Deliveries of `sub` not yet settled (waiting, or taken and unsettled). */
  heldBy(sub: Subscription): number {
    return this.held.get(sub) ?? 0;
  }

  private hold(sub: Subscription, n: number): void {
    const v = (this.held.get(sub) ?? 0) + n;
    if (v > 0) this.held.set(sub, v);
    else this.held.delete(sub);
  }

  /** A delivery arrived: its address is set (see copy.ts) and it joins the queue. */
  deliver(domain: Domain, sub: Subscription, msg: Message): void {
    msg.address = receivedAddress(msg, domain.url);
    this.queue.push({ message: msg, domain, sub, tracker: undefined, settled: false, status: TrackerStatus.PENDING });
    this.hold(sub, 1);
  }

  /** Moves the head of the queue into `target` (or a new Message) and tracks it; null when empty. */
  get(target: Message | undefined): Tracker | null {
    const e = this.queue[this.head];
    if (!e) return null;
    this.queue[this.head++] = undefined as unknown as InEntry;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const msg = copyInto(target ?? new Message(), e.message);
    const tracker = new Tracker(this.owner, 'incoming', this.store.nextSequence, msg);
    e.tracker = tracker;
    this.last = tracker;
    this.store.track(e, (old) => {
      if (!old.settled) this.wire([old], 'accept', false);
    });
    return tracker;
  }

  private mark(e: InEntry, status: TrackerStatus): void {
    if (e.settled) return;
    e.settled = true;
    e.status = status;
    this.hold(e.sub, -1);
  }

  /**
   * Settles `entries` on the wire (see the file header). A delivery whose channel is gone becomes
   * RELEASED; the first such error is returned.
   */
  private wire(entries: readonly InEntry[], how: How, cumulative: boolean): AMQPError | undefined {
    let failed: AMQPError | undefined;
    const send = (e: InEntry, multiple: boolean): void => {
      const m = e.message;
      if (how === 'accept') m.ack({ multiple });
      else if (how === 'reject') {
        if (multiple) m.nack({ multiple: true, requeue: false });
        else m.reject({ requeue: false });
      } else m.reject({ requeue: true });
    };
    const groups: InEntry[][] = [];
    if (cumulative) {
      const by = new Map<Domain, InEntry[]>();
      for (const e of entries) {
        const g = by.get(e.domain);
        if (g) g.push(e);
        else by.set(e.domain, [e]);
      }
      groups.push(...by.values());
    } else for (const e of entries) groups.push([e]);
    for (const g of groups) {
      const last = g[g.length - 1] as InEntry;
      let status = STATUS[how];
      try {
        send(last, g.length > 1);
      } catch (err) {
        failed ??= err as AMQPError;
        status = TrackerStatus.RELEASED;
      }
      for (const e of g) this.mark(e, status);
    }
    return failed;
  }

  /**
   * Accepts or rejects `tracker`'s delivery, or without one every tracked delivery up to the last
   * `get()`. Deliveries already settled (or no longer tracked) are left as they are.
   * @throws the StaleDelivery (or ChannelClosed) of a delivery whose channel closed meanwhile,
   *   after settling the rest; that one is RELEASED (the broker delivers it again).
   */
  dispose(tracker: Tracker | undefined, how: 'accept' | 'reject'): void {
    let entries: InEntry[];
    if (tracker === undefined) {
      if (!this.last) return;
      entries = this.store.upTo(this.last.sequence);
    } else {
      const e = this.store.get(tracker.sequence);
      entries = e ? [e] : [];
    }
    const err = this.wire(
      entries.filter((e) => !e.settled),
      how,
      tracker === undefined,
    );
    if (err) throw err;
  }

  /** Stops tracking `tracker`; an unsettled delivery is released first (the broker keeps it). */
  settle(tracker: Tracker): void {
    const e = this.store.get(tracker.sequence);
    if (!e) return;
    if (!e.settled) this.wire([e], 'release', false);
    this.store.forget(tracker.sequence);
  }

  /** The domain's unsettled deliveries went back to the broker (see the file header); returns how many left the queue. */
  lost(domain: Domain): number {
    const before = this.depth;
    const keep: InEntry[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i] as InEntry;
      if (e.domain === domain) this.hold(e.sub, -1);
      else keep.push(e);
    }
    this.queue = keep;
    this.head = 0;
    for (const e of this.store.all()) if (e.domain === domain) this.mark(e, TrackerStatus.RELEASED);
    return before - this.depth;
  }

  /** Everything is gone (the Messenger stopped): like `lost()` for every domain. */
  clear(): void {
    const domains = new Set<Domain>();
    for (let i = this.head; i < this.queue.length; i++) domains.add((this.queue[i] as InEntry).domain);
    for (const e of this.store.all()) domains.add(e.domain);
    for (const d of domains) this.lost(d);
    this.held.clear();
  }
}
