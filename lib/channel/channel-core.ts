/**
 * ChannelCore: the machinery under the public Channel API (channel.ts): lifecycle, inbound
 * frames, the RPC queue, publishing, consumer dispatch, confirms, and reopening.
 *
 * Lifecycle: opening -> open -> (server channel.close) -> reopening -> open ... -> closing -> closed.
 * When the server closes the channel (a soft error such as 404 or 406) we answer close-ok, reject
 * the call that caused it with its typed error, reject outstanding confirms, and reopen the same
 * channel id, restoring what the user set: prefetch (basic.qos), confirm or tx mode, and consumers
 * (same tags, same callbacks). Queued calls wait for the reopen and then proceed. A consumer whose
 * restore fails (its queue is gone) is dropped and told through its onCancel hook.
 *
 * Deliveries are never handed to user code from inside the frame parser: they are queued and
 * dispatched in a microtask (inbox.ts). A callback that throws or rejects reaches the
 * 'callbackError' event (or a process warning when nobody listens); the message is not acked.
 */
import { EventEmitter } from 'node:events';
import type PQueue from 'p-queue';
import {
  type AMQPError,
  ChannelClosed,
  ConnectionLost,
  ConsumerCancelled,
  StaleDelivery,
  UnexpectedFrame,
  errorForCode,
} from '../errors.js';
import { CONTEXT, type DeliveryContext, Message, type MessageChannel } from '../message.js';
import { ACK_METHOD, encodeDeliveryAck, encodeMethodFrame, encodePublish, PublishFrameCache } from '../protocol/content.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD } from '../protocol/frame.js';
import {
  decodeMethod,
  METHOD_NAME,
  REPLIES,
  type Method,
  type MethodArgs,
  type MethodInit,
  type MethodName,
} from '../protocol/generated/methods.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import { Reader, Writer } from '../protocol/primitives.js';
import type { Transport } from '../transport/transport.js';
import { checkTimeout, type CallOptions } from '../util/wait.js';
import type { Topology } from '../recovery/topology.js';
import { type ConfirmTracker, rejectPending, type Pending } from './confirms.js';
import { ContentAssembler } from './content.js';
import { Inbox, LEND_MIN } from './inbox.js';
import { PublishQueue } from './publish-queue.js';
import { RpcQueue } from './rpc.js';
import { noteDelivery } from './stream-offset.js';

/** @internal What a channel needs from its connection. */
export interface ChannelHost {
  /** The live transport, or null while disconnected. */
  readonly transport: Transport | null;
  readonly frameMax: number;
  readonly callTimeout: number;
  /** True while the broker has blocked publishing (connection.blocked). */
  readonly blocked: boolean;
  /** The error the connection died of, if it is closed. */
  readonly closeError: AMQPError | null;
  releaseChannel(id: number): void;
  /** An inbound event (delivery, return, cancel, confirm) was dispatched. */
  eventDispatched(): void;
  /** What this connection declared, for recovery. */
  readonly topology: Topology;
  /** Consumers on `queue` across all channels of the connection. */
  consumerCount(queue: string): number;
  /** True while the connection is reconnecting after a loss. */
  readonly recovering: boolean;
  /** Whether unconfirmed publishes are republished after a recovery. */
  readonly republish: boolean;
  /** Takes `bytes` of the outage publish buffer; false when it is full. */
  reserveOutage(bytes: number): boolean;
  /** Gives back what reserveOutage took. */
  releaseOutage(bytes: number): void;
  /** The server's connection.start properties (product, version: feature detection). */
  readonly serverProperties: import('../protocol/primitives.js').FieldTable;
}

/** Header set on messages the client published again after a reconnect (at-least-once). */
export const REPUBLISHED_HEADER = 'x-amqpts-republished';

/** A consumer callback; may be async. */
export type ConsumerCallback = (msg: Message) => void | Promise<void>;

