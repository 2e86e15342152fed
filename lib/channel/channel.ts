/**
 * Channel: amqpy's channel API in camelCase, keyword arguments as options objects. Every method
 * that waits for the broker takes `timeout` (ms, default: the connection's `callTimeout`) and
 * `signal`, and rejects with `Timeout` when either fires. Calls on one channel run one at a time,
 * in call order. Server errors close the channel; the call that caused it rejects with the typed
 * error (NotFound 404, AccessRefused 403, ResourceLocked 405, PreconditionFailed 406, ...) and the
 * channel reopens itself with its prefetch, mode and consumers restored (see channel-core.ts).
 * When the connection fails, every pending call rejects with the connection's error.
 */
import PQueue from 'p-queue';
import { type AMQPError, ArgumentError, ChannelClosed, PublishBufferFull } from '../errors.js';
import { ConsumerIterator, type IterateOptions } from '../consumer/iterator.js';
import { Message, type MessageChannel } from '../message.js';
import type { MethodArgs } from '../protocol/generated/methods.js';
import type { FieldTable } from '../protocol/primitives.js';
import { ACK_METHOD } from '../protocol/content.js';
import { waitWith, type CallOptions } from '../util/wait.js';
import { ConfirmTracker } from './confirms.js';
import type { ConsumerCallback, ConsumerEntry } from './channel-core.js';
import { RecoverableChannel } from './recovery.js';
import { queueArguments, type TypedQueueOptions } from './queue-types.js';
import { type StreamConsumeOptions, streamConsumeArguments, streamConsumerStarting } from './stream-offset.js';

/** Options shared by declare-style calls that accept `nowait` and `arguments`. */
export interface NowaitOptions extends CallOptions {
  /** Do not wait for the broker's reply (errors then close the channel asynchronously). */
  nowait?: boolean;
}

/**
 * Options of `exchangeDeclare`. Defaults are the protocol's (all false); note that amqpy (after
 * py-amqp) defaulted `autoDelete` to true, which silently deletes entities: amqpts does not.
 */
export interface ExchangeDeclareOptions extends NowaitOptions {
  /** Only check that the exchange exists (404 NotFound if not). */
  passive?: boolean;
  /** Survive a broker restart (default false). */
  durable?: boolean;
  /** Delete when the last binding goes (default false). */
  autoDelete?: boolean;
  /** Not publishable by clients, only by exchange-to-exchange bindings (default false). */
  internal?: boolean;
  /** Extra arguments, e.g. `{ 'alternate-exchange': 'ae' }`. */
  arguments?: FieldTable;
}

/**
 * Options of `queueDeclare`. Defaults are the protocol's (all false); unlike amqpy, `autoDelete`
 * is false by default.
 */
export interface QueueDeclareOptions extends NowaitOptions, TypedQueueOptions {
  /** Only check that the queue exists (404 NotFound if not). */
  passive?: boolean;
  /** Survive a broker restart (default false). */
  durable?: boolean;
  /** Used only by this connection, deleted when it closes (default false). */
  exclusive?: boolean;
  /** Delete when the last consumer unsubscribes (default false). */
  autoDelete?: boolean;
  /** Extra arguments, e.g. `{ 'x-max-priority': 10 }`; merged with those of the typed options (`type`, `maxLength`...). */
  arguments?: FieldTable;
}

/** What `queueDeclare` returns. */
export interface QueueDeclareOk {
  /** The queue name (the server-generated one for `''`). */
  queue: string;
  /** Messages ready in the queue. */
  messageCount: number;
  /** Active consumers on the queue. */
  consumerCount: number;
}

/** Options of `queueBind` / `queueUnbind`. */
export interface QueueBindOptions extends NowaitOptions {
  /** Exchange to bind to (default `''`, which cannot be bound: name one). */
  exchange?: string;
  /** Binding key (default `''`). */
  routingKey?: string;
  /** Binding arguments (e.g. for headers exchanges). */
  arguments?: FieldTable;
}

/** Options of `exchangeBind` / `exchangeUnbind`. */
export interface ExchangeBindOptions extends NowaitOptions {
  /** Binding key (default `''`). */
  routingKey?: string;
  /** Binding arguments. */
  arguments?: FieldTable;
}

