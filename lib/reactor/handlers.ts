/**
 * Handlers (Proton's `proton.handlers`): the `Handler` interface listing every event method,
 * `MessagingHandler` (receiver credit, automatic acceptance, and the accept / reject / release /
 * settle helpers), the `TransactionHandler` events, and `TransactionalClientHandler`.
 *
 * A handler is any object: the container calls the `on<Event>` method it has, else its
 * `onUnhandled(method, event)`, else nothing. Methods may be async; the events of one link are
 * handled one after another, each after the previous one's promise settled. The base classes
 * define no `on...` methods, so subclasses declare theirs without `override`.
 */
import { ArgumentError } from '../core.js';
import type { Delivery, DeliveryState } from './delivery.js';
import type { Reactor } from './model.js';

type Event = Reactor['Event'];
type Transaction = Reactor['Transaction'];

/** What a handler method may return. */
export type HandlerResult = void | Promise<void>;

/**
 * Every event a handler may handle (all optional). Application events call `on<Typename>`.
 * AMQP 0.9.1 meaning of each: see docs/proton.md.
 */
export interface Handler {
  /** The container's loop starts (Proton's on_reactor_init); `onStart` is called when this is absent. */
  onReactorInit?(event: Event): HandlerResult;
  /** The container's loop starts (MessagingHandler's alias of onReactorInit). */
  onStart?(event: Event): HandlerResult;
  /** The connection is open (handshake done), again after each reconnect. */
  onConnectionOpened?(event: Event): HandlerResult;
  /** The broker closes the connection without an error. */
  onConnectionClosing?(event: Event): HandlerResult;
  /** The connection is closed for good. */
  onConnectionClosed?(event: Event): HandlerResult;
  /** The broker closed the connection with an error (`e.error`). */
  onConnectionError?(event: Event): HandlerResult;
  /** A link's session (its channel) is open. */
  onSessionOpened?(event: Event): HandlerResult;
  /** The broker closes a session without an error. */
  onSessionClosing?(event: Event): HandlerResult;
  /** A session is closed. */
  onSessionClosed?(event: Event): HandlerResult;
  /** The broker closed a session (channel) with an error (`e.error`); it reopens. */
  onSessionError?(event: Event): HandlerResult;
  /** A link is attached: its consumer or publisher is set up. */
  onLinkOpened?(event: Event): HandlerResult;
  /** The broker ends a link without an error (its consumer was cancelled, e.g. queue deleted). */
  onLinkClosing?(event: Event): HandlerResult;
  /** A link is closed. */
  onLinkClosed?(event: Event): HandlerResult;
  /** A link failed (`e.error`): a missing queue or exchange, an option the node cannot honour... */
  onLinkError?(event: Event): HandlerResult;
  /** The socket was lost; the connection reconnects per its Backoff. */
  onDisconnected?(event: Event): HandlerResult;
  /** A socket-level failure (`e.error`): refused, TLS, authentication, lost. */
  onTransportError?(event: Event): HandlerResult;
  /** A sender has credit (`e.sender.credit`): it may send. */
  onSendable?(event: Event): HandlerResult;
  /** A message arrived (`e.message`, `e.delivery`). */
  onMessage?(event: Event): HandlerResult;
  /** The broker confirmed a sent message (basic.ack, or a committed transaction). */
  onAccepted?(event: Event): HandlerResult;
  /** The broker refused a sent message (basic.nack, or a missing exchange on an anonymous sender). */
  onRejected?(event: Event): HandlerResult;
  /** A sent message was not delivered: returned unroutable (mandatory), or it timed out unsent. */
  onReleased?(event: Event): HandlerResult;
  /** A sent message's outcome is final (after onAccepted, onRejected or onReleased). */
  onSettled?(event: Event): HandlerResult;
  /** A Copy receiver on a stream has caught up with the stream's end. */
  onDrained?(event: Event): HandlerResult;
  /** A task made by `container.schedule()` is due. */
  onTimerTask?(event: Event): HandlerResult;
  /** A transaction was declared (`e.transaction`). */
  onTransactionDeclared?(event: Event): HandlerResult;
  /** A transaction committed. */
  onTransactionCommitted?(event: Event): HandlerResult;
  /** A transaction was rolled back (or lost with its connection). */
  onTransactionAborted?(event: Event): HandlerResult;
  /** A transaction could not be declared (`e.error`). */
  onTransactionDeclareFailed?(event: Event): HandlerResult;
  /** A transaction's commit failed (`e.error`); the broker rolled it back. */
  onTransactionCommitFailed?(event: Event): HandlerResult;
  /** Another handler method threw (`e.error` is a HandlerError); the delivery, if any, was released. */
  onError?(event: Event): HandlerResult;
  /** Called for events this handler has no method for, with the method's name (e.g. `onSendable`). */
  onUnhandled?(method: string, event: Event): HandlerResult;
}