/** @internal A registered consumer, as restored on reopen. */
export interface ConsumerEntry {
  tag: string;
  queue: string;
  noLocal: boolean;
  noAck: boolean;
  exclusive: boolean;
  arguments: import('../protocol/primitives.js').FieldTable;
  callback: ConsumerCallback;
  onCancel: ((err: ConsumerCancelled | AMQPError) => void) | undefined;
  /** Limits how many callbacks run at once (the `concurrency` option); undefined = no limit. */
  limiter: PQueue | undefined;
  /** Large bodies are lent for the callback's duration (the `lendBodies` option). */
  lendBodies: boolean;
}

/** Channel mode: plain, transactional (tx.select) or publisher confirms (confirm.select). */
export type ChannelMode = 'none' | 'tx' | 'confirm';

/** Events a channel emits. It never emits 'error'. */
export interface ChannelEvents {
  /** A mandatory/immediate message came back unroutable (also in `returnedMessages`). */
  return: [msg: Message];
  /** A consumer callback threw or rejected; the message was not acked. */
  callbackError: [err: unknown, msg: Message];
  /** The server cancelled a consumer (e.g. its queue was deleted). */
  cancel: [consumerTag: string, err: ConsumerCancelled];
  /** The server closed the channel with an error; it is reopening. */
  channelError: [err: AMQPError];
  /** The channel reopened after a server close, with its settings restored. */
  reopen: [];
  /** The channel is closed for good (`err` undefined after a clean client close). */
  close: [err: AMQPError | undefined];
}

/** @internal A channel's lifecycle state. */
export type ChannelState = 'opening' | 'open' | 'reopening' | 'closing' | 'closed';
const scratch = new Writer(1024);
const _NOOP = (): void => {};
/** Consumer windows (prefetch) under this many messages are paced by acks: no read coalescing. */
const SMALL_WINDOW = 100;
/** Unconfirmed publishes from which a confirm-mode channel counts as streaming (see `confirmStreaming`). */
const CONFIRM_STREAM = 512;
const reader = new Reader(Buffer.alloc(0));

/** @internal See the file header. Public members are documented on Channel. */
/** One generation of a channel, as its deliveries see it: a delivery is fresh while its context is current. */
class Generation implements DeliveryContext {
  constructor(
    readonly channel: MessageChannel,
    private readonly core: ChannelCore,
  ) {}

  settle(msg: Message<unknown>, how: 'ack' | 'nack' | 'reject', multiple: boolean, requeue: boolean): void {
    this.core.settleDelivery(msg, how, multiple, requeue);
  }
}

export abstract class ChannelCore extends EventEmitter<ChannelEvents> {
  /** The channel number. */
  readonly channelId: number;
  /** Messages the broker returned (mandatory/immediate publishes it could not route), oldest first. */
  readonly returnedMessages: Message[] = [];
  /** Current mode: `none`, `tx` or `confirm`. */
  mode: ChannelMode = 'none';
  /** False while the server has paused this channel's publishing (channel.flow). */
  active = true;
  /** Decode text bodies to strings on receipt. */
  autoDecode: boolean;
  /** @internal Renewed on every close or loss; deliveries of older generations are stale. */
  protected generation: Generation = new Generation(this as unknown as MessageChannel, this);

  /** @internal Starts a new generation: deliveries so far become stale. */
  protected renewGeneration(): void {
    this.generation = new Generation(this as unknown as MessageChannel, this);
  }
  /** @internal */ protected state: ChannelState = 'opening';
  /** @internal True between channel.open-ok and the channel's close or loss: frames may be sent on it. */
  protected wireOpen = false;
  /** @internal */ protected readonly rpc = new RpcQueue();
  /** @internal */ protected readonly consumers = new Map<string, ConsumerEntry>();
  /** @internal */ protected readonly cancelled = new Map<string, boolean>();
  /** @internal */ protected qos: Array<MethodInit['basic.qos']> = [];
  /** @internal */ protected confirms: ConfirmTracker | null = null;
  /** @internal */ protected maxUnconfirmed = 0;
  /** @internal */ protected closeError: AMQPError | undefined;
  /** @internal Unconfirmed publishes of a lost connection, republished on recovery. */
  protected unconfirmed: Pending[] = [];
  /** @internal */ protected readonly content: ContentAssembler;
  private readonly inbox = new Inbox(
    (err, msg) => this.callbackError(err, msg),
    () => this.host.eventDispatched(),
  );
  private readonly publishQueue = new PublishQueue();
  private readonly publishCache = new PublishFrameCache();
  private readonly appendExternal = (b: Buffer): void => {
    this.host.transport?.appendExternal(b);
  };

