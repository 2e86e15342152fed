/**
 * Receiver: a consumer. Attaching resolves the source to a queue: a queue address is checked
 * (passive declare; Copy also checks it is a stream); an exchange address gets a private queue
 * (Copy, Selector, Filter) or a durable one named `<container id>:<link name>`
 * (DurableSubscription), bound with the address's routing key and the filter's arguments; a
 * dynamic source gets a server-named exclusive queue, whose name is `remoteSource.address`.
 *
 * Credit: with a prefetch (MessagingHandler option, default 10) the receiver consumes
 * (basic.consume) under basic.qos with that prefetch count. With prefetch 0 it receives only as
 * `flow(n)` grants credit, fetching one message per credit with basic.get (polling, from 25 ms up
 * to 1 s apart, while the queue is empty). Each message is handled by `onMessage` in order; then,
 * with autoAccept, acked. Throwing Reject rejects it (no requeue), Release requeues it; any other
 * error releases it and goes to the error path (onError / 'handlerError' / run() rejects).
 *
 * A Copy receiver on a stream acks each message to keep its credit flowing (acks do not remove
 * anything from a stream), resumes after a reconnect where it left off (the `x-stream-offset` of
 * the last message seen, plus one), and fires `onDrained` once no message has arrived for its
 * drainTimeout: 0.9.1 has no other way to tell a consumer that it reached the stream's end.
 */
import {
  ArgumentError,
  type Channel,
  type Connection,
  ConsumerCancelled,
  type FieldTable,
  Field,
  type Message,
  type MessageBody,
} from '../core.js';
import { Delivery } from './delivery.js';
import { LinkOptionError, NodeNotFound, Reject, Release, asAmqpError } from './errors.js';
import { linkSettings } from './handlers.js';
import { Link, type LinkInit } from './link.js';
import { checkExchange, checkQueue, describeNode, nodeOf, requireStream } from './nodes.js';
import type { StreamOffset } from '../core.js';

const POLL_MIN = 25;
const POLL_MAX = 1000;

/** See the file header. */
export class Receiver extends Link {
  /** Always `receiver`. */
  readonly kind = 'receiver' as const;
  /** Consumer arguments (basic.consume), for options of your own, e.g. `{ 'x-priority': 5 }`. */
  consumerArguments: FieldTable = {};
  /** Where a Copy receiver starts reading a stream (set by Copy). */
  streamOffset: StreamOffset = 'first';
  /** Quiet ms after which a Copy receiver on a stream counts as drained (set by Copy). */
  drainTimeout = 500;
  /** Messages received and not yet handled. */
  queued = 0;
  /** True once a Copy receiver on a stream has caught up (onDrained fired). */
  drained = false;
  private granted = 0;
  private queue = '';
  private consumerTag = '';
  private ownQueue: 'durable' | 'private' | undefined;
  private isStream = false;
  private lastOffset: number | undefined;
  private fetching = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollWake: (() => void) | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private early: Message[] = [];

  /** @internal Made by container.createReceiver(). */
  constructor(init: LinkInit) {
    super(init);
  }

  /** Credit: the prefetch while consuming, else what flow() granted and was not used yet. */
  get credit(): number {
    const p = this.prefetch;
    return p > 0 ? p : this.granted;
  }

  private get prefetch(): number {
    return linkSettings(this.handlers()).prefetch;
  }

  private get copy(): boolean {
    return this.source.distributionMode === 'copy';
  }

  /** @internal Checks the options against the address; throws before anything is sent. */
  validate(): void {
    const s = this.source;
    const filtered = Object.keys(s.filter).length > 0;
    if (s.dynamic) {
      if (filtered || s.durable === 'deliveries')
        throw new LinkOptionError(`receiver '${this.name}': a dynamic source cannot take Selector, Filter or DurableSubscription`);
      return;
    }
    if (s.address === undefined) throw new ArgumentError(`receiver '${this.name}': a source address is required unless dynamic is true`);
    const node = nodeOf(s.address);
    if (node.kind === 'queue') {
      if (filtered)
        throw new LinkOptionError(
          `receiver '${this.name}': Selector and Filter need an exchange address (0.9.1 filters by binding a queue to an exchange), got ${describeNode(node)}`,
        );
      if (s.durable === 'deliveries')
        throw new LinkOptionError(
          `receiver '${this.name}': DurableSubscription needs an exchange address; ${describeNode(node)} is durable as it is`,
        );
      if (this.copy && this.prefetch === 0)
        throw new LinkOptionError(
          `receiver '${this.name}': Copy on a queue needs a prefetch above 0 (a stream cannot be read with basic.get)`,
        );
      return;
    }
    if (node.exchange === '')
      throw new LinkOptionError(`receiver '${this.name}': the default exchange cannot be bound; receive from a queue instead`);
    if (!this.copy && !filtered && s.durable !== 'deliveries') {
      throw new LinkOptionError(
        `receiver '${this.name}': receiving from ${describeNode(node)} needs Copy (a private queue bound to it), DurableSubscription, or a Selector/Filter; a queue cannot be shared through an exchange address (Move)`,
      );
    }
  }

