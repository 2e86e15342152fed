/**
 * Inbound: what a channel does with the frames the connection hands it. Method frames dispatch
 * through a table by method name (content methods start the ContentAssembler; confirms go to the
 * publisher; server cancel, close and flow to their handlers; anything else must be the reply the
 * RPC queue waits for, or it is UNEXPECTED_FRAME 505). Completed content becomes a Message:
 * deliveries go to the Inbox, a get-ok completes basic.get, a return is kept (bounded) and emitted.
 *
 * Deliveries are never handed to user code from inside the frame parser: they are queued and
 * dispatched in a microtask (inbox.ts).
 */
import { diag, diagDeliver, diagReturn } from '../diagnostics-publish.js';
import { ConsumerCancelled, UnexpectedFrame } from '../errors.js';
import { Message } from '../message.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD } from '../protocol/frame.js';
import { decodeMethod, type Method, type MethodArgs, type MethodName } from '../protocol/generated/methods.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import { ACK_METHOD } from '../protocol/encode.js';
import { Reader } from '../protocol/primitives.js';
import { ContentAssembler } from './assembler.js';
import type { ConsumerRegistry } from './consumers.js';
import { Inbox, RECYCLE_MIN } from './inbox.js';
import { noteDelivery } from './stream-offset.js';
import type { ChannelLink } from './link.js';
import type { Publisher } from './publisher.js';
import type { ChannelSettings } from './settings.js';
import type { ChannelEmitter, ReceivedMessage } from './types.js';

/** Returned messages kept in `returnedMessages`: at most this many... */
const RETURNS_MAX = 100;
/** ...and at most this many body bytes (the newest is always kept). */
const RETURNS_MAX_BYTES = 8 * 1024 * 1024;

const reader = new Reader(Buffer.alloc(0));

/** The handlers of the inbound method table, each typed by its method's arguments (one table for all channels). */
type Table = { readonly [N in MethodName]?: (ch: Inbound, args: MethodArgs[N], m: Method) => void };

const startContent = (ch: Inbound, _a: unknown, m: Method): void => ch.content.start(m);

/** The channel's lifecycle, as the inbound table sees it: where a server channel.close goes, and the parts it creates on first use. */
export interface InboundOwner {
  onServerClose(args: MethodArgs['channel.close']): void;
  /** The publisher (created if the channel has none yet). */
  readonly publisher: Publisher;
  /** The publisher if the channel has one. */
  readonly publisherIfAny: Publisher | null;
  /** The consumer registry (created if the channel has none yet). */
  readonly consumers: ConsumerRegistry;
}

const TABLE: Table = {
  'basic.deliver': startContent,
  'basic.get-ok': startContent,
  'basic.return': startContent,
  'basic.ack': (ch, a) => ch.confirmed(Number(a.deliveryTag), a.multiple, false),
  'basic.nack': (ch, a) => ch.confirmed(Number(a.deliveryTag), a.multiple, true),
  'basic.cancel': (ch, a) => ch.onServerCancel(a),
  'channel.close': (ch, a) => ch.closer.onServerClose(a),
  'channel.flow': (ch, a) => ch.onFlow(a.active),
};

/** See the file header. */
export class Inbound {
  private returnedList: ReceivedMessage[] | null = null;
  private returnedSizes: number[] | null = null;
  private returnedBytes = 0;
  private assembler: ContentAssembler | null = null;
  private box: Inbox | null = null;

  constructor(
    private readonly link: ChannelLink,
    private readonly settings: ChannelSettings,
    private readonly events: ChannelEmitter,
    /** Handles a server channel.close, and holds the publisher and consumers (the lifecycle). */
    readonly closer: InboundOwner,
  ) {}

  /** The latest messages the broker returned (unroutable mandatory publishes), oldest first, bounded. */
  get returned(): ReceivedMessage[] {
    return (this.returnedList ??= []);
  }