  /** @internal */
  constructor(
    protected readonly host: ChannelHost,
    channelId: number,
    autoDecode: boolean,
  ) {
    super();
    this.channelId = channelId;
    this.autoDecode = autoDecode;
    this.content = new ContentAssembler(
      channelId,
      (m, p, b) => this.onContent(m, p, b),
      (n, m) => this.allocBody(n, m),
    );
  }

  /**
   * @internal True while this channel consumes into a window under 100 messages: its deliveries
   * are paced by our acks, so the transport must not pause reading (see Transport.onData).
   */
  get latencyBound(): boolean {
    if (this.consumers.size === 0) return false;
    for (const q of this.qos) {
      const n = q.prefetchCount ?? 0;
      if (n > 0 && n < SMALL_WINDOW) return true;
    }
    return false;
  }

  /**
   * @internal True while this channel has CONFIRM_STREAM or more publishes awaiting confirms: acks
   * then come in a steady stream, the window covers many round trips, and a reading pause of a
   * millisecond costs no throughput but halves the wake-ups (see Transport.onData).
   */
  get confirmStreaming(): boolean {
    return this.confirms !== null && this.confirms.size >= CONFIRM_STREAM;
  }

  /** @internal Publishes awaiting confirms and publishes acked so far (confirm mode), for the confirmTimeout watchdog. */
  get confirmProgress(): { outstanding: number; acked: number; nacked: number } | null {
    const c = this.confirms;
    return c ? { outstanding: c.size, acked: c.acked, nacked: c.nacked } : null;
  }

  /** @internal A server-named queue was renamed by recovery: its consumers follow. */
  renameConsumerQueue(oldName: string, newName: string): void {
    for (const c of this.consumers.values()) if (c.queue === oldName) c.queue = newName;
  }

  /** @internal Number of this channel's consumers on `queue`. */
  consumersOn(queue: string): number {
    let n = 0;
    for (const c of this.consumers.values()) if (c.queue === queue) n++;
    return n;
  }

  /** True while the channel can be used (open, or reopening after a server close). */
  get isOpen(): boolean {
    return this.state === 'open' || this.state === 'reopening';
  }

  // ---------------------------------------------------------------- frames in

  /** @internal A frame for this channel from the connection; its payload is `buf[start..end)`. */
  handleFrame(type: number, buf: Buffer, start: number, end: number): void {
    if (type === FRAME_METHOD) {
      reader.buf = buf;
      reader.pos = start;
      reader.end = end;
      const m = decodeMethod(reader);
      if (this.content.busy) this.content.start(m); // throws UnexpectedFrame
      this.onMethod(m);
    } else if (type === FRAME_HEADER) {
      this.content.header(buf, start, end);
    } else if (type === FRAME_BODY) {
      this.content.bodyFrame(buf, start, end);
    } else {
      throw new UnexpectedFrame(`frame type ${type} on channel ${this.channelId}`, { replyCode: 505, channelId: this.channelId });
    }
  }

  /**
   * @internal A piece of a body frame split across socket chunks, from the connection (frame
   * parser streaming mode). Same checks as a whole body frame: 505 without a content header or
   * beyond the announced body size. `piece` is copied, never kept.
   */
  handleBodyPart(piece: Buffer, frameDone: boolean): void {
    this.content.bodyPiece(piece, frameDone);
  }

