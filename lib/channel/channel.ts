/**
 * Channel: amqpy's channel API in camelCase, keyword arguments as options objects (options.ts).
 * Every method that waits for the broker takes `timeout` (ms, default: the connection's
 * `callTimeout`) and `signal`, and rejects with `Timeout` when either fires. Calls on one channel
 * run one at a time, in call order. Server errors close the channel; the call that caused it
 * rejects with the typed error (NotFound 404, AccessRefused 403, ResourceLocked 405,
 * PreconditionFailed 406, ...) and the channel reopens itself with its prefetch, mode and
 * consumers restored (lifecycle.ts). When the connection fails, every pending call rejects with
 * the connection's error.
 *
 * The class holds its parts: the link to the connection (id, state, RPC queue, sending), the
 * settings a reopen restores, the consumer registry, the publisher, the inbound method table and
 * the lifecycle. The connection drives a channel through the `ChannelPort` that `createChannel()`
 * returns beside it; users never see that side.
 */
import PQueue from 'p-queue';
import { ArgumentError } from '../errors.js';
import { Message, type MessageChannel } from '../message.js';
import { ACK_METHOD } from '../protocol/encode.js';
import { LazyEmitter } from '../util/lazy-emitter.js';
import { type CallOptions, waitWith } from '../util/wait.js';
import { Inbound } from './inbound.js';
import { ConsumerIterator, type IterateOptions } from './iterator.js';
import { Lifecycle } from './lifecycle.js';
import { AckBatcher } from './ack-batcher.js';
import { ChannelLink } from './link.js';
import type {
  CloseOptions,
  ConfirmSelectOptions,
  ConsumeOptions,
  ExchangeBindOptions,
  ExchangeDeclareOptions,
  NowaitOptions,
  PublishOptions,
  QosOptions,
  QueueBindOptions,
  QueueDeclareOk,
  QueueDeclareOptions,
} from './options.js';
import { queueArguments } from './queue-types.js';
import { ChannelSettings } from './settings.js';
import { streamConsumeArguments, streamConsumerStarting } from './stream-offset.js';
import type {
  BindingRecord,
  ChannelEvents,
  ChannelHost,
  ChannelMode,
  ChannelPort,
  ChannelSetup,
  ConsumerEntry,
  ReceivedMessage,
} from './types.js';

let make: (host: ChannelHost, id: number, setup: ChannelSetup) => Channel;
let portOf: (channel: Channel) => ChannelPort;

/** A channel. Create one with `connection.channel()`. */
export class Channel extends LazyEmitter<ChannelEvents> implements MessageChannel {
  readonly #link: ChannelLink;
  readonly #settings: ChannelSettings;
  /** Holds the inbound table, and the publisher and consumers once the channel has them. */
  readonly #lifecycle: Lifecycle;

  static {
    make = (host, id, setup) => new Channel(host, id, setup);
    portOf = (channel) => channel.#lifecycle;
  }

  private constructor(host: ChannelHost, id: number, setup: ChannelSetup) {
    super();
    const link = new ChannelLink(id, host, this);
    const settings = new ChannelSettings(setup.autoDecode, host.hints);
    if (setup.ackBatchDelay > 0) link.batcher = new AckBatcher(setup.ackBatchDelay, link, settings);
    const lifecycle = new Lifecycle(link, settings, this);
    lifecycle.inbound = new Inbound(link, settings, this, lifecycle);
    this.#link = link;
    this.#settings = settings;
    this.#lifecycle = lifecycle;
  }

  // ---------------------------------------------------------------- state

  /** The channel number. */
  get channelId(): number {
    return this.#link.id;
  }

  /** True while the channel can be used (open, or reopening after a server close). */
  get isOpen(): boolean {
    return this.#link.usable;
  }

  /** Current mode: `none`, `tx` (after txSelect) or `confirm` (after confirmSelect). */
  get mode(): ChannelMode {
    return this.#settings.mode;
  }