/** Options of `basicConsume`. */
export interface ConsumeOptions extends NowaitOptions, StreamConsumeOptions {
  /** Consumer tag (default: the server generates one). */
  consumerTag?: string;
  /** Do not receive messages published on this connection (RabbitMQ ignores it). */
  noLocal?: boolean;
  /** Deliveries need no ack (default false). */
  noAck?: boolean;
  /** Be the only consumer of the queue (403 AccessRefused / 405 if another exists). */
  exclusive?: boolean;
  /** Consumer arguments, e.g. `{ 'x-priority': 10 }`. */
  arguments?: FieldTable;
  /** Called for every delivery; may be async. A throw or rejection reaches 'callbackError'. */
  callback: ConsumerCallback;
  /** Called when the server cancels the consumer (ConsumerCancelled) or the channel closes for good. */
  onCancel?: (err: AMQPError) => void;
  /**
   * How many (async) callbacks may run at once for this consumer, independent of prefetch
   * (default: no limit; each callback starts as its delivery arrives). Deliveries start in order.
   */
  concurrency?: number;
  /**
   * Lend large bodies (64 KiB and up) instead of giving them away (default false): each such
   * body is read into a buffer the channel recycles once the callback returns, or once the
   * promise it returned settles, so consuming large messages allocates no fresh memory (about a
   * third less CPU for 1 MiB messages on Linux). `msg.body` must not be used after that: copy
   * it (`Buffer.from(msg.body)`) to keep it, and await a `basicPublish` that forwards it (a
   * publish writes the caller's buffer, zero-copy, until its promise resolves). A
   * 'callbackError' listener sees the body still lent, for as long as it runs synchronously.
   * Smaller bodies, and bodies decoded to strings, are unaffected. The channel keeps the buffers
   * it got back for later deliveries (64 MiB of them at most) until it is closed.
   */
  lendBodies?: boolean;
}

/** Options of `basicPublish`. */
export interface PublishOptions extends CallOptions {
  /** Exchange (default `''`, the default exchange). */
  exchange?: string;
  /** Routing key (default `''`). */
  routingKey?: string;
  /** Return the message (basic.return, 'return' event) if no queue takes it. */
  mandatory?: boolean;
  /** Deprecated by RabbitMQ (it closes the connection with 540): leave false. */
  immediate?: boolean;
}

/** Options of `basicQos`. */
export interface QosOptions extends CallOptions {
  /** Prefetch window in bytes (0 = no limit; RabbitMQ supports only 0). */
  prefetchSize?: number;
  /** Prefetch window in messages (0 = no limit). */
  prefetchCount?: number;
  /** Apply per channel instead of per consumer (RabbitMQ semantics). */
  global?: boolean;
}

/** Options of `confirmSelect`. */
export interface ConfirmSelectOptions extends NowaitOptions {
  /** At most this many unconfirmed publishes; further publishes wait (default 0 = no limit). */
  maxUnconfirmed?: number;
}

/** A channel. Create one with `connection.channel()`. */
export class Channel extends RecoverableChannel implements MessageChannel {
  private async simple(name: Parameters<Channel['call']>[0], args: never, opts: NowaitOptions, after?: () => void): Promise<void> {
    await this.call(name, args, opts.nowait ?? false, opts, after);
  }

  /**
   * Declares an exchange (exchange.declare).
   * @throws PreconditionFailed (406) when it exists with other settings; NotFound (404) when
   *   `passive` and missing; AccessRefused (403) for reserved `amq.` names or missing permissions;
   *   CommandInvalid (503, connection) for an unknown type.
   */
  exchangeDeclare(exchange: string, type: string, opts: ExchangeDeclareOptions = {}): Promise<void> {
    const nowait = opts.nowait ?? false;
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
    return this.simple(
      'exchange.declare',
      {
        exchange,
        type,
        passive,
        durable: rec.durable,
        autoDelete: rec.autoDelete,
        internal: rec.internal,
        nowait,
        arguments: rec.arguments,
      } as never,
      opts,
      () => {
        if (!passive) this.host.topology.recordExchange(rec);
      },
    );
  }

  /**
   * Deletes an exchange (exchange.delete).
   * @throws PreconditionFailed (406) when `ifUnused` and it has bindings; AccessRefused (403).
   */
  exchangeDelete(exchange: string, opts: NowaitOptions & { ifUnused?: boolean } = {}): Promise<void> {
    return this.simple('exchange.delete', { exchange, ifUnused: opts.ifUnused ?? false, nowait: opts.nowait ?? false } as never, opts, () =>
      this.host.topology.deleteExchange(exchange),
    );
  }