  /** @internal Where the socket may read the next `n` body bytes of this channel (see ContentAssembler.target). */
  bodyTarget(n: number): Buffer | null {
    return this.content.target(n);
  }

  /** @internal Body bytes still to come for the message this channel is receiving. */
  get bodyRemaining(): number {
    return this.content.remaining;
  }

  private onMethod(m: Method): void {
    switch (m.name) {
      case 'basic.deliver':
      case 'basic.get-ok':
      case 'basic.return':
        this.content.start(m);
        return;
      case 'basic.ack':
        this.confirms?.ack(Number(m.args.deliveryTag), m.args.multiple);
        if (this.publishQueue.length > 0) this.wakePublishers();
        this.host.eventDispatched();
        return;
      case 'basic.nack':
        this.confirms?.nack(Number(m.args.deliveryTag), m.args.multiple);
        if (this.publishQueue.length > 0) this.wakePublishers();
        this.host.eventDispatched();
        return;
      case 'basic.cancel':
        this.onServerCancel(m.args.consumerTag, m.args.nowait);
        return;
      case 'channel.close':
        this.onServerClose(m.args);
        return;
      case 'channel.flow':
        this.active = m.args.active;
        this.sendControl('channel.flow-ok', { active: m.args.active });
        if (this.active) this.wakePublishers();
        return;
      default:
        if (this.rpc.accepts(m.name)) {
          if (m.name === 'basic.get-empty') this.rpc.complete(null);
          else this.rpc.complete(m.args);
          return;
        }
        throw new UnexpectedFrame(
          `unexpected method ${m.name} on channel ${this.channelId}` +
            (this.rpc.current ? ` while waiting for a reply to ${this.rpc.current.name}` : ''),
          { replyCode: 505, channelId: this.channelId, classId: m.classId, methodId: m.methodId, methodName: m.name },
        );
    }
  }

  private onContent(m: Method, props: BasicProperties, body: Buffer): void {
    if (m.name === 'basic.deliver') {
      const a = m.args; // basic.deliver's args have DeliveryInfo's shape: used as is, no copy
      const msg = Message.received(body, props, a, this.autoDecode, this.generation);
      const c = this.consumers.get(a.consumerTag);
      // a body that reaches no callback as a Buffer (no consumer, or decoded to a string) is free now
      if (!c || typeof msg.body === 'string') this.inbox.giveBack(body);
      if (c) {
        noteDelivery(c, props); // a stream consumer resumes after this offset (stream-offset.ts)
        this.inbox.push(c, msg);
      } else if (this.cancelled.get(a.consumerTag) === false) this.sendNow('basic.reject', { deliveryTag: a.deliveryTag, requeue: true });
    } else if (m.name === 'basic.get-ok') {
      const a = m.args;
      const msg = Message.received(
        body,
        props,
        {
          deliveryTag: Number(a.deliveryTag),
          redelivered: a.redelivered,
          exchange: a.exchange,
          routingKey: a.routingKey,
          messageCount: a.messageCount,
        },
        this.autoDecode,
        this.generation,
      );
      if (this.rpc.accepts('basic.get-ok')) this.rpc.complete(msg);
    } else if (m.name === 'basic.return') {
      const a = m.args;
      const msg = Message.received(
        body,
        props,
        {
          deliveryTag: 0,
          redelivered: false,
          exchange: a.exchange,
          routingKey: a.routingKey,
          replyCode: a.replyCode,
          replyText: a.replyText,
        },
        this.autoDecode,
        undefined,
      );
      this.returnedMessages.push(msg);
      this.confirms?.returned(msg);
      queueMicrotask(() => {
        this.emit('return', msg);
        this.host.eventDispatched();
      });
    }
  }

  /** A body buffer of `size` bytes for content `m`: lent from the pool for a consumer with lendBodies. */
  private allocBody(size: number, m: Method): Buffer {
    if (size >= LEND_MIN && m.name === 'basic.deliver' && this.consumers.get(m.args.consumerTag)?.lendBodies)
      return this.inbox.pool.take(size);
    return Buffer.allocUnsafe(size);
  }

