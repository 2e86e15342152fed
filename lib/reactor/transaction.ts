/**
 * Transaction (Proton's `proton.reactor.Transaction`) over 0.9.1's tx.select / tx.commit /
 * tx.rollback, on its connection's transactional session: one channel in tx mode, shared by the
 * transaction's sends and by the receivers whose deliveries it accepts (0.9.1 acks on the
 * delivery's own channel, so those receivers receive on that session: see handlesTransactions).
 *
 * `send(sender, msg)` publishes the message to the sender's target on the transactional session;
 * it reaches the queue only if the transaction commits. A transactional channel cannot also be in
 * confirm mode, so onAccepted (or onReleased, for a message returned unroutable) for those
 * messages fires when the commit succeeds. `accept(delivery)` acks within the transaction. On
 * abort, 0.9.1's rollback discards the acks but leaves the deliveries unacked, so the layer then
 * requeues them (basic.nack requeue, committed on its own): they come back to their queue.
 * One transaction runs on a connection at a time; declaring another while one is in progress
 * fails with onTransactionDeclareFailed. A transaction in progress when its connection is lost
 * is aborted by the broker: onTransactionAborted, with the cause as `e.error`.
 */
import { type AMQPError, ArgumentError, type Channel, type Connection, type Message } from '../core.js';
import type { Delivery } from './delivery.js';
import { TransactionError, asAmqpError } from './errors.js';
import type { Handler } from './handlers.js';
import type { Reactor } from './model.js';
import type { Sender } from './sender.js';

declare module './model.js' {
  interface Reactor {
    /** The Transaction class (see model.ts). */
    Transaction: Transaction;
  }
}

type ContainerConnection = Reactor['ContainerConnection'];
type EventContext = Reactor['EventContext'];

/** A transaction's state. */
export type TransactionState = 'declaring' | 'declared' | 'discharging' | 'committed' | 'aborted' | 'failed';

interface Sent {
  delivery: Delivery;
  sender: Sender;
  exchange: string;
  routingKey: string;
  returned: boolean;
}

let ids = 0;

/** See the file header. */
export class Transaction {
  /** The connection the transaction runs on. */
  readonly connection: ContainerConnection;
  /** The handler of its events, if one was given; else the connection's or container's handlers. */
  readonly handler: Handler | undefined;
  /**
   * Proton's settle_before_discharge. 0.9.1 has no transaction control messages to settle, so it
   * changes nothing on the wire; kept for compatibility.
   */
  readonly settleBeforeDischarge: boolean;
  /** A process-unique id, e.g. `tx-3`. */
  readonly id: string;
  /** The state. */
  state: TransactionState = 'declaring';
  private channel: Channel | null = null;
  private sent: Sent[] = [];
  private accepted: Delivery[] = [];

  /** @internal Made by container.declareTransaction(). */
  constructor(connection: ContainerConnection, handler: Handler | undefined, settleBeforeDischarge: boolean) {
    this.connection = connection;
    this.handler = handler;
    this.settleBeforeDischarge = settleBeforeDischarge;
    this.id = `tx-${++ids}`;
  }

  private fire(type: string, ctx: EventContext = {}): void {
    const c = this.connection;
    c.container.fire(
      c.lane,
      [],
      type,
      { connection: c, session: c.transactionalSession, transaction: this, ...ctx },
      this.handler ? [this.handler] : c.handlers(),
    );
  }

  /** @internal Declares the transaction on `core` (the connection is open). */
  async declareOn(core: Connection): Promise<void> {
    const c = this.connection;
    c.declared(this);
    const busy = c.activeTransaction;
    if (busy && busy !== this) {
      this.state = 'failed';
      this.fire('transactionDeclareFailed', {
        error: new TransactionError(
          `transaction ${busy.id} is still in progress on this connection; declare the next one once it is committed or aborted`,
        ),
      });
      return;
    }
    c.activeTransaction = this;
    try {
      this.channel = await c.txChannel(core);
      if (this.state !== 'declaring') return; // lost meanwhile
      this.state = 'declared';
      this.fire('transactionDeclared');
    } catch (err) {
      if (c.activeTransaction === this) c.activeTransaction = null;
      if (this.state !== 'declaring') return;
      this.state = 'failed';
      this.fire('transactionDeclareFailed', { error: asAmqpError(err) });
    }
  }

  private ready(what: string): Channel {
    if (this.state !== 'declared' || !this.channel) throw new TransactionError(`${what}: transaction ${this.id} is ${this.state}`);
    return this.channel;
  }