  /**
   * Grants `n` more credit to a receiver with prefetch 0: it fetches up to that many more messages.
   * @throws ArgumentError for a bad `n`, or for a consuming receiver (its credit is its prefetch);
   *   LinkClosed after close().
   */
  flow(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new ArgumentError(`flow(): credit must be a non-negative integer, got ${String(n)}`);
    if (this.state === 'closing' || this.state === 'closed') throw this.closedError('flow');
    if (this.prefetch > 0)
      throw new ArgumentError(
        `flow(): receiver '${this.name}' consumes with prefetch ${this.prefetch}; flow() grants credit only with prefetch 0`,
      );
    this.granted += n;
    this.kick();
  }

  protected async doAttach(core: Connection, gen: number): Promise<void> {
    const ch = await this.openChannel(core, gen);
    this.queue = await this.resolveQueue(core, ch);
    this.remoteSource.address = this.source.dynamic ? this.queue : this.source.address;
    this.remoteSource.dynamic = this.source.dynamic;
    this.remoteSource.distributionMode = this.source.distributionMode;
    this.drained = false;
    const prefetch = this.prefetch;
    if (prefetch === 0) return;
    const timeout = this.connection.callTimeout;
    await ch.basicQos({ prefetchCount: prefetch, timeout });
    const args: FieldTable = { ...this.consumerArguments };
    if (this.isStream) args['x-stream-offset'] = this.offsetArgument();
    this.consumerTag = await ch.basicConsume(this.queue, {
      noAck: this.sndSettleMode === 'settled',
      arguments: args,
      timeout,
      callback: (msg) => this.received(msg, gen),
      onCancel: (err) => this.cancelled(err, gen, core),
    });
  }

  private async resolveQueue(core: Connection, ch: Channel): Promise<string> {
    const s = this.source;
    const timeout = this.connection.callTimeout;
    this.ownQueue = undefined;
    if (s.dynamic) {
      this.ownQueue = 'private';
      return (await ch.queueDeclare('', { exclusive: true, autoDelete: true, arguments: s.properties ?? {}, timeout })).queue;
    }
    const node = nodeOf(s.address as string);
    try {
      if (node.kind === 'queue') {
        await checkQueue(ch, node.queue, s.properties);
        this.isStream = this.copy;
        if (this.copy) await requireStream(core, node.queue, timeout);
        return node.queue;
      }
      await checkExchange(ch, node.exchange);
    } catch (err) {
      if (err instanceof NodeNotFound) err.message = `receiver '${this.name}' from ${describeNode(node)}: ${err.message}`;
      throw err;
    }
    const durable = s.durable === 'deliveries';
    this.ownQueue = durable ? 'durable' : 'private';
    const q = durable
      ? (await ch.queueDeclare(`${this.container.id}:${this.name}`, { durable: true, arguments: s.properties ?? {}, timeout })).queue
      : (await ch.queueDeclare('', { exclusive: true, autoDelete: true, arguments: s.properties ?? {}, timeout })).queue;
    await ch.queueBind(q, { exchange: node.exchange, routingKey: node.routingKey ?? '', arguments: s.filter, timeout });
    return q;
  }

  private offsetArgument(): FieldTable[string] {
    if (this.lastOffset !== undefined) return Field.int64(this.lastOffset + 1);
    const o = this.streamOffset;
    return typeof o === 'number' ? Field.int64(o) : o;
  }

  protected opened(): void {
    const early = this.early;
    this.early = [];
    for (const m of early) this.received(m, this.gen); // arrived between consume-ok and onLinkOpened
    if (this.isStream) this.armDrain(this.gen);
    this.kick();
  }

  protected stopActivity(): void {
    this.early = [];
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.pollWake?.();
    this.pollWake = undefined;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
  }