  /** False while the server has paused this channel's publishing (channel.flow). */
  get active(): boolean {
    return this.#settings.active;
  }

  /** Publishes awaiting the broker's confirm (confirm mode; 0 otherwise). */
  get unconfirmed(): number {
    return this.#lifecycle.publisherIfAny?.confirms?.size ?? 0;
  }

  /** Whether text bodies are decoded to strings on receipt (connection option `autoDecode` by default). */
  get autoDecode(): boolean {
    return this.#settings.autoDecode;
  }

  /** Ack coalescing window in ms (0: off), set when the channel was opened (`ackBatchDelay`). */
  get ackBatchDelay(): number {
    return this.#link.batcher?.delayMs ?? 0;
  }

  /**
   * Turns decoding of text bodies on or off for this channel's later deliveries.
   * @throws ArgumentError for a value that is not a boolean.
   */
  set autoDecode(on: boolean) {
    if (typeof on !== 'boolean') throw new ArgumentError(`autoDecode must be a boolean, got ${typeof on}`);
    this.#settings.autoDecode = on;
  }

  /**
   * The latest messages the broker returned (mandatory publishes it could not route), oldest
   * first: at most 100 messages and 8 MiB of bodies (older ones are dropped; the 'return' event
   * sees every one). Taking messages out (`shift()`, amqpy's `returned_messages.get()`) is fine.
   */
  get returnedMessages(): ReceivedMessage[] {
    return this.#lifecycle.inbound.returned;
  }

  /** Open channels inspect as what a person needs: id, state, mode, consumers. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const link = this.#link;
    const settings = this.#settings;
    const consumers = this.#lifecycle.consumersIfAny;
    return `Channel { id: ${link.id}, state: '${link.state}', mode: '${settings.mode}', consumers: ${consumers?.size ?? 0} }`;
  }

  /** `await using ch = await conn.channel()`: closes the channel at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#link.state !== 'closed') await this.close().catch(() => undefined);
  }

  // ---------------------------------------------------------------- exchanges

  /**
   * Declares an exchange (exchange.declare).
   * @throws PreconditionFailed (406) when it exists with other settings; NotFound (404) when
   *   `passive` and missing; AccessRefused (403) for reserved `amq.` names or missing permissions;
   *   InvalidCommand (503, connection) for an unknown type; ArgumentError for bad arguments.
   */
  async exchangeDeclare(exchange: string, type: string, opts: ExchangeDeclareOptions = {}): Promise<void> {
    const rec = {
      kind: 'exchange' as const,
      name: exchange,
      type,
      durable: opts.durable ?? false,
      autoDelete: opts.autoDelete ?? false,
      internal: opts.internal ?? false,
      arguments: opts.arguments ?? {},
    };
    const passive = opts.passive ?? false;
    const args = { ...rec, exchange, passive, nowait: opts.nowait ?? false };
    const record = (): void => {
      if (!passive) this.#link.host.topology.recordExchange(rec);
    };
    if (opts.nowait) await this.#link.callNowait('exchange.declare', args, opts, record);
    else await this.#link.call('exchange.declare', args, opts, record);
  }

  /**
   * Deletes an exchange (exchange.delete).
   * @throws PreconditionFailed (406) when `ifUnused` and it has bindings; AccessRefused (403).
   */
  async exchangeDelete(exchange: string, opts: NowaitOptions & { ifUnused?: boolean } = {}): Promise<void> {
    const args = { exchange, ifUnused: opts.ifUnused ?? false, nowait: opts.nowait ?? false };
    const forget = (): void => this.#link.host.topology.deleteExchange(exchange);
    if (opts.nowait) await this.#link.callNowait('exchange.delete', args, opts, forget);
    else await this.#link.call('exchange.delete', args, opts, forget);
  }