  /** @internal */
  protected callbackError(err: unknown, msg: Message): void {
    if (this.listenerCount('callbackError') > 0) this.emit('callbackError', err, msg);
    else process.emitWarning(`amqpts: a consumer callback on channel ${this.channelId} failed: ${String(err)}`, 'AmqptsCallbackError');
  }

  private onServerCancel(tag: string, nowait: boolean): void {
    const c = this.consumers.get(tag);
    this.consumers.delete(tag);
    if (!nowait) this.sendControl('basic.cancel-ok', { consumerTag: tag });
    const err = new ConsumerCancelled(
      `the server cancelled consumer ${tag}${c ? ` on queue '${c.queue}'` : ''} (queue deleted or failed over)`,
      { channelId: this.channelId, methodName: 'basic.cancel' },
    );
    queueMicrotask(() => {
      c?.onCancel?.(err);
      this.emit('cancel', tag, err);
      this.host.eventDispatched();
    });
  }

  private onServerClose(a: MethodArgs['channel.close']): void {
    this.sendControl('channel.close-ok', {});
    this.wireOpen = false;
    this.content.reset();
    const err = errorForCode(a.replyCode, {
      replyText: a.replyText,
      classId: a.classId,
      methodId: a.methodId,
      channelId: this.channelId,
      methodName: METHOD_NAME[(a.classId << 16) | a.methodId] ?? '',
    });
    if (this.state === 'closing') {
      this.finalize(err);
      return;
    }
    this.renewGeneration();
    this.rpc.pause();
    this.rpc.failInFlight(err);
    this.confirms?.failAll(err);
    this.emit('channelError', err);
    if (this.state !== 'reopening') void this.reopenAfterClose();
  }

  // ---------------------------------------------------------------- lifecycle

  /** @internal Opens the channel (channel.open). */
  async open(opts: CallOptions): Promise<void> {
    await this.call('channel.open', {}, false, opts);
    this.wireOpen = true;
    this.state = 'open';
  }

  /** @internal Reopens the channel after a server channel.close (recovery.ts). */
  protected abstract reopenAfterClose(): Promise<void>;

  /** @internal The connection is gone: settle everything with `err`. */
  connectionClosed(err: AMQPError): void {
    if (this.state === 'closed') return;
    this.finalize(err);
  }

  /** @internal Marks the channel closed and settles everything pending. */
  protected finalize(err: AMQPError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeError = err;
    this.renewGeneration();
    const reason = err ?? new ChannelClosed(`channel ${this.channelId} is closed`, { channelId: this.channelId });
    this.rpc.failAll(reason);
    this.confirms?.failAll(reason);
    for (const p of this.unconfirmed) rejectPending(p, reason);
    this.unconfirmed = [];
    this.content.reset();
    this.wireOpen = false;
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    // the broker drops a closed channel's consumers: an auto-delete queue left without any is gone
    for (const c of consumers) this.host.topology.consumerCancelled(c.queue, this.host.consumerCount(c.queue) > 0);
    this.wakePublishers();
    this.host.releaseChannel(this.channelId);
    queueMicrotask(() => {
      for (const c of consumers) c.onCancel?.(reason);
      this.emit('close', err);
    });
  }

  // ---------------------------------------------------------------- sending

  /** @internal The error a call on this channel gets now, or null if it may proceed. */
  protected unusable(): AMQPError | null {
    if (this.state === 'closed' || this.state === 'closing') {
      return this.host.closeError ?? new ChannelClosed(`channel ${this.channelId} is closed`, { channelId: this.channelId });
    }
    return this.host.closeError;
  }

  /** @internal */
  protected transportOrThrow(): Transport {
    const t = this.host.transport;
    if (!t || t.isDead) throw this.host.closeError ?? new ConnectionLost('the connection is not open (recovering)');
    return t;
  }