  /**
   * Binds exchange `destination` to exchange `source` (exchange.bind, a RabbitMQ extension).
   * @throws NotFound (404) when either exchange is missing; AccessRefused (403).
   */
  exchangeBind(destination: string, source: string, opts: ExchangeBindOptions = {}): Promise<void> {
    const b = {
      kind: 'exchange-binding' as const,
      destination,
      source,
      routingKey: opts.routingKey ?? '',
      arguments: opts.arguments ?? {},
    };
    return this.simple(
      'exchange.bind',
      {
        destination,
        source,
        routingKey: b.routingKey,
        nowait: opts.nowait ?? false,
        arguments: b.arguments,
      } as never,
      opts,
      () => this.host.topology.recordBinding(b),
    );
  }

  /**
   * Removes an exchange-to-exchange binding (exchange.unbind).
   * @throws NotFound (404) when an exchange is missing; AccessRefused (403).
   */
  exchangeUnbind(destination: string, source: string, opts: ExchangeBindOptions = {}): Promise<void> {
    const b = {
      kind: 'exchange-binding' as const,
      destination,
      source,
      routingKey: opts.routingKey ?? '',
      arguments: opts.arguments ?? {},
    };
    return this.simple(
      'exchange.unbind',
      {
        destination,
        source,
        routingKey: b.routingKey,
        nowait: opts.nowait ?? false,
        arguments: b.arguments,
      } as never,
      opts,
      () => this.host.topology.removeBinding(b),
    );
  }

  /**
   * Declares a queue (queue.declare); `''` asks the server for a name.
   * @returns `{ queue, messageCount, consumerCount }`, or null with `nowait`.
   * @throws PreconditionFailed (406) when it exists with other settings; NotFound (404) when
   *   `passive` and missing; ResourceLocked (405) when exclusive to another connection;
   *   AccessRefused (403) for reserved `amq.` names or missing permissions; ArgumentError (before
   *   sending) for typed options its `type` refuses (see queue-types.ts).
   */
  queueDeclare(queue: string, opts: QueueDeclareOptions & { nowait: true }): Promise<null>;
  queueDeclare(queue?: string, opts?: QueueDeclareOptions): Promise<QueueDeclareOk>;
  async queueDeclare(queue = '', opts: QueueDeclareOptions = {}): Promise<QueueDeclareOk | null> {
    const nowait = opts.nowait ?? false;
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
    const record = (reply: unknown): unknown => {
      const name = reply ? (reply as MethodArgs['queue.declare-ok']).queue : queue;
      if (!passive && name !== '') this.host.topology.recordQueue({ ...rec, name });
      return reply;
    };
    const r = (await this.call(
      'queue.declare',
      {
        queue,
        passive,
        durable: rec.durable,
        exclusive: rec.exclusive,
        autoDelete: rec.autoDelete,
        nowait,
        arguments: rec.arguments,
      },
      nowait,
      opts,
      record,
    )) as MethodArgs['queue.declare-ok'] | undefined;
    return r ? { queue: r.queue, messageCount: r.messageCount, consumerCount: r.consumerCount } : null;
  }

  /**
   * Binds a queue to an exchange (queue.bind).
   * @throws NotFound (404) when the queue or exchange is missing; AccessRefused (403).
   */
  queueBind(queue: string, opts: QueueBindOptions = {}): Promise<void> {
    const b = {
      kind: 'queue-binding' as const,
      destination: queue,
      source: opts.exchange ?? '',
      routingKey: opts.routingKey ?? '',
      arguments: opts.arguments ?? {},
    };
    return this.simple(
      'queue.bind',
      {
        queue,
        exchange: b.source,
        routingKey: b.routingKey,
        nowait: opts.nowait ?? false,
        arguments: b.arguments,
      } as never,
      opts,
      () => this.host.topology.recordBinding(b),
    );
  }

  /**
   * Removes a queue binding (queue.unbind; the protocol has no nowait form).
   * @throws NotFound (404) when the queue or exchange is missing; AccessRefused (403).
   */
  queueUnbind(queue: string, opts: Omit<QueueBindOptions, 'nowait'> = {}): Promise<void> {
    const b = {
      kind: 'queue-binding' as const,
      destination: queue,
      source: opts.exchange ?? '',
      routingKey: opts.routingKey ?? '',
      arguments: opts.arguments ?? {},
    };
    return this.simple(
      'queue.unbind',
      {
        queue,
        exchange: b.source,
        routingKey: b.routingKey,
        arguments: b.arguments,
      } as never,
      opts,
      () => this.host.topology.removeBinding(b),
    );
  }