  /**
   * Binds exchange `destination` to exchange `source` (exchange.bind, a RabbitMQ extension).
   * @throws NotFound (404) when either exchange is missing; AccessRefused (403).
   */
  async exchangeBind(destination: string, source: string, opts: ExchangeBindOptions = {}): Promise<void> {
    const b = this.#binding('exchange-binding', destination, source, opts);
    const args = { destination, source, routingKey: b.routingKey, nowait: opts.nowait ?? false, arguments: b.arguments };
    const record = (): void => this.#link.host.topology.recordBinding(b);
    if (opts.nowait) await this.#link.callNowait('exchange.bind', args, opts, record);
    else await this.#link.call('exchange.bind', args, opts, record);
  }

  /**
   * Removes an exchange-to-exchange binding (exchange.unbind).
   * @throws NotFound (404) when an exchange is missing; AccessRefused (403).
   */
  async exchangeUnbind(destination: string, source: string, opts: ExchangeBindOptions = {}): Promise<void> {
    const b = this.#binding('exchange-binding', destination, source, opts);
    const args = { destination, source, routingKey: b.routingKey, nowait: opts.nowait ?? false, arguments: b.arguments };
    const forget = (): void => this.#link.host.topology.removeBinding(b);
    if (opts.nowait) await this.#link.callNowait('exchange.unbind', args, opts, forget);
    else await this.#link.call('exchange.unbind', args, opts, forget);
  }