  /**
   * @internal Encodes and queues an asynchronous method (ack, nack, reject...) now; refused with
   * the channel's error unless it is open (a tag of a closed channel must never reach a reused id).
   */
  protected sendNow<N extends MethodName>(name: N, args: MethodInit[N]): void {
    if (this.state !== 'open') {
      throw (
        this.unusable() ??
        new ChannelClosed(`channel ${this.channelId} is reopening: ${name} refused (its delivery tags are stale)`, {
          channelId: this.channelId,
        })
      );
    }
    this.sendControl(name, args);
  }

  /** @internal Like sendNow, in any state (close-ok, flow-ok, cancel-ok, protocol replies). */
  protected sendControl<N extends MethodName>(name: N, args: MethodInit[N]): void {
    const t = this.transportOrThrow();
    t.reserve(256);
    const start = t.out.pos;
    try {
      encodeMethodFrame(t.out, this.channelId, name, args, this.host.frameMax);
    } catch (err) {
      t.rewind(start);
      throw err;
    }
    t.commit();
  }

  private encode<N extends MethodName>(name: N, args: MethodInit[N]): Buffer {
    scratch.pos = 0;
    encodeMethodFrame(scratch, this.channelId, name, args, this.host.frameMax);
    return Buffer.from(scratch.buf.subarray(0, scratch.pos));
  }

  private makeCall<N extends MethodName>(
    name: N,
    args: MethodInit[N],
    nowait: boolean,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): import('./rpc.js').RpcCall {
    const frame = this.encode(name, args);
    return {
      name,
      expect: nowait ? [] : (REPLIES[name] ?? []),
      resolve,
      reject,
      send: () => {
        const t = this.transportOrThrow();
        t.reserve(frame.length);
        t.out.bytes(frame);
        t.commit();
      },
    };
  }