  /**
   * Removes all ready messages from a queue (queue.purge).
   * @returns the number of messages purged (0 with `nowait`).
   * @throws NotFound (404); ResourceLocked (405) for another connection's exclusive queue.
   */
  async queuePurge(queue: string, opts: NowaitOptions = {}): Promise<number> {
    const nowait = opts.nowait ?? false;
    const r = (await this.call('queue.purge', { queue, nowait }, nowait, opts)) as MethodArgs['queue.purge-ok'] | undefined;
    return r ? r.messageCount : 0;
  }

  /**
   * Deletes a queue (queue.delete).
   * @returns the number of messages deleted with it (0 with `nowait`).
   * @throws PreconditionFailed (406) when `ifUnused`/`ifEmpty` do not hold; ResourceLocked (405).
   */
  async queueDelete(queue: string, opts: NowaitOptions & { ifUnused?: boolean; ifEmpty?: boolean } = {}): Promise<number> {
    const nowait = opts.nowait ?? false;
    const r = (await this.call(
      'queue.delete',
      {
        queue,
        ifUnused: opts.ifUnused ?? false,
        ifEmpty: opts.ifEmpty ?? false,
        nowait,
      },
      nowait,
      opts,
      (reply) => {
        this.host.topology.deleteQueue(queue);
        return reply;
      },
    )) as MethodArgs['queue.delete-ok'] | undefined;
    return r ? r.messageCount : 0;
  }

  /**
   * Sets the prefetch window (basic.qos); restored when the channel reopens.
   * @throws ArgumentError for negative or too large values (before sending);
   *   NotImplemented (540, connection) for a non-zero prefetchSize on RabbitMQ.
   */
  async basicQos(opts: QosOptions = {}): Promise<void> {
    const q = { prefetchSize: opts.prefetchSize ?? 0, prefetchCount: opts.prefetchCount ?? 0, global: opts.global ?? false };
    await this.call('basic.qos', q, false, opts);
    this.qos = [...this.qos.filter((x) => x.global !== q.global), q];
  }

  /**
   * Starts a consumer (basic.consume); deliveries go to `opts.callback`. It is restored, same tag
   * and callback, when the channel reopens.
   * @returns the consumer tag.
   * @throws NotFound (404) for a missing queue; AccessRefused (403) or ResourceLocked (405) for an
   *   exclusive conflict; CommandInvalid (530/503, connection) for a reused tag; ArgumentError
   *   (before sending) without a callback, for a bad `concurrency` or a non-boolean `lendBodies`,
   *   for a bad stream `offset`/`filter`, or for a stream consumer without a prefetch or with
   *   noAck; NotSupportedByServer for `filter` before RabbitMQ 3.13; PreconditionFailed (406) for
   *   a stream consumer the channel could not recognise as one and that has no prefetch.
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
    if (opts.lendBodies !== undefined && typeof opts.lendBodies !== 'boolean') {
      throw new ArgumentError(`basicConsume: lendBodies must be a boolean, got ${typeof opts.lendBodies}`);
    }
    const streamQueue = this.host.topology.queues.get(queue)?.arguments['x-queue-type'] === 'stream';
    const entry: ConsumerEntry = {
      tag,
      queue,
      noLocal: opts.noLocal ?? false,
      noAck: opts.noAck ?? false,
      exclusive: opts.exclusive ?? false,
      arguments: streamConsumeArguments(opts, {
        prefetch: this.qos.some((q) => !q.global && (q.prefetchCount ?? 0) > 0),
        noAck: opts.noAck ?? false,
        streamQueue,
        serverProperties: this.host.serverProperties,
      }),
      callback: opts.callback,
      onCancel: opts.onCancel,
      limiter: conc !== undefined ? new PQueue({ concurrency: conc }) : undefined,
      lendBodies: opts.lendBodies ?? false,
    };
    streamConsumerStarting(entry, streamQueue);
    const register = (reply: unknown): string => {
      if (reply) entry.tag = (reply as MethodArgs['basic.consume-ok']).consumerTag;
      this.consumers.set(entry.tag, entry);
      this.cancelled.delete(entry.tag);
      return entry.tag;
    };
    const args = {
      queue,
      consumerTag: tag,
      noLocal: entry.noLocal,
      noAck: entry.noAck,
      exclusive: entry.exclusive,
      nowait,
      arguments: entry.arguments,
    };
    return (await this.call('basic.consume', args, nowait, opts, register)) as string;
  }

  /**
   * Cancels a consumer (basic.cancel). Deliveries already sent to it are requeued (unless noAck).
   * Unknown tags are ignored by the broker.
   */
  async basicCancel(consumerTag: string, opts: NowaitOptions = {}): Promise<void> {
    const nowait = opts.nowait ?? false;
    const drop = (): void => {
      const c = this.consumers.get(consumerTag);
      this.consumers.delete(consumerTag);
      if (c) {
        this.cancelled.set(consumerTag, c.noAck);
        this.host.topology.consumerCancelled(c.queue, this.host.consumerCount(c.queue) > 0);
      }
    };
    await this.call('basic.cancel', { consumerTag, nowait }, nowait, opts, drop);
  }