  private armDrain(gen: number): void {
    if (this.drained) return;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      if (gen !== this.gen || this.state !== 'open') return;
      this.drained = true;
      this.fire('drained');
    }, this.drainTimeout);
  }

  /** A message from the consumer or from basic.get, for the current attach `gen`. */
  private received(msg: Message, gen: number): void {
    // after a detach or close the message is stale or about to be requeued: leave it
    if (gen !== this.gen) return;
    if (this.state === 'attaching') {
      this.early.push(msg);
      return;
    }
    if (this.state !== 'open') return;
    const m = msg as Message<MessageBody>;
    if (m.properties.contentType === 'application/json') {
      try {
        m.body = m.json();
      } catch {
        /* not valid JSON: delivered as it is */
      }
    }
    const info = m.deliveryInfo;
    if (info)
      m.address =
        info.exchange === '' ? info.routingKey : `/exchanges/${encodeURIComponent(info.exchange)}/${encodeURIComponent(info.routingKey)}`;
    if (this.isStream) {
      const off = m.applicationHeaders?.['x-stream-offset'];
      if (typeof off === 'number' || typeof off === 'bigint') this.lastOffset = Number(off);
      this.armDrain(gen);
    }
    const d = new Delivery(this, m, { tag: String(info?.deliveryTag ?? ''), incoming: true, presettled: this.sndSettleMode === 'settled' });
    this.queued++;
    this.container.post(this.lane, async () => {
      this.queued--;
      if (gen === this.gen && this.state === 'open') await this.handle(d);
    }, [this.connection.lane]);
  }

  private async handle(d: Delivery): Promise<void> {
    const handlers = this.handlers();
    const ctx = { link: this, session: this.session, connection: this.connection, delivery: d };
    try {
      await this.container.invoke('message', ctx, handlers);
      if (d.pending && linkSettings(handlers).autoAccept) d.update('accepted');
    } catch (err) {
      if (err instanceof Reject) {
        if (d.pending) d.update('rejected');
      } else if (err instanceof Release) {
        if (d.pending) d.update('released');
      } else {
        if (d.pending) d.update('released');
        await this.container.handlerFailed(err, 'message', ctx, handlers);
      }
    }
  }

  private cancelled(err: unknown, gen: number, core: Connection): void {
    if (gen !== this.gen || this.state !== 'open') return;
    if (err instanceof ConsumerCancelled) {
      if (linkSettings(this.handlers()).peerCloseIsError) this.fail(err);
      else {
        this.consumerTag = ''; // the broker cancelled it already
        this.fire('linkClosing', { error: err });
        this.close();
      }
    } else if (this.session.transactional && core.connected) this.fail(asAmqpError(err));
  }

  /** Starts the basic.get loop of a prefetch-0 receiver if it has credit and is not fetching. */
  private kick(): void {
    if (this.fetching || this.state !== 'open' || this.granted === 0 || this.prefetch > 0) return;
    void this.fetch(this.gen);
  }

  private async fetch(gen: number): Promise<void> {
    this.fetching = true;
    const core = this.connection.core;
    let delay = POLL_MIN;
    try {
      while (gen === this.gen && this.state === 'open' && this.granted > 0) {
        const ch = this.session.channel;
        if (!ch) break;
        const msg = await ch.basicGet(this.queue, { noAck: this.sndSettleMode === 'settled', timeout: this.connection.callTimeout });
        if (gen !== this.gen) break;
        if (msg) {
          this.granted--;
          this.received(msg, gen);
          delay = POLL_MIN;
        } else {
          await new Promise<void>((resolve) => {
            this.pollWake = resolve;
            this.pollTimer = setTimeout(resolve, delay);
          });
          this.pollTimer = undefined;
          this.pollWake = undefined;
          delay = Math.min(delay * 2, POLL_MAX);
        }
      }
    } catch (err) {
      if (gen === this.gen && this.state === 'open' && core?.connected) this.fail(asAmqpError(err));
    } finally {
      this.fetching = false;
      if (gen === this.gen) this.kick();
    }
  }

  /** @internal On the shared transactional session the consumer is cancelled; its own channel is closed. */
  protected override async releaseChannel(): Promise<void> {
    const ch = this.session.channel;
    if (this.session.transactional && ch && this.consumerTag !== '') {
      const tag = this.consumerTag;
      this.consumerTag = '';
      await ch.basicCancel(tag, { timeout: this.connection.callTimeout }).catch(() => undefined);
    }
    await super.releaseChannel();
  }

  /** @internal Waits for the messages being handled, cancels, deletes what the link owns. */
  protected async beforeClose(keepDurable: boolean): Promise<void> {
    await this.connection.bounded(this.lane.tail);
    const ch = this.session.channel;
    if (!ch) return;
    const timeout = this.connection.callTimeout;
    if (this.consumerTag !== '') await ch.basicCancel(this.consumerTag, { timeout });
    this.consumerTag = '';
    if (this.ownQueue === 'private' || (this.ownQueue === 'durable' && !keepDurable)) await ch.queueDelete(this.queue, { timeout });
  }
}