  /**
   * @internal Queues a synchronous call, completed by one of the replies the spec pairs with it
   * (REPLIES), or a `nowait` one, resolved once written. Arguments are encoded now, so invalid ones
   * reject before anything is queued. `onReply` runs synchronously when the reply arrives, before
   * any later frame is processed.
   */
  protected call<N extends MethodName>(
    name: N,
    args: MethodInit[N],
    nowait: boolean,
    opts: CallOptions = {},
    onReply?: (reply: unknown) => unknown,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const bad = this.unusable();
      if (bad && !(name === 'channel.close' && this.state === 'closing')) {
        reject(bad);
        return;
      }
      checkTimeout(opts.timeout);
      const call = this.makeCall(
        name,
        args,
        nowait,
        onReply
          ? (v) => {
              try {
                resolve(onReply(v));
              } catch (e) {
                reject(e);
              }
            }
          : resolve,
        reject,
      );
      this.rpc.push(call, { timeout: opts.timeout ?? this.host.callTimeout, signal: opts.signal });
    });
  }

  /** @internal A reopen/restore step, sent ahead of queued calls. */
  protected direct<N extends MethodName>(name: N, args: MethodInit[N]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.rpc.direct(this.makeCall(name, args, false, resolve, reject), { timeout: this.host.callTimeout });
    });
  }

  // ---------------------------------------------------------------- publishing

  /** @internal Whether a publish can go out right now. */
  protected canPublishNow(): boolean {
    return (
      this.state === 'open' &&
      this.active &&
      !this.host.blocked &&
      (this.maxUnconfirmed === 0 || this.confirms === null || this.confirms.size < this.maxUnconfirmed)
    );
  }

  /** @internal Encodes a publish now; returns its completion promise. */
  protected publishNow(
    body: Buffer,
    properties: BasicProperties,
    exchange: string,
    routingKey: string,
    mandatory: boolean,
    immediate: boolean,
  ): Promise<void> {
    const t = this.transportOrThrow();
    t.reserve(body.length <= 65536 ? body.length + 512 : 4096);
    const start = t.out.pos;
    const confirm = this.confirms
      ? this.confirms.register(body, properties, exchange, routingKey, mandatory, immediate, this.host.republish)
      : null;
    try {
      encodePublish(
        t.out,
        this.channelId,
        { exchange, routingKey, mandatory, immediate, properties, body },
        this.host.frameMax,
        this.appendExternal,
        this.publishCache,
      );
    } catch (err) {
      t.rewind(start);
      if (confirm) this.confirms?.unregisterLast();
      return Promise.reject(err);
    }
    t.commit();
    return confirm ?? t.written(); // a confirm promise is marked handled when it is rejected
  }

  /**
   * @internal Queues a publish until the channel is publishable, under the call's deadline.
   * Queued publishes go out in call order, and while any wait, new publishes queue behind them.
   */
  protected queuePublish(send: () => Promise<void>, opts: CallOptions, what: string, release?: () => void): Promise<void> {
    return this.publishQueue.add(send, { timeout: opts.timeout ?? this.host.callTimeout, signal: opts.signal }, what, release);
  }

  /** @internal True while earlier publishes wait in the queue (new ones must queue behind them). */
  protected get publishesWaiting(): boolean {
    return this.publishQueue.length > 0;
  }

  /** @internal Why publishes wait now (for Timeout messages). */
  protected publishBlocker(): string {
    if (this.host.recovering) return 'connection recovering';
    if (this.host.blocked) return 'connection blocked by the broker';
    if (this.state !== 'open') return 'channel reopening';
    if (!this.active) return 'channel flow paused by the broker';
    return 'maxUnconfirmed publishes outstanding';
  }

  /** @internal Sends queued publishes while the channel is publishable; fails them if it closed. */
  wakePublishers(): void {
    this.publishQueue.drain(
      () => this.canPublishNow(),
      () => this.unusable(),
    );
  }

  // ---------------------------------------------------------------- acks

  private checkFresh(msg: Message<unknown>, what: string): void {
    // fresh = delivered since the channel last (re)opened; the state may still be 'reopening'
    // while consumers are restored, and their first deliveries are already fresh
    if (msg[CONTEXT] !== this.generation || this.state === 'closed' || this.state === 'closing') {
      const whose = msg[CONTEXT]?.channel;
      const why =
        whose !== undefined && whose !== this.generation.channel
          ? `it was delivered on channel ${whose.channelId}, not ${this.channelId}`
          : `channel ${this.channelId} closed or reopened since it was delivered; the broker will redeliver it`;
      throw new StaleDelivery(`cannot ${what} delivery ${msg.deliveryInfo?.deliveryTag ?? '?'}: ${why}`, { channelId: this.channelId });
    }
  }

  /** @internal Sends basic.ack/nack/reject for `tag` (hot path: encoded in place). */
  protected sendAck(methodId: number, tag: number, bits: number): void {
    if (!this.wireOpen) {
      throw (
        this.unusable() ??
        new ChannelClosed(`channel ${this.channelId} is reopening: acknowledgement refused (its delivery tags are stale)`, {
          channelId: this.channelId,
        })
      );
    }
    const t = this.transportOrThrow();
    encodeDeliveryAck(t.out, this.channelId, methodId, tag, bits);
    t.commit();
  }

  /** @internal basic.ack / nack / reject of a received message, refused with StaleDelivery unless it is fresh. */
  settleDelivery(msg: Message<unknown>, how: 'ack' | 'nack' | 'reject', multiple: boolean, requeue: boolean): void {
    this.checkFresh(msg, how);
    const tag = msg.deliveryTag;
    if (how === 'ack') this.sendAck(ACK_METHOD.ack, tag, multiple ? 1 : 0);
    else if (how === 'nack') this.sendAck(ACK_METHOD.nack, tag, (multiple ? 1 : 0) | (requeue ? 2 : 0));
    else this.sendAck(ACK_METHOD.reject, tag, requeue ? 1 : 0);
  }
}