  /**
   * Fetches one message (basic.get).
   * @returns the message, or null when the queue is empty.
   * @throws NotFound (404) for a missing queue; ResourceLocked (405).
   */
  async basicGet(queue = '', opts: CallOptions & { noAck?: boolean } = {}): Promise<Message | null> {
    return (await this.call('basic.get', { queue, noAck: opts.noAck ?? false }, false, opts)) as Message | null;
  }

  /**
   * Publishes a message (basic.publish). Resolves when the bytes are in the socket (after
   * 'drain' when its buffer is full), or, in confirm mode, when the broker acks the message.
   * Waits, up to the timeout, while the broker blocks publishing or the channel is reopening.
   * While the connection is recovering, publishes wait in a buffer bounded in bytes (connection
   * option `publishBufferBytes`); when it is full they reject at once with PublishBufferFull.
   * @throws ArgumentError for invalid arguments or properties (before anything is sent);
   *   PublishNacked (confirm mode) when the broker nacks; NoRoute (312, confirm mode) when a
   *   mandatory message was returned; Timeout; the channel's or connection's error when it closes.
   *   NotFound (404) for a missing exchange arrives as a channel close and rejects the next call
   *   (or, in confirm mode, this publish).
   */
  basicPublish(msg: Message<unknown>, opts: PublishOptions = {}): Promise<void> {
    if (!(msg instanceof Message)) return Promise.reject(new ArgumentError('basicPublish: msg must be a Message'));
    const exchange = opts.exchange ?? '';
    const routingKey = opts.routingKey ?? '';
    const mandatory = opts.mandatory ?? false;
    const immediate = opts.immediate ?? false;
    let body: Buffer;
    try {
      body = Buffer.isBuffer(msg.body) ? msg.body : msg.bodyBuffer;
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.canPublishNow() && !this.publishesWaiting)
      return this.publishNow(body, msg.properties, exchange, routingKey, mandatory, immediate);
    const bad = this.unusable();
    if (bad) return Promise.reject(bad);
    const send = (): Promise<void> => this.publishNow(body, msg.properties, exchange, routingKey, mandatory, immediate);
    const what = `basicPublish (waiting: ${this.publishBlocker()})`;
    if (!this.host.recovering) return this.queuePublish(send, opts, what);
    const size = body.length;
    if (!this.host.reserveOutage(size)) {
      return Promise.reject(
        new PublishBufferFull(
          `basicPublish: the connection is recovering and its outage buffer is full (${size} more bytes do not fit); the message was not published`,
        ),
      );
    }
    let released = false;
    return this.queuePublish(send, opts, what, () => {
      if (!released) {
        released = true;
        this.host.releaseOutage(size);
      }
    });
  }

  /**
   * Async iteration over a queue: `for await (const msg of ch.consume('q', { prefetch: 10 }))`.
   * Consuming starts with the first iteration; leaving the loop cancels the consumer. The loop
   * ends with ConsumerCancelled when the server cancels it, or the channel's error.
   */
  consume(queue: string, opts: IterateOptions = {}): ConsumerIterator {
    return new ConsumerIterator(this, queue, opts);
  }

  /** Acknowledges a delivery by tag (or by message, which also refuses stale deliveries). */
  basicAck(delivery: number | Message<unknown>, opts: { multiple?: boolean } = {}): void {
    if (delivery instanceof Message) this.settleDelivery(delivery, 'ack', opts.multiple ?? false, false);
    else this.sendAck(ACK_METHOD.ack, delivery, opts.multiple ? 1 : 0);
  }

  /** Negatively acknowledges a delivery (basic.nack; requeued by default). */
  basicNack(delivery: number | Message<unknown>, opts: { multiple?: boolean; requeue?: boolean } = {}): void {
    if (delivery instanceof Message) this.settleDelivery(delivery, 'nack', opts.multiple ?? false, opts.requeue ?? true);
    else this.sendAck(ACK_METHOD.nack, delivery, (opts.multiple ? 1 : 0) | ((opts.requeue ?? true) ? 2 : 0));
  }