/** The transaction events (Proton's TransactionHandler), for `declareTransaction({ handler })`. */
export type TransactionHandler = Pick<
  Handler,
  'onTransactionDeclared' | 'onTransactionCommitted' | 'onTransactionAborted' | 'onTransactionDeclareFailed' | 'onTransactionCommitFailed'
>;

/** Options of `MessagingHandler` (Proton's keyword arguments). */
export interface MessagingHandlerOptions {
  /**
   * Receiver credit (default 10): the receiver's `basic.qos` prefetch count. 0 means no automatic
   * credit: the receiver gets messages only as `receiver.flow(n)` grants them (fetched with basic.get).
   */
  prefetch?: number;
  /** Accept (ack) each message once `onMessage` returns or its promise settles (default true). */
  autoAccept?: boolean;
  /** Settle outgoing deliveries locally once their outcome arrives (default true). */
  autoSettle?: boolean;
  /** Report a broker-initiated close without error as an error event (default false). */
  peerCloseIsError?: boolean;
}

/** Proton's MessagingHandler: see the file header. */
export class MessagingHandler {
  /** Receiver credit (basic.qos prefetch count); 0 = credit only from `receiver.flow(n)`. */
  readonly prefetch: number;
  /** Whether messages are accepted automatically after `onMessage`. */
  readonly autoAccept: boolean;
  /** Whether outgoing deliveries are settled automatically once their outcome arrives. */
  readonly autoSettle: boolean;
  /** Whether a broker-initiated close without error is reported as an error. */
  readonly peerCloseIsError: boolean;

  /** @throws ArgumentError for a prefetch that is not an integer in [0, 65535]. */
  constructor(options: MessagingHandlerOptions = {}) {
    const prefetch = options.prefetch ?? 10;
    if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 65535) {
      throw new ArgumentError(`MessagingHandler: prefetch must be an integer in [0, 65535], got ${String(prefetch)}`);
    }
    this.prefetch = prefetch;
    this.autoAccept = options.autoAccept ?? true;
    this.autoSettle = options.autoSettle ?? true;
    this.peerCloseIsError = options.peerCloseIsError ?? false;
  }

  /** Accepts a received message (basic.ack). Outside transactions only: see Transaction.accept. */
  accept(delivery: Delivery): void {
    delivery.update('accepted');
  }

  /** Rejects a received message without requeueing it (basic.reject requeue=false: dead-lettered or dropped). */
  reject(delivery: Delivery): void {
    delivery.update('rejected');
  }

  /**
   * Releases a received message back to its queue (basic.nack requeue=true). 0.9.1 cannot requeue
   * without counting a delivery attempt: `delivered` is accepted for Proton compatibility, and
   * the broker marks the message redelivered either way.
   */
  release(delivery: Delivery, delivered = true): void {
    delivery.update(delivered ? 'modified' : 'released');
  }

  /**
   * Settles a delivery, first applying `state` if given. A received message settled without a
   * state is accepted (0.9.1 forgets a delivery only by acking it).
   */
  settle(delivery: Delivery, state?: DeliveryState): void {
    if (state !== undefined) delivery.update(state);
    delivery.settle();
  }
}

/**
 * Proton's TransactionalClientHandler: a MessagingHandler (autoAccept off by default) with the
 * transaction events, whose `accept(delivery, transaction)` accepts within a transaction. A
 * receiver whose handler handles transactions receives on its connection's transactional session.
 */
export class TransactionalClientHandler extends MessagingHandler {
  /** @throws ArgumentError for a bad prefetch. */
  constructor(options: MessagingHandlerOptions = {}) {
    super({ ...options, autoAccept: options.autoAccept ?? false });
  }

  /**
   * Accepts a received message within `transaction` (transaction.accept), or outside any
   * transaction when none is given.
   * @throws TransactionError when the delivery did not arrive on the transaction's session.
   */
  override accept(delivery: Delivery, transaction?: Transaction): void {
    if (transaction) transaction.accept(delivery);
    else super.accept(delivery);
  }
}

/** True when `h` handles transaction events (its receivers then receive on the transactional session). */
export function handlesTransactions(h: object): boolean {
  return h instanceof TransactionalClientHandler || typeof (h as Handler).onTransactionDeclared === 'function';
}

/** The MessagingHandler options that apply to a link whose handlers are `handlers`. */
export function linkSettings(handlers: readonly object[]): Required<MessagingHandlerOptions> {
  const m = handlers.find((h): h is MessagingHandler => h instanceof MessagingHandler);
  return {
    prefetch: m?.prefetch ?? 10,
    autoAccept: m?.autoAccept ?? true,
    autoSettle: m?.autoSettle ?? true,
    peerCloseIsError: m?.peerCloseIsError ?? false,
  };
}
