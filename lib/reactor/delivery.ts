/**
 * Delivery: one message transfer on a link (Proton's `proton.Delivery`), received or sent.
 *
 * Received: `update(state)` settles it on the wire at once, since 0.9.1 has no separate
 * disposition and settlement: accepted = basic.ack, rejected = basic.reject requeue=false,
 * released / modified = basic.nack requeue=true. Messages of an AtMostOnce receiver arrive
 * settled (noAck) and need nothing. A delivery whose channel closed or reopened since it arrived
 * (a reconnect) can no longer be settled: the broker requeues it and delivers it again, so
 * settling it does nothing and marks it `stale`. On a transactional session every settlement
 * takes effect when the session's transaction commits.
 *
 * Sent: `remoteState` is the broker's outcome (accepted = confirmed, rejected = nacked, released =
 * returned unroutable); `remoteSettled` turns true with it, `settled` once settled locally.
 */
import { ArgumentError, ChannelClosed, ConnectionError, type Message, type MessageBody, StaleDelivery } from '../core.js';
import type { Reactor } from './model.js';

type Link = Reactor['Link'];
type Transaction = Reactor['Transaction'];

/** A delivery outcome, as in AMQP 1.0 (see the file header for the 0.9.1 meaning). */
export type DeliveryState = 'accepted' | 'rejected' | 'released' | 'modified';

const STATES: readonly DeliveryState[] = ['accepted', 'rejected', 'released', 'modified'];

/** See the file header. */
export class Delivery {
  /** The delivery tag: the broker's delivery tag for received messages, the sender's tag for sent ones. */
  readonly tag: string;
  /** The link it travels on. */
  readonly link: Link;
  /** The message (received: its body decoded when JSON; sent: as given to `send`). */
  readonly message: Message<MessageBody>;
  /** True for a received delivery, false for a sent one. */
  readonly incoming: boolean;
  /** The outcome the broker gave a sent message, once known. */
  remoteState: DeliveryState | undefined = undefined;
  /** The outcome given locally (update()). */
  localState: DeliveryState | undefined = undefined;
  /** True once settled locally. */
  settled: boolean;
  /** True once the broker settled it (a received noAck message, or a sent message's outcome). */
  remoteSettled: boolean;
  /** True for a received delivery whose channel closed before it was settled (it will be redelivered). */
  stale = false;
  /** The transaction it was sent or accepted in, if any. */
  transaction: Transaction | undefined = undefined;
  /** @internal Sending order, for resending in order after a reconnect. */
  readonly seq: number;

  /** @internal Deliveries are made by links. */
  constructor(link: Link, message: Message<MessageBody>, opts: { tag: string; incoming: boolean; presettled: boolean; seq?: number }) {
    this.link = link;
    this.message = message;
    this.tag = opts.tag;
    this.incoming = opts.incoming;
    this.settled = opts.presettled;
    this.remoteSettled = opts.presettled;
    this.seq = opts.seq ?? 0;
  }

  /** True when a received delivery still needs settling. */
  get pending(): boolean {
    return this.incoming && !this.settled;
  }

  /**
   * Gives the delivery an outcome. For a received one it is settled on the wire at once (see the
   * file header); for a sent one only the local state is recorded.
   * @throws ArgumentError for an unknown state.
   */
  update(state: DeliveryState): void {
    if (!STATES.includes(state)) throw new ArgumentError(`unknown delivery state ${String(state)}`);
    this.localState = state;
    if (!this.incoming) return;
    if (this.settled) return;
    this.settled = true;
    const msg = this.message;
    try {
      if (state === 'accepted') msg.ack();
      else if (state === 'rejected') msg.reject({ requeue: false });
      else msg.nack({ requeue: true });
    } catch (err) {
      // the channel closed, reopened or lost its connection since: the broker requeues the message
      if (err instanceof StaleDelivery || err instanceof ChannelClosed || err instanceof ConnectionError) this.stale = true;
      else throw err;
    }
  }

  /** Settles the delivery: a received one not yet given an outcome is accepted. */
  settle(): void {
    if (this.incoming && !this.settled) this.update(this.localState ?? 'accepted');
    this.settled = true;
  }
}
