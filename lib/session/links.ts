/**
 * Links of a Session, as uamqp's MessageSender and MessageReceiver take a session: a sender is a
 * publisher to one node over the session's confirm-mode channel, a receiver is a consumer of one
 * node with the session's incoming window as its prefetch. Both hold one of the session's
 * `handleMax` link handles until closed.
 */
import { type AddressNode, ChannelClosed, type Channel, Message, type MessageBody } from '../core.js';
import { checkMillis, checkSignal, type DeadlineOptions } from '../rpc/deadline.js';

/** Link properties as `onAttach` reports them. */
export type SessionLinkProperties = Readonly<Record<string, string | number | boolean>>;

/** What a link needs from its session (a Session provides it; links are made by `createSender` / `createReceiver`). */
export interface SessionLinkHost {
  /** The session's channel, opened (or the session's error). */
  channel(): Promise<Channel>;
  /** The link is gone: its handle is free again. */
  release(link: object): void;
}

/** Where a node sends: exchange and routing key (the subject, or '', for an exchange without a key). */
export function publishTarget(node: AddressNode, subject: string | undefined): { exchange: string; routingKey: string } {
  if (node.kind === 'queue') return { exchange: '', routingKey: node.queue };
  return { exchange: node.exchange, routingKey: node.routingKey ?? subject ?? '' };
}

/** Options of `MessageSender.send`. */
export interface SessionSendOptions extends DeadlineOptions {
  /** Publish as mandatory: an unroutable message rejects with NoRoute (default: the sender's setting, true). */
  mandatory?: boolean;
}

/** A sender link (uamqp's MessageSender): publishes to one node over the session's channel. */
export class MessageSender {
  /** The link name (`<session>-sender-<n>`). */
  readonly name: string;
  /** The target address as given. */
  readonly target: string;
  /** The node the target names. */
  readonly node: AddressNode;
  private isClosed = false;

  /** Created by `Session.createSender()`. */
  constructor(
    private readonly host: SessionLinkHost,
    name: string,
    target: string,
    node: AddressNode,
    private readonly mandatory: boolean,
  ) {
    this.name = name;
    this.target = target;
    this.node = node;
  }

  /** True once closed (by `close()` or the session's destroy). */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Publishes `message` (a Message or a body) to the target and resolves on the broker's confirm.
   * For an exchange target without a routing key, the message's subject is the routing key.
   * @throws ChannelClosed when the sender or its session is closed; PublishNacked; PublishReturned
   *   (a NoRoute) for an unroutable mandatory message; Timeout (while the outgoing window is full
   *   or the connection recovers); ArgumentError for a bad body; the channel's error.
   */
  async send(message: Message<unknown> | MessageBody, opts: SessionSendOptions = {}): Promise<void> {
    checkMillis(opts.timeout, 'MessageSender.send: timeout');
    checkSignal(opts.signal, 'MessageSender.send: signal');
    if (this.isClosed) throw new ChannelClosed(`sender ${this.name} is closed`);
    const msg = message instanceof Message ? message : new Message<unknown>(message);
    const ch = await this.host.channel();
    const where = publishTarget(this.node, msg.subject);
    await ch.basicPublish(msg, { ...where, mandatory: opts.mandatory ?? this.mandatory, timeout: opts.timeout, signal: opts.signal });
  }

  /** Closes the link and frees its handle (publishes in flight still complete). Closing again does nothing. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.host.release(this);
  }
}

/** A receiver callback: may be async. With `autoAccept`, its success acks the message and a throw rejects it. */
export type SessionReceiverCallback = (message: Message) => void | Promise<void>;

/** Options of `Session.createReceiver`. */
export interface SessionReceiverOptions extends DeadlineOptions {
  /** Called with every message. */
  callback: SessionReceiverCallback;
  /**
   * Ack each message once the callback returns (or its promise resolves), and reject it without
   * requeue (dead-lettered if the queue says so) when it throws (default true). With false, the
   * callback settles messages itself (`msg.ack()`, `msg.reject()`).
   */
  autoAccept?: boolean;
  /** Told about every callback failure (default: a process warning). */
  onError?: (err: unknown, message: Message) => void;
}

/** A receiver link (uamqp's MessageReceiver): a consumer of one node on the session's channel. */
export class MessageReceiver {
  /** The source address as given. */
  readonly source: string;
  /** The queue consumed (for an exchange source: a private queue bound to it). */
  readonly queue: string;
  /** The consumer tag (the link name). */
  readonly name: string;
  private isClosed = false;

  /** Created by `Session.createReceiver()`. */
  constructor(
    private readonly host: SessionLinkHost,
    private readonly channel: Channel,
    source: string,
    queue: string,
    consumerTag: string,
  ) {
    this.source = source;
    this.queue = queue;
    this.name = consumerTag;
  }

  /** True once closed (by `close()`, the session's destroy, or the broker cancelling the consumer). */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Cancels the consumer (unacked messages go back to the queue when the channel closes) and frees
   * the handle. Closing again does nothing.
   * @throws Timeout; the channel's error.
   */
  async close(opts: DeadlineOptions = {}): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.host.release(this);
    if (this.channel.isOpen) await this.channel.basicCancel(this.name, { timeout: opts.timeout, signal: opts.signal });
  }
}

/** The consumer callback of a receiver: runs the user's callback and settles per `autoAccept`. */
export function receiverCallback(opts: SessionReceiverOptions): (msg: Message) => Promise<void> {
  const auto = opts.autoAccept ?? true;
  const report = (err: unknown, msg: Message): void => {
    if (opts.onError) opts.onError(err, msg);
    else process.emitWarning(`amqpts: a session receiver callback failed: ${String(err)}`, 'AmqptsCallbackError');
  };
  return async (msg) => {
    try {
      await opts.callback(msg);
    } catch (err) {
      if (auto) {
        try {
          msg.reject({ requeue: false });
        } catch {
          // stale: the broker redelivers it
        }
      }
      report(err, msg);
      return;
    }
    if (auto) {
      try {
        msg.ack();
      } catch (err) {
        report(err, msg);
      }
    }
  };
}
