/**
 * Sender: a publisher on its own channel. Attaching checks the target (passive declare of the
 * queue or exchange; a sender without a target publishes each message to its own
 * `message.address`, Proton's anonymous relay), then turns on publisher confirms unless the link
 * is AtMostOnce.
 *
 * Credit (`sender.credit`, `onSendable`) is what 0.9.1 can offer: the link is attached, the
 * broker is not blocking publishers (connection.blocked), the channel is not paused
 * (channel.flow), and fewer than `window` messages are in flight (unconfirmed, or with AtMostOnce
 * not yet written to the socket). `send()` also accepts messages beyond credit, and before the
 * link is attached: they wait in order. Outcomes: basic.ack -> onAccepted, basic.nack ->
 * onRejected, a mandatory message returned unroutable -> onReleased (RabbitMQ acks a returned
 * message after returning it: released wins), each followed by onSettled.
 *
 * When the connection is lost, messages in flight (their outcome unknown) are sent again, in
 * order and marked with the core's REPUBLISHED_HEADER, once the link is attached again: at least
 * once, so a receiver may see duplicates (Proton's simple_recv drops them by message id).
 */
import {
  type AMQPError,
  ArgumentError,
  type Connection,
  Message,
  type MessageBody,
  NotFound,
  PublishNacked,
  PublishReturned,
  REPUBLISHED_HEADER,
  Timeout,
  parseAddress,
} from '../core.js';
import { Delivery, type DeliveryState } from './delivery.js';
import { LinkOptionError, NodeNotFound, asAmqpError } from './errors.js';
import { linkSettings } from './handlers.js';
import { isGone, Link, type LinkInit } from './link.js';
import { checkExchange, checkQueue, describeNode, nodeOf, type Route, routeTo } from './nodes.js';

/** @internal What createSender passes to a Sender. */
export interface SenderInit extends LinkInit {
  /** Most messages in flight at once. */
  window: number;
  /** Delivery tag source, if given. */
  tags: (() => string) | undefined;
}

/** See the file header. */
export class Sender extends Link {
  /** Always `sender`. */
  readonly kind = 'sender' as const;
  /** How many messages may be in flight at once (the most credit the sender has). */
  readonly window: number;
  private readonly route: Route | null;
  private readonly tags: (() => string) | undefined;
  private outbox: Delivery[] = [];
  private readonly inflight = new Set<Delivery>();
  private sendablePending = false;
  private seq = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly knownExchanges = new Set<string>();
  private checking = false;

  /** @internal Made by container.createSender(). @throws AddressError, LinkOptionError. */
  constructor(init: SenderInit) {
    super(init);
    this.window = init.window;
    this.tags = init.tags;
    const address = init.target.address;
    this.route = address === undefined ? null : routeTo(nodeOf(address));
  }

  /** @internal Checks options against the address (called once options are applied). */
  validate(): void {
    const address = this.target.address;
    if (this.target.properties && (address === undefined || nodeOf(address).kind !== 'queue')) {
      throw new LinkOptionError(
        `sender '${this.name}': DynamicNodeProperties needs a queue target (0.9.1 declares queues, not exchanges, from a link)`,
      );
    }
  }

  /** The credit: how many more messages may be sent now (see the file header). */
  get credit(): number {
    if (this.state !== 'open') return 0;
    const core = this.connection.core;
    const ch = this.session.channel;
    if (!core || core.blocked || !ch || !ch.isOpen || !ch.active) return 0;
    return Math.max(0, this.window - this.inflight.size - this.outbox.length);
  }

  /** Messages sent and not yet settled by the broker (waiting or in flight). */
  get unsettled(): number {
    return this.inflight.size + this.outbox.length;
  }

  /** @internal The route of `msg`: the target's, or for an anonymous sender the message's address. */
  routeOf(msg: Message<unknown>): { exchange: string; routingKey: string } {
    let route = this.route;
    if (route === null) {
      if (typeof msg.address !== 'string') {
        throw new ArgumentError(`sender '${this.name}' has no target: each message needs an address (message.address)`);
      }
      const parsed = parseAddress(msg.address);
      if (parsed.url !== undefined || parsed.domain !== undefined || parsed.node === null) {
        throw new ArgumentError(
          `message address ${JSON.stringify(msg.address)}: give a node (/queues/q, /exchanges/x/key or a queue name), not a broker`,
        );
      }
      route = routeTo(
        parsed.node.kind === 'exchange' && parsed.node.exchange === 'amq.default' ? { ...parsed.node, exchange: '' } : parsed.node,
      );
    }
    return { exchange: route.exchange, routingKey: route.routingKey ?? msg.subject ?? '' };
  }