  /** Rejects a delivery (basic.reject; requeued by default). */
  basicReject(delivery: number | Message<unknown>, opts: { requeue?: boolean } = {}): void {
    if (delivery instanceof Message) this.settleDelivery(delivery, 'reject', false, opts.requeue ?? true);
    else this.sendAck(ACK_METHOD.reject, delivery, (opts.requeue ?? true) ? 1 : 0);
  }

  /** Redelivers all unacknowledged messages of this channel (basic.recover). */
  async basicRecover(opts: CallOptions & { requeue?: boolean } = {}): Promise<void> {
    await this.call('basic.recover', { requeue: opts.requeue ?? false }, false, opts);
  }

  /**
   * Asynchronous basic.recover (deprecated in the spec). RabbitMQ supports only `requeue: true`;
   * with the default `requeue: false` it closes the connection with 540 NotImplemented.
   */
  basicRecoverAsync(opts: { requeue?: boolean } = {}): void {
    this.sendNow('basic.recover-async', { requeue: opts.requeue ?? false });
  }

  /**
   * Asks the server to pause (false) or resume (true) deliveries (channel.flow).
   * @throws AMQPNotImplementedError (540, connection) for `flow(false)`: RabbitMQ accepts only
   *   `flow(true)` from clients.
   */
  async flow(active: boolean, opts: CallOptions = {}): Promise<boolean> {
    const r = (await this.call('channel.flow', { active }, false, opts)) as MethodArgs['channel.flow-ok'];
    return r.active;
  }

  /** Puts the channel in transaction mode (tx.select); restored on reopen. */
  async txSelect(opts: CallOptions = {}): Promise<void> {
    await this.call('tx.select', {}, false, opts);
    this.mode = 'tx';
  }

  /** Commits the current transaction. @throws PreconditionFailed (406) when not in tx mode. */
  async txCommit(opts: CallOptions = {}): Promise<void> {
    await this.call('tx.commit', {}, false, opts);
  }

  /** Rolls back the current transaction. @throws PreconditionFailed (406) when not in tx mode. */
  async txRollback(opts: CallOptions = {}): Promise<void> {
    await this.call('tx.rollback', {}, false, opts);
  }

  /**
   * Puts the channel in publisher-confirm mode (confirm.select); from then on basicPublish
   * resolves on the broker's ack. Restored on reopen.
   * @throws PreconditionFailed (406) when the channel is in tx mode.
   */
  async confirmSelect(opts: ConfirmSelectOptions = {}): Promise<void> {
    const max = opts.maxUnconfirmed ?? 0;
    if (!Number.isInteger(max) || max < 0)
      throw new ArgumentError(`confirmSelect: maxUnconfirmed must be a non-negative integer, got ${String(max)}`);
    const nowait = opts.nowait ?? false;
    const enable = (): void => {
      if (!this.confirms) this.confirms = new ConfirmTracker();
      this.mode = 'confirm';
      this.maxUnconfirmed = max;
    };
    if (nowait) enable();
    await this.call('confirm.select', { nowait }, nowait, opts, enable);
  }

  /**
   * Waits until every publish so far is confirmed (acked or nacked).
   * @throws ArgumentError when not in confirm mode; Timeout; the channel's error if it closes.
   */
  async waitForConfirms(opts: CallOptions = {}): Promise<void> {
    if (!this.confirms) throw new ArgumentError('waitForConfirms: the channel is not in confirm mode (call confirmSelect first)');
    await waitWith(this.confirms.waitForAll(), { timeout: opts.timeout ?? this.host.callTimeout, signal: opts.signal }, 'waitForConfirms');
  }

  /**
   * Closes the channel (channel.close) after the calls queued before it. Consumers stop; pending
   * confirms reject with ChannelClosed. Closing a closed channel does nothing.
   */
  async close(opts: CallOptions & { replyCode?: number; replyText?: string; classId?: number; methodId?: number } = {}): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'closing') throw new ChannelClosed(`channel ${this.channelId} is already closing`, { channelId: this.channelId });
    this.state = 'closing';
    try {
      await this.call(
        'channel.close',
        {
          replyCode: opts.replyCode ?? 200,
          replyText: opts.replyText ?? 'Normal shutdown',
          classId: opts.classId ?? 0,
          methodId: opts.methodId ?? 0,
        },
        false,
        opts,
      );
    } finally {
      this.finalize(undefined);
    }
  }
}