  /**
   * Sends a message to `sender`'s target within the transaction.
   * @throws TransactionError when the transaction is not declared or the sender is on another
   *   connection; ArgumentError for a bad message (as Sender.send); LinkClosed for a closed sender.
   */
  send(sender: Sender, msg: Message<unknown>, tag?: string): Delivery {
    const ch = this.ready('send');
    if (sender.connection !== this.connection)
      throw new TransactionError(`send: sender '${sender.name}' is on another connection than transaction ${this.id}`);
    const d = sender.newDelivery(msg, tag);
    const { exchange, routingKey } = sender.routeOf(msg);
    d.transaction = this;
    this.sent.push({ delivery: d, sender, exchange, routingKey, returned: false });
    // the outcome comes with the commit; a failed publish fails the channel, hence the commit
    ch.basicPublish(msg, { exchange, routingKey, mandatory: true, timeout: this.connection.callTimeout }).catch(() => undefined);
    return d;
  }

  /**
   * Accepts a received message within the transaction (basic.ack on the transactional session).
   * @throws TransactionError when the transaction is not declared, or the delivery did not arrive
   *   on the transactional session (give its receiver a handler that handles transactions);
   *   ArgumentError for a sent or already settled delivery.
   */
  accept(delivery: Delivery): void {
    const ch = this.ready('accept');
    if (!delivery.incoming) throw new ArgumentError('accept: the delivery was sent, not received');
    if (delivery.settled) throw new ArgumentError(`accept: delivery ${delivery.tag} is already settled`);
    if (delivery.message.channel !== ch) {
      throw new TransactionError(
        `accept: delivery ${delivery.tag} arrived on channel ${delivery.message.channel?.channelId ?? '?'}, not on the transactional session (channel ${ch.channelId}); ` +
          `0.9.1 acks on the delivery's own channel, so receive it with a handler that handles transactions (onTransactionDeclared, or a TransactionalClientHandler)`,
      );
    }
    delivery.update('accepted');
    delivery.transaction = this;
    this.accepted.push(delivery);
  }

  /** Commits (tx.commit). onTransactionCommitted follows, or onTransactionCommitFailed. @throws TransactionError when not declared. */
  commit(): void {
    const ch = this.ready('commit');
    this.state = 'discharging';
    void (async () => {
      try {
        await ch.txCommit({ timeout: this.connection.callTimeout });
      } catch (err) {
        this.discharged('failed');
        this.fire('transactionCommitFailed', { error: asAmqpError(err) });
        return;
      }
      this.discharged('committed');
      for (const s of this.sent) s.sender.finish(s.delivery, s.returned ? 'released' : 'accepted');
      for (const d of this.accepted) d.remoteState = 'accepted';
      this.fire('transactionCommitted');
    })();
  }

  /**
   * Aborts (tx.rollback): sent messages are discarded, accepted deliveries go back to their queue.
   * onTransactionAborted follows. @throws TransactionError when not declared.
   */
  abort(): void {
    const ch = this.ready('abort');
    this.state = 'discharging';
    void (async () => {
      let error: AMQPError | undefined;
      try {
        await ch.txRollback({ timeout: this.connection.callTimeout });
        let requeued = 0;
        for (const d of this.accepted) {
          try {
            d.message.nack({ requeue: true });
            requeued++;
          } catch {
            /* its channel is gone: the broker requeues it itself */
          }
        }
        if (requeued > 0) await ch.txCommit({ timeout: this.connection.callTimeout });
      } catch (err) {
        error = asAmqpError(err);
      }
      this.discharged('aborted');
      this.fire('transactionAborted', error ? { error } : {});
    })();
  }

  private discharged(state: TransactionState): void {
    this.state = state;
    if (this.connection.activeTransaction === this) this.connection.activeTransaction = null;
  }

  /** @internal A message the broker returned on the transactional session. */
  returned(msg: Message): void {
    const info = msg.deliveryInfo;
    const s = this.sent.find((x) => !x.returned && x.exchange === info?.exchange && x.routingKey === info.routingKey);
    if (s) s.returned = true;
  }

  /** @internal The broker discarded the transaction (its channel or connection went away). */
  lost(err: AMQPError): void {
    if (this.state === 'declaring') {
      this.state = 'failed';
      this.fire('transactionDeclareFailed', { error: err });
    } else if (this.state === 'declared') {
      this.state = 'aborted';
      this.fire('transactionAborted', { error: err });
    }
  }
}