  #binding(
    kind: BindingRecord['kind'],
    destination: string,
    source: string,
    opts: { routingKey?: string; arguments?: BindingRecord['arguments'] },
  ): BindingRecord {
    return { kind, destination, source, routingKey: opts.routingKey ?? '', arguments: opts.arguments ?? {} };
  }

  // ---------------------------------------------------------------- queues

  /**
   * Declares a queue (queue.declare); `''` asks the server for a name.
   * @returns `{ queue, messageCount, consumerCount }`, or null with `nowait`.
   * @throws PreconditionFailed (406) when it exists with other settings; NotFound (404) when
   *   `passive` and missing; ResourceLocked (405) when exclusive to another connection;
   *   AccessRefused (403) for reserved `amq.` names or missing permissions; ArgumentError (before
   *   sending) for bad arguments, or typed options its `type` refuses (see queue-types.ts).
   */
  queueDeclare(queue: string, opts: QueueDeclareOptions & { nowait: true }): Promise<null>;
  queueDeclare(queue?: string, opts?: QueueDeclareOptions): Promise<QueueDeclareOk>;
  async queueDeclare(queue = '', opts: QueueDeclareOptions = {}): Promise<QueueDeclareOk | null> {
    const passive = opts.passive ?? false;
    const rec = {
      kind: 'queue' as const,
      name: queue,
      serverNamed: queue === '',
      durable: opts.durable ?? false,
      exclusive: opts.exclusive ?? false,
      autoDelete: opts.autoDelete ?? false,
      arguments: queueArguments(queue, opts), // typed options -> x- arguments; ArgumentError before sending
    };
    const topology = this.#link.host.topology;
    const args = { ...rec, queue, passive, nowait: opts.nowait ?? false };
    if (opts.nowait) {
      await this.#link.callNowait('queue.declare', args, opts, () => {
        if (!passive && queue !== '') topology.recordQueue(rec);
      });
      return null;
    }
    return await this.#link.call('queue.declare', args, opts, (r) => {
      if (!passive) topology.recordQueue({ ...rec, name: r.queue });
      return { queue: r.queue, messageCount: r.messageCount, consumerCount: r.consumerCount };
    });
  }

  /**
   * Binds a queue to an exchange (queue.bind).
   * @throws NotFound (404) when the queue or exchange is missing; AccessRefused (403).
   */
  async queueBind(queue: string, opts: QueueBindOptions = {}): Promise<void> {
    const b = this.#binding('queue-binding', queue, opts.exchange ?? '', opts);
    const args = { queue, exchange: b.source, routingKey: b.routingKey, nowait: opts.nowait ?? false, arguments: b.arguments };
    const record = (): void => this.#link.host.topology.recordBinding(b);
    if (opts.nowait) await this.#link.callNowait('queue.bind', args, opts, record);
    else await this.#link.call('queue.bind', args, opts, record);
  }

  /**
   * Removes a queue binding (queue.unbind; the protocol has no nowait form).
   * @throws NotFound (404) when the queue or exchange is missing; AccessRefused (403).
   */
  async queueUnbind(queue: string, opts: Omit<QueueBindOptions, 'nowait'> = {}): Promise<void> {
    const b = this.#binding('queue-binding', queue, opts.exchange ?? '', opts);
    const args = { queue, exchange: b.source, routingKey: b.routingKey, arguments: b.arguments };
    await this.#link.call('queue.unbind', args, opts, () => this.#link.host.topology.removeBinding(b));
  }

  /**
   * Removes all ready messages from a queue (queue.purge).
   * @returns the number of messages purged (0 with `nowait`).
   * @throws NotFound (404); ResourceLocked (405) for another connection's exclusive queue.
   */
  async queuePurge(queue: string, opts: NowaitOptions = {}): Promise<number> {
    if (opts.nowait) return await this.#link.callNowait('queue.purge', { queue, nowait: true }, opts, () => 0);
    return await this.#link.call('queue.purge', { queue, nowait: false }, opts, (r) => r.messageCount);
  }

  /**
   * Deletes a queue (queue.delete).
   * @returns the number of messages deleted with it (0 with `nowait`).
   * @throws PreconditionFailed (406) when `ifUnused`/`ifEmpty` do not hold; ResourceLocked (405).
   */
  async queueDelete(queue: string, opts: NowaitOptions & { ifUnused?: boolean; ifEmpty?: boolean } = {}): Promise<number> {
    const args = { queue, ifUnused: opts.ifUnused ?? false, ifEmpty: opts.ifEmpty ?? false, nowait: opts.nowait ?? false };
    const topology = this.#link.host.topology;
    if (opts.nowait) {
      return await this.#link.callNowait('queue.delete', args, opts, () => {
        topology.deleteQueue(queue);
        return 0;
      });
    }
    return await this.#link.call('queue.delete', args, opts, (r) => {
      topology.deleteQueue(queue);
      return r.messageCount;
    });
  }

  // ---------------------------------------------------------------- basic

  /**
   * Sets the prefetch window (basic.qos); restored when the channel reopens.
   * @throws ArgumentError for negative or too large values (before sending);
   *   AMQPNotImplementedError (540, connection) for a non-zero prefetchSize on RabbitMQ.
   */
  async basicQos(opts: QosOptions = {}): Promise<void> {
    const q = { prefetchSize: opts.prefetchSize ?? 0, prefetchCount: opts.prefetchCount ?? 0, global: opts.global ?? false };
    await this.#link.call('basic.qos', q, opts, () => this.#settings.setQos(q));
  }

  /**
   * Starts a consumer (basic.consume); deliveries go to `opts.callback`. It is restored, same tag
   * and callback, when the channel reopens.
   * @returns the consumer tag.
   * @throws NotFound (404) for a missing queue; AccessRefused (403) or ResourceLocked (405) for an
   *   exclusive conflict; InvalidCommand (503, connection) or NotAllowed (530) for a reused tag;
   *   ArgumentError (before sending) without a callback, for a bad `concurrency` or a non-boolean
   *   `recycleBodiesAfterCallback`, for a bad stream `offset`/`filter`, or for a stream consumer
   *   without a prefetch or with noAck; NotSupportedByServer for `filter` before RabbitMQ 3.13.
   */
  async basicConsume(queue: string, opts: ConsumeOptions): Promise<string> {
    if (typeof opts?.callback !== 'function') throw new ArgumentError('basicConsume: options.callback (a function) is required');
    const nowait = opts.nowait ?? false;
    const tag = opts.consumerTag ?? '';
    if (nowait && tag === '') throw new ArgumentError('basicConsume: nowait needs an explicit consumerTag');
    const conc = opts.concurrency;
    if (conc !== undefined && !(Number.isInteger(conc) && conc >= 1)) {
      throw new ArgumentError(`basicConsume: concurrency must be a positive integer, got ${String(conc)}`);
    }
    const recycle = opts.recycleBodiesAfterCallback;
    if (recycle !== undefined && typeof recycle !== 'boolean') {
      throw new ArgumentError(`basicConsume: recycleBodiesAfterCallback must be a boolean, got ${typeof recycle}`);
    }
    const host = this.#link.host;
    const streamQueue = host.topology.recordedQueue(queue)?.arguments['x-queue-type'] === 'stream';
    const entry: ConsumerEntry = {
      tag,
      queue,
      noLocal: opts.noLocal ?? false,
      noAck: opts.noAck ?? false,
      exclusive: opts.exclusive ?? false,
      arguments: streamConsumeArguments(opts, {
        prefetch: this.#settings.qos.some((q) => !q.global && (q.prefetchCount ?? 0) > 0),
        noAck: opts.noAck ?? false,
        streamQueue,
        serverProperties: host.serverProperties,
      }),
      callback: opts.callback,
      onCancel: opts.onCancel,
      limiter: conc !== undefined ? new PQueue({ concurrency: conc }) : undefined,
      recycleBodies: recycle ?? false,
    };
    streamConsumerStarting(entry, streamQueue);
    const args = {
      queue,
      consumerTag: tag,
      noLocal: entry.noLocal,
      noAck: entry.noAck,
      exclusive: entry.exclusive,
      nowait,
      arguments: entry.arguments,
    };
    const register = (consumerTag: string): string => {
      entry.tag = consumerTag;
      this.#lifecycle.consumers.add(entry);
      return consumerTag;
    };
    if (nowait) return await this.#link.callNowait('basic.consume', args, opts, () => register(tag));
    return await this.#link.call('basic.consume', args, opts, (r) => register(r.consumerTag));
  }

  /**
   * Cancels a consumer (basic.cancel). Deliveries already sent to it are requeued (unless noAck).
   * Unknown tags are ignored by the broker, so this raises no server error of its own.
   * @throws Timeout; ChannelClosed, or the connection's error, when the channel is closed.
   */
  async basicCancel(consumerTag: string, opts: NowaitOptions = {}): Promise<void> {
    const link = this.#link;
    const consumers = this.#lifecycle.consumers;
    const host = link.host;
    const drop = (): void => consumers.userCancelled(consumerTag, host.topology, (q) => host.consumerCount(q));
    if (opts.nowait) await link.callNowait('basic.cancel', { consumerTag, nowait: true }, opts, drop);
    else await link.call('basic.cancel', { consumerTag, nowait: false }, opts, drop);
  }

  /**
   * Fetches one message (basic.get).
   * @returns the message, or null when the queue is empty.
   * @throws NotFound (404) for a missing queue; AccessRefused (403) without read permission on it;
   *   ResourceLocked (405) for another connection's exclusive queue; Timeout.
   */
  basicGet(queue = '', opts: CallOptions & { noAck?: boolean } = {}): Promise<ReceivedMessage | null> {
    return this.#link.get(queue, opts.noAck ?? false, opts);
  }

  /**
   * Publishes a message (basic.publish). Resolves when the bytes are in the socket (after
   * 'drain' when its buffer is full), or, in confirm mode, when the broker acks the message.
   * Waits, up to the timeout, while the broker blocks publishing or the channel is reopening.
   * While the connection is recovering, publishes wait in a buffer bounded in bytes (connection
   * option `publishBufferBytes`); when it is full they reject at once with PublishBufferFull.
   * @throws ArgumentError for invalid arguments, properties or a body that cannot be encoded in its
   *   `contentEncoding` (before anything is sent); PublishNacked (confirm mode) when the broker
   *   nacks; PublishReturned, a NoRoute (312), in confirm mode when a mandatory message was
   *   returned; Timeout; the channel's or connection's error when it closes. Server errors arrive
   *   as a channel close, which rejects the next call (or, in confirm mode, this publish): NotFound
   *   (404) for a missing exchange, AccessRefused (403) without write permission on it,
   *   PreconditionFailed (406) for a body above the broker's `max_message_size` (RabbitMQ's default
   *   is 128 MiB).
   */
  basicPublish(msg: Message<unknown>, opts: PublishOptions = {}): Promise<void> {
    if (!(msg instanceof Message)) return Promise.reject(new ArgumentError('basicPublish: msg must be a Message'));
    let body: Buffer;
    try {
      body = Buffer.isBuffer(msg.body) ? msg.body : msg.bodyBuffer;
    } catch (err) {
      return Promise.reject(err);
    }
    const dest = {
      exchange: opts.exchange ?? '',
      routingKey: opts.routingKey ?? '',
      mandatory: opts.mandatory ?? false,
      immediate: opts.immediate ?? false,
    };
    return this.#lifecycle.publisher.publish(body, msg.properties, dest, opts);
  }

  /**
   * Async iteration over a queue: `for await (const msg of ch.consume('q', { prefetch: 10 }))`.
   * Consuming starts with the first iteration; leaving the loop cancels the consumer. The loop
   * ends with ConsumerCancelled when the server cancels it, or the channel's error.
   * @returns the iterator; this call itself sends nothing and raises nothing.
   * @throws (from the first iteration) basicQos' and basicConsume's errors: NotFound (404) for a
   *   missing queue, AccessRefused (403) or ResourceLocked (405) for an exclusive conflict,
   *   ArgumentError for a bad `prefetch` or option, Timeout; later, ConsumerCancelled or the
   *   channel's error.
   */
  consume(queue: string, opts: IterateOptions = {}): ConsumerIterator {
    return new ConsumerIterator(this, queue, opts);
  }

  /**
   * Acknowledges a delivery by tag, or by message (which also refuses stale deliveries).
   * @throws StaleDelivery for a message of an earlier generation or another channel; ChannelClosed
   *   on a closed or reopening channel; ArgumentError for a bad tag. Nothing is sent then. A tag
   *   the broker does not know (never delivered, or already settled) makes it close the channel
   *   with PreconditionFailed (406): the channel emits 'channelError' and reopens.
   */
  basicAck(delivery: number | Message<unknown>, opts: { multiple?: boolean } = {}): void {
    if (delivery instanceof Message) this.#link.settle(delivery, 'ack', opts.multiple ?? false, false);
    else this.#link.userSettle(ACK_METHOD.ack, delivery, opts.multiple ? 1 : 0);
  }

  /**
   * Negatively acknowledges a delivery (basic.nack; requeued by default).
   * @throws as basicAck.
   */
  basicNack(delivery: number | Message<unknown>, opts: { multiple?: boolean; requeue?: boolean } = {}): void {
    const requeue = opts.requeue ?? true;
    if (delivery instanceof Message) this.#link.settle(delivery, 'nack', opts.multiple ?? false, requeue);
    else this.#link.userSettle(ACK_METHOD.nack, delivery, (opts.multiple ? 1 : 0) | (requeue ? 2 : 0));
  }

  /**
   * Rejects a delivery (basic.reject; requeued by default).
   * @throws as basicAck.
   */
  basicReject(delivery: number | Message<unknown>, opts: { requeue?: boolean } = {}): void {
    const requeue = opts.requeue ?? true;
    if (delivery instanceof Message) this.#link.settle(delivery, 'reject', false, requeue);
    else this.#link.userSettle(ACK_METHOD.reject, delivery, requeue ? 1 : 0);
  }

  /**
   * Redelivers all unacknowledged messages of this channel (basic.recover).
   * @throws AMQPNotImplementedError (540, a connection error) on RabbitMQ with the default
   *   `requeue: false`: RabbitMQ supports only `basicRecover({ requeue: true })`; Timeout.
   */
  async basicRecover(opts: CallOptions & { requeue?: boolean } = {}): Promise<void> {
    await this.#link.call('basic.recover', { requeue: opts.requeue ?? false }, opts);
  }

  /**
   * Asynchronous basic.recover (deprecated in the spec). RabbitMQ supports only `requeue: true`;
   * with the default `requeue: false` it closes the connection with 540 NotImplemented.
   * @throws ChannelClosed unless the channel is open.
   */
  basicRecoverAsync(opts: { requeue?: boolean } = {}): void {
    this.#link.send('basic.recover-async', { requeue: opts.requeue ?? false });
  }

  /**
   * Asks the server to pause (false) or resume (true) deliveries (channel.flow).
   * @throws AMQPNotImplementedError (540, connection) for `flow(false)`: RabbitMQ accepts only
   *   `flow(true)` from clients.
   */
  flow(active: boolean, opts: CallOptions = {}): Promise<boolean> {
    return this.#link.call('channel.flow', { active }, opts, (r) => r.active);
  }

  // ---------------------------------------------------------------- tx and confirms

  /** Puts the channel in transaction mode (tx.select); restored on reopen. @throws PreconditionFailed (406) in confirm mode. */
  async txSelect(opts: CallOptions = {}): Promise<void> {
    await this.#link.call('tx.select', {}, opts, () => {
      this.#settings.mode = 'tx';
    });
  }

  /** Commits the current transaction. @throws PreconditionFailed (406) when not in tx mode. */
  async txCommit(opts: CallOptions = {}): Promise<void> {
    await this.#link.call('tx.commit', {}, opts);
  }

  /** Rolls back the current transaction. @throws PreconditionFailed (406) when not in tx mode. */
  async txRollback(opts: CallOptions = {}): Promise<void> {
    await this.#link.call('tx.rollback', {}, opts);
  }

  /**
   * Puts the channel in publisher-confirm mode (confirm.select); from then on basicPublish
   * resolves on the broker's ack. Restored on reopen.
   * @throws PreconditionFailed (406) when the channel is in tx mode; ArgumentError for a bad
   *   `maxUnconfirmed`.
   */
  async confirmSelect(opts: ConfirmSelectOptions = {}): Promise<void> {
    const max = opts.maxUnconfirmed ?? 0;
    if (!Number.isInteger(max) || max < 0)
      throw new ArgumentError(`confirmSelect: maxUnconfirmed must be a non-negative integer, got ${String(max)}`);
    const enable = (): void => this.#lifecycle.publisher.enableConfirms(max);
    if (opts.nowait) {
      enable();
      await this.#link.callNowait('confirm.select', { nowait: true }, opts);
    } else {
      await this.#link.call('confirm.select', { nowait: false }, opts, enable);
    }
  }

  /**
   * Waits until every publish so far is confirmed (acked or nacked).
   * @throws ArgumentError when not in confirm mode; Timeout; the channel's error if it closes.
   */
  async waitForConfirms(opts: CallOptions = {}): Promise<void> {
    const publisher = this.#lifecycle.publisherIfAny;
    if (!publisher?.confirms) throw new ArgumentError('waitForConfirms: the channel is not in confirm mode (call confirmSelect first)');
    await waitWith(
      publisher.waitForConfirms(),
      { timeout: opts.timeout ?? this.#link.host.callTimeout, signal: opts.signal },
      'waitForConfirms',
    );
  }

  /**
   * Closes the channel (channel.close) after the calls queued before it. Consumers stop; pending
   * confirms reject with ChannelClosed. Closing a closed channel does nothing.
   * @throws ChannelClosed when a close is already under way; Timeout.
   */
  close(opts: CloseOptions = {}): Promise<void> {
    return this.#lifecycle.close(opts);
  }
}

/**
 * Creates a channel for `host` with id `id` (not opened yet). Not part of the public API:
 * `connection.channel()` is.
 */
export function createChannel(host: ChannelHost, id: number, setup: ChannelSetup): Channel {
  return make(host, id, setup);
}

/** The port a connection drives `channel` through. Not part of the public API. */
export function channelPort(channel: Channel): ChannelPort {
  return portOf(channel);
}