  /** Content assembly (created with the first content frame: an idle channel holds none). */
  get content(): ContentAssembler {
    return (this.assembler ??= new ContentAssembler(
      this.link.id,
      (m, p, b) => this.onContent(m, p, b),
      this.link.host.maxMessageSize,
      (n, m) => this.allocBody(n, m),
    ));
  }

  /** Drops any partial content (the channel closed or reopens). */
  resetContent(): void {
    this.assembler?.reset();
  }

  /** Where the socket may read the next `n` body bytes, or null. */
  bodyTarget(n: number): Buffer | null {
    return this.assembler === null ? null : this.assembler.target(n);
  }

  /** Body bytes still to come for the message being received. */
  get bodyRemaining(): number {
    return this.assembler === null ? 0 : this.assembler.remaining;
  }

  /** Consumer dispatch (created with the first delivery: an idle channel holds none). */
  get inbox(): Inbox {
    return (this.box ??= new Inbox(
      (err, msg) => this.callbackError(err, msg),
      () => this.link.host.eventDispatched(),
      this.link,
    ));
  }

  /** basic.ack / basic.nack from the broker. */
  confirmed(tag: number, multiple: boolean, nack: boolean): void {
    this.closer.publisher.confirmed(tag, multiple, nack);
    this.link.host.eventDispatched();
  }

  /** channel.flow from the broker. */
  onFlow(active: boolean): void {
    this.settings.active = active;
    this.link.control('channel.flow-ok', { active });
    if (active) this.closer.publisherIfAny?.wake();
  }

  /** A frame for this channel, its payload at `buf[start..end)`. @throws UnexpectedFrame (505), FrameError. */
  handleFrame(type: number, buf: Buffer, start: number, end: number): void {
    if (type === FRAME_METHOD) {
      reader.buf = buf;
      reader.pos = start;
      reader.end = end;
      const m = decodeMethod(reader);
      if (this.assembler?.busy) this.assembler.start(m); // throws UnexpectedFrame
      const handle = TABLE[m.name] as ((ch: Inbound, args: Method['args'], m: Method) => void) | undefined;
      if (handle) handle(this, m.args, m);
      else this.reply(m);
    } else if (type === FRAME_HEADER) {
      this.content.header(buf, start, end);
    } else if (type === FRAME_BODY) {
      this.content.bodyFrame(buf, start, end);
    } else {
      throw new UnexpectedFrame(`frame type ${type} on channel ${this.link.id}`, { replyCode: 505, channelId: this.link.id });
    }
  }

  /** A method that is no event: the reply to the call in flight, or UNEXPECTED_FRAME. */
  private reply(m: Method): void {
    const rpc = this.link.rpc;
    if (rpc.accepts(m.name)) {
      rpc.complete(m.name === 'basic.get-empty' ? null : m.args);
      return;
    }
    throw new UnexpectedFrame(
      `unexpected method ${m.name} on channel ${this.link.id}${rpc.current ? ` while waiting for a reply to ${rpc.current.name}` : ''}`,
      { replyCode: 505, channelId: this.link.id, classId: m.classId, methodId: m.methodId, methodName: m.name },
    );
  }