  /** @internal A new outgoing delivery of `msg` (validated: its body encodes, its route resolves). */
  newDelivery(msg: Message<unknown>, tag: string | undefined): Delivery {
    if (!(msg instanceof Message)) throw new ArgumentError(`sender '${this.name}': send() takes a Message`);
    if (this.state === 'closing' || this.state === 'closed') throw this.closedError('send');
    this.routeOf(msg);
    void msg.bodyBuffer; // throws ArgumentError for a body that cannot be encoded
    const seq = ++this.seq;
    const t = tag ?? this.tags?.() ?? String(seq);
    return new Delivery(this, msg as Message<MessageBody>, { tag: t, incoming: false, presettled: this.sndSettleMode === 'settled', seq });
  }

  /**
   * Sends a message: now if the link is attached, else once it is. Returns its delivery, whose
   * outcome arrives as onAccepted / onRejected / onReleased (not for AtMostOnce senders).
   * @throws ArgumentError for a message that is not a Message, whose body cannot be encoded, or
   *   (anonymous sender) that has no usable address; LinkClosed after close().
   */
  send(msg: Message<unknown>, tag?: string): Delivery {
    const d = this.newDelivery(msg, tag);
    this.outbox.push(d);
    this.flush();
    return d;
  }

  protected async doAttach(core: Connection, gen: number): Promise<void> {
    const ch = await this.openChannel(core, gen);
    this.knownExchanges.clear();
    const address = this.target.address;
    if (address !== undefined) {
      const node = nodeOf(address);
      try {
        if (node.kind === 'queue') await checkQueue(ch, node.queue, this.target.properties);
        else await checkExchange(ch, node.exchange);
      } catch (err) {
        if (err instanceof NodeNotFound) err.message = `sender '${this.name}' to ${describeNode(node)}: ${err.message}`;
        throw err;
      }
    }
    if (this.sndSettleMode !== 'settled') await ch.confirmSelect({ timeout: this.connection.callTimeout });
    ch.on('return', () => {
      ch.returnedMessages.length = 0; // outcomes come with the confirms; keep no copies
    });
    this.remoteTarget.address = address;
  }

  protected opened(): void {
    this.flush();
    this.scheduleSendable();
  }

  protected stopActivity(): void {
    this.sendablePending = false;
    this.wakeDrainWaiters();
  }

  protected override channelError(err: AMQPError): void {
    super.channelError(err);
    // without confirms, a publish to a missing exchange shows only as the channel's error
    if (err instanceof NotFound && this.route !== null && this.sndSettleMode === 'settled') {
      this.fail(
        new NodeNotFound(`sender '${this.name}' to ${describeNode(nodeOf(this.target.address as string))}: ${err.message}`, {
          replyCode: 404,
          replyText: err.replyText,
          cause: err,
        }),
      );
    }
  }

