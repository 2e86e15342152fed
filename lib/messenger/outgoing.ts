/**
 * The Messenger's outgoing side: the queue `put()` fills and `send()` drains, the tracking window
 * of outgoing trackers, and how a publish's outcome becomes a status.
 *
 * Outcomes: the broker's ack is ACCEPTED, a nack REJECTED, a mandatory return RELEASED; an exchange
 * that does not exist, or a message the channel cannot encode, is REJECTED without publishing; a
 * publish whose connection closed for good before its confirm is SETTLED (outcome unknown). A
 * message that could not be published at all (no connection, a TLS file that cannot be read, a
 * failed declare, publish buffer full, timeout while the connection was blocked) goes back to the
 * queue, in put order, and the error is raised by the `send()` that tried it.
 */
import {
  type AddressNode,
  type AMQPError,
  ArgumentError,
  type Message,
  NoRoute,
  NotFound,
  PublishBufferFull,
  PublishNacked,
  Timeout,
} from '../core.js';
import type { Domain } from './domain.js';
import { TrackerStatus } from './status.js';
import { TrackingStore } from './store.js';
import { Tracker } from './tracker.js';

/** One message of the outgoing queue. */
export interface OutEntry {
  readonly tracker: Tracker;
  readonly message: Message<unknown>;
  readonly url: string;
  readonly node: AddressNode;
  readonly exchange: string;
  readonly routingKey: string;
  state: 'queued' | 'sending' | 'done';
  status: TrackerStatus;
  /** Why the last attempt failed (queued again) or the outcome's error. */
  error: AMQPError | undefined;
}

/** What the outgoing side needs from its Messenger. */
export interface OutgoingHost {
  /** The domain for `url` (made on first use). */
  domain(url: string): Domain;
  /** Something changed (a status, the queue): wake waiters. */
  changed(): void;
  /** A message went back to the queue because of `err` (reported by the next `work()` unless a `send()` raised it). */
  failed(err: AMQPError): void;
}

function outcome(err: unknown): TrackerStatus {
  if (err instanceof PublishNacked) return TrackerStatus.REJECTED;
  if (err instanceof NoRoute) return TrackerStatus.RELEASED;
  if (err instanceof NotFound || err instanceof ArgumentError) return TrackerStatus.REJECTED;
  return TrackerStatus.SETTLED;
}

/** See the file header. */
export class Outgoing {
  /** Tracking window of outgoing trackers. */
  readonly store = new TrackingStore<OutEntry>();
  /** The tracker of the last `put()`. */
  last: Tracker | undefined;
  private queue: OutEntry[] = [];
  private sending = 0;

  constructor(
    private readonly owner: object,
    private readonly host: OutgoingHost,
  ) {}

  /** Messages put and not yet published. */
  get depth(): number {
    return this.queue.length;
  }

  /** Messages published and not yet settled by the broker. */
  get inFlight(): number {
    return this.sending;
  }

  /** Queues a message (already copied and addressed); returns its tracker. */
  add(message: Message<unknown>, url: string, node: AddressNode, exchange: string, routingKey: string): Tracker {
    const tracker = new Tracker(this.owner, 'outgoing', this.store.nextSequence);
    const entry: OutEntry = {
      tracker,
      message,
      url,
      node,
      exchange,
      routingKey,
      state: 'queued',
      status: TrackerStatus.PENDING,
      error: undefined,
    };
    this.store.track(entry, () => undefined);
    this.queue.push(entry);
    this.last = tracker;
    return tracker;
  }

  /** The entry of `tracker` while it is tracked. */
  entry(tracker: Tracker): OutEntry | undefined {
    return this.store.get(tracker.sequence);
  }

  /** Takes up to `n` (all when negative) queued messages, oldest first. */
  take(n: number): OutEntry[] {
    return this.queue.splice(0, n < 0 ? this.queue.length : n);
  }

  /** Publishes `batch`, each on its domain; outcomes arrive later (see the file header). */
  dispatch(batch: readonly OutEntry[]): void {
    for (const e of batch) {
      e.state = 'sending';
      e.error = undefined;
      this.sending++;
      let domain: Domain;
      try {
        domain = this.host.domain(e.url);
      } catch (err) {
        this.finish(e, err, false);
        continue;
      }
      let sent = false;
      domain
        .publish(e.message, e.node, e.exchange, e.routingKey, () => {
          sent = true;
        })
        .then(
          () => this.finish(e, undefined, true),
          (err: unknown) => this.finish(e, err, sent),
        );
    }
  }

  private finish(e: OutEntry, err: unknown, sent: boolean): void {
    this.sending--;
    if (err === undefined) {
      e.state = 'done';
      e.status = TrackerStatus.ACCEPTED;
    } else {
      e.error = err as AMQPError;
      // never handed to the channel (no connection, a TLS file, a declare failed...) or refused
      // before it went out: back to the queue; a missing exchange is the message's own problem
      const unsent = sent ? err instanceof Timeout || err instanceof PublishBufferFull : !(err instanceof NotFound);
      if (unsent) {
        this.host.failed(e.error);
        e.state = 'queued';
        this.queue.push(e);
        this.queue.sort((a, b) => a.tracker.sequence - b.tracker.sequence);
      } else {
        e.state = 'done';
        e.status = outcome(err);
      }
    }
    this.host.changed();
  }

  /** Forgets `tracker` (or, without one, every tracker up to the last put): their status becomes UNKNOWN. */
  settle(tracker: Tracker | undefined): void {
    if (tracker) {
      this.store.forget(tracker.sequence);
      return;
    }
    if (!this.last) return;
    for (const e of this.store.upTo(this.last.sequence)) this.store.forget(e.tracker.sequence);
  }
}