  private onContent(m: Method, props: BasicProperties, body: Buffer): void {
    const autoDecode = this.settings.autoDecode;
    if (m.name === 'basic.deliver') {
      const a = m.args; // basic.deliver's args have DeliveryInfo's shape: used as is, no copy
      const msg = Message.received(body, props, a, autoDecode, this.link.generation) as ReceivedMessage;
      const c = this.closer.consumers.get(a.consumerTag);
      this.link.host.stats.delivered++;
      if (diag.deliver.hasSubscribers) diagDeliver(this.link, msg, c?.queue, a.consumerTag);
      // a body that reaches no callback as a Buffer (no consumer, or decoded to a string) is free now
      if (!c || typeof msg.body === 'string') this.box?.giveBack(body);
      const link = this.link;
      if (c) {
        link.noteDelivery(msg.deliveryTag, c.noAck);
        noteDelivery(c, props); // a stream consumer resumes after this offset (stream-offset.ts)
        this.inbox.push(c, msg);
      } else if (this.closer.consumers.mustRequeue(a.consumerTag)) {
        link.noteDelivery(msg.deliveryTag, false);
        link.sendAck(ACK_METHOD.reject, msg.deliveryTag, 1); // requeue
      } else link.noteDelivery(msg.deliveryTag, this.closer.consumers.wasNoAck(a.consumerTag));
    } else if (m.name === 'basic.get-ok') {
      const a = m.args;
      const info = {
        deliveryTag: Number(a.deliveryTag),
        redelivered: a.redelivered,
        exchange: a.exchange,
        routingKey: a.routingKey,
        messageCount: a.messageCount,
      };
      const msg = Message.received(body, props, info, autoDecode, this.link.generation);
      this.link.host.stats.delivered++;
      this.link.noteDelivery(info.deliveryTag, false); // basicGet marks a noAck one settled
      if (this.link.rpc.accepts('basic.get-ok')) this.link.rpc.complete(msg);
    } else if (m.name === 'basic.return') {
      const a = m.args;
      const info = {
        deliveryTag: 0,
        redelivered: false,
        exchange: a.exchange,
        routingKey: a.routingKey,
        replyCode: a.replyCode,
        replyText: a.replyText,
      };
      const msg = Message.received(body, props, info, autoDecode, undefined) as ReceivedMessage;
      this.keepReturned(msg, body.length);
      this.link.host.stats.returned++;
      if (diag.return.hasSubscribers) diagReturn(this.link, msg);
      this.closer.publisherIfAny?.confirms?.returned(msg);
      queueMicrotask(() => {
        this.events.emit('return', msg);
        this.link.host.eventDispatched();
      });
    }
  }

  /** Keeps the latest returns, bounded in count and bytes (the newest is always kept). */
  private keepReturned(msg: ReceivedMessage, bytes: number): void {
    const list = this.returned;
    const sizes = (this.returnedSizes ??= []);
    // the user may have taken messages out of the list (amqpy style): forget their sizes too
    while (sizes.length > list.length) this.returnedBytes -= sizes.shift() as number;
    list.push(msg);
    sizes.push(bytes);
    this.returnedBytes += bytes;
    while (list.length > 1 && (list.length > RETURNS_MAX || this.returnedBytes > RETURNS_MAX_BYTES)) {
      list.shift();
      this.returnedBytes -= sizes.shift() as number;
    }
  }

  /** A body buffer of `size` bytes for content `m`: a recycled one for a consumer that asked for it. */
  private allocBody(size: number, m: Method): Buffer {
    if (size >= RECYCLE_MIN && m.name === 'basic.deliver' && this.closer.consumers.get(m.args.consumerTag)?.recycleBodies) {
      return this.inbox.pool.take(size);
    }
    return Buffer.allocUnsafe(size);
  }

  private callbackError(err: unknown, msg: ReceivedMessage): void {
    if (this.events.listenerCount('callbackError') > 0) this.events.emit('callbackError', err, msg);
    else process.emitWarning(`amqpts: a consumer callback on channel ${this.link.id} failed: ${String(err)}`, 'AmqptsCallbackError');
  }

  /** basic.cancel from the broker: the consumer is gone (its queue was deleted, say). */
  onServerCancel(a: MethodArgs['basic.cancel']): void {
    const tag = a.consumerTag;
    const c = this.closer.consumers.remove(tag);
    if (!a.nowait) this.link.control('basic.cancel-ok', { consumerTag: tag });
    const err = new ConsumerCancelled(
      `the server cancelled consumer ${tag}${c ? ` on queue '${c.queue}'` : ''} (queue deleted or failed over)`,
      { channelId: this.link.id, methodName: 'basic.cancel' },
    );
    queueMicrotask(() => {
      c?.onCancel?.(err);
      this.events.emit('cancel', tag, err);
      this.link.host.eventDispatched();
    });
  }
}