  private wakeDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  /** @internal Resolves once queued events are handled and nothing is in flight. */
  override async quiesce(): Promise<void> {
    await super.quiesce();
    if (this.unsettled > 0 && this.state === 'open') await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** @internal Publishes what waits in the outbox, in order, while attached. */
  flush(): void {
    if ((this.state !== 'open' && this.state !== 'closing') || this.outbox.length === 0 || this.checking) return;
    if (!this.session.channel) return;
    this.outbox.sort((a, b) => a.seq - b.seq);
    while (this.outbox.length > 0) {
      const d = this.outbox[0] as Delivery;
      if (this.route === null) {
        // a publish to a missing exchange would close the channel and fail every message in
        // flight on it: an anonymous sender checks each new exchange first, on a channel of its own
        const exchange = this.routeOf(d.message).exchange;
        if (exchange !== '' && !this.knownExchanges.has(exchange)) {
          void this.verifyExchange(exchange);
          return;
        }
      }
      this.outbox.shift();
      this.publish(d);
    }
  }

  private async verifyExchange(exchange: string): Promise<void> {
    const core = this.connection.core;
    const attached = this.session.channel;
    if (!core) return;
    this.checking = true;
    let failure: unknown;
    try {
      const ch = await core.channel(undefined, { timeout: this.connection.callTimeout });
      try {
        await checkExchange(ch, exchange);
        this.knownExchanges.add(exchange);
      } finally {
        await ch.close({ timeout: this.connection.callTimeout }).catch(() => undefined);
      }
    } catch (err) {
      failure = err;
    } finally {
      this.checking = false;
    }
    if (this.session.channel !== attached || (failure !== undefined && !core.connected)) return; // re-checked after the next attach
    if (failure !== undefined) {
      const doomed = this.outbox.filter((d) => this.routeOf(d.message).exchange === exchange);
      this.outbox = this.outbox.filter((d) => !doomed.includes(d));
      for (const d of doomed) this.finish(d, 'rejected', failure);
    }
    this.flush();
  }

  private publish(d: Delivery): void {
    const ch = this.session.channel;
    if (!ch) {
      this.outbox.push(d);
      return;
    }
    const { exchange, routingKey } = this.routeOf(d.message);
    const confirmed = this.sndSettleMode !== 'settled';
    let msg: Message<unknown> = d.message;
    if (resent.has(d)) {
      msg = new Message(d.message.body, {
        ...d.message.properties,
        applicationHeaders: { ...d.message.properties.applicationHeaders, [REPUBLISHED_HEADER]: true },
      });
    }
    this.inflight.add(d);
    ch.basicPublish(msg, { exchange, routingKey, mandatory: confirmed, timeout: this.connection.callTimeout }).then(
      () => this.finish(d, confirmed ? 'accepted' : undefined),
      (err: unknown) => this.failed(d, err),
    );
  }

  private failed(d: Delivery, err: unknown): void {
    if (err instanceof PublishReturned) return this.finish(d, 'released', err);
    if (err instanceof PublishNacked) return this.finish(d, 'rejected', err);
    if (err instanceof Timeout) return this.finish(d, 'released', err);
    if (err instanceof NotFound) {
      if (this.route === null) return this.finish(d, 'rejected', err);
      this.inflight.delete(d);
      const node = describeNode(nodeOf(this.target.address as string));
      this.fail(
        new NodeNotFound(`sender '${this.name}' to ${node}: ${err.message}`, { replyCode: 404, replyText: err.replyText, cause: err }),
      );
      return;
    }
    this.inflight.delete(d);
    if (isGone(err) && this.state !== 'closed') {
      resent.add(d); // outcome unknown: sent again once the link is back
      this.outbox.push(d);
      this.flush();
      return;
    }
    this.finish(d, 'rejected', err);
  }

  /** @internal Records a sent message's outcome and fires its events (undefined: AtMostOnce, no events). */
  finish(d: Delivery, state: DeliveryState | undefined, err?: unknown): void {
    this.inflight.delete(d);
    resent.delete(d);
    if (state !== undefined) {
      d.remoteState = state;
      d.remoteSettled = true;
      if (linkSettings(this.handlers()).autoSettle) d.settled = true;
      const error = err === undefined ? undefined : asAmqpError(err);
      this.fire(state === 'accepted' ? 'accepted' : state === 'rejected' ? 'rejected' : 'released', { delivery: d, error });
      this.fire('settled', { delivery: d, error });
    } else {
      d.settled = true;
    }
    if (this.unsettled === 0) this.wakeDrainWaiters();
    this.scheduleSendable();
  }

  /** @internal Queues one onSendable when the sender has credit and none is queued yet. */
  scheduleSendable(): void {
    if (this.sendablePending || this.credit === 0) return;
    this.sendablePending = true;
    const gen = this.gen;
    this.container.post(this.lane, async () => {
      if (!this.sendablePending || gen !== this.gen) return;
      this.sendablePending = false;
      if (this.credit > 0)
        await this.container.dispatch('sendable', { link: this, session: this.session, connection: this.connection }, this.handlers());
    }, [this.connection.lane]);
  }

  protected async beforeClose(): Promise<void> {
    if (this.unsettled === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.connection.callTimeout);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiters.push(done);
    });
  }
}

/** Deliveries being sent again after a reconnect (marked with REPUBLISHED_HEADER). */
const resent = new WeakSet<Delivery>();
