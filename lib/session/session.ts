/**
 * Session: Azure uamqp's Session on AMQP 0.9.1. A session is one channel of a core Connection,
 * opened on first use: `incomingWindow` is the per-consumer prefetch (basic.qos) of the consumers
 * made on it, `outgoingWindow` its publisher-confirm window (confirm.select, at most that many
 * unconfirmed publishes), and `handleMax` the most links it may hold at once: senders, receivers,
 * request servers, the management reply receiver and one management sender per node. One more is
 * a SessionLinkLimitError before anything is sent. `onAttach(source, target, properties, error)`
 * runs when a link attaches or fails to: a sender's target, or a receiver's source, is checked with
 * a passive declare on a short-lived channel of its own (so a missing node does not close the
 * session's channel), a receiver's consume is its attach.
 *
 * `mgmtRequest` is uamqp's request/response to a named node (`$management` by default) on
 * RabbitMQ's direct reply-to, multiplexed by correlation id (rpc/client.ts); `serveRequests`
 * implements such a node (RabbitMQ has none on 0.9.1).
 */
import {
  type AddressNode,
  type AMQPError,
  ArgumentError,
  type Channel,
  ChannelClosed,
  Connection,
  type FieldValue,
  Message,
  parseNode,
} from '../core.js';
import { DEFAULT_RPC_TIMEOUT, DIRECT_REPLY_TO, RpcClient } from '../rpc/client.js';
import { checkInteger, checkMillis, checkSignal, withDeadline } from '../rpc/deadline.js';
import { type ManagementHandler, RpcServer, type ServeRequestsOptions } from '../rpc/server.js';
import { SessionLinkLimitError } from './errors.js';
import {
  type SessionLinkHost,
  type SessionLinkProperties,
  MessageReceiver,
  MessageSender,
  publishTarget,
  type SessionReceiverOptions,
  receiverCallback,
} from './links.js';
import { checkMgmtOptions, type MgmtRequestOptions, readStatus } from './management.js';

/** uamqp's on_attach: `error` is undefined when the link attached. A throw is reported as a process warning. */
export type SessionOnAttach = (source: string, target: string, properties: SessionLinkProperties, error: AMQPError | undefined) => void;

/** Options of `new Session(connection, options)`. */
export interface SessionOptions {
  /** Prefetch of each consumer made on the session (1..65535; default: not set, no limit). */
  incomingWindow?: number;
  /** Unconfirmed publishes at most; further publishes wait (default 0: no limit). */
  outgoingWindow?: number;
  /** Links the session may hold at once (default: no limit). */
  handleMax?: number;
  /** Called when a link attaches or fails to. */
  onAttach?: SessionOnAttach;
  /** Milliseconds for opening the channel and each link attach (default: the connection's callTimeout). */
  timeout?: number;
}

/** Options of `createSender`. */
export interface SessionSenderOptions {
  /** Publish as mandatory, so unroutable messages reject with NoRoute (default true). */
  mandatory?: boolean;
  /** Milliseconds for the attach (default: the session's timeout). */
  timeout?: number;
}

let sessions = 0;

/** See the file header. */
export class Session {
  /** The connection the session's channel belongs to. */
  readonly connection: Connection;
  /** The session's name, `session-<n>`, a prefix of its links' names. */
  readonly name: string;
  /** Prefetch of its consumers (undefined: no limit). */
  readonly incomingWindow: number | undefined;
  /** Its unconfirmed-publish window (0: no limit). */
  readonly outgoingWindow: number;
  /** The most links it may hold (undefined: no limit). */
  readonly handleMax: number | undefined;
  private readonly onAttach: SessionOnAttach | undefined;
  private readonly timeout: number;
  private opening: Promise<Channel> | null = null;
  private ch: Channel | null = null;
  private closeError: AMQPError | null = null;
  private destroying: Promise<void> | null = null;
  private readonly links = new Set<object>();
  private readonly closables = new Set<{ close(): Promise<void> }>();
  private mgmt: Promise<RpcClient> | null = null;
  private readonly mgmtNodes = new Map<string, Promise<void>>();
  private linkSeq = 0;
  private readonly host: SessionLinkHost = {
    channel: () => this.ready(),
    release: (link) => {
      this.links.delete(link);
      this.closables.delete(link as { close(): Promise<void> });
    },
  };

  /**
   * A session over `connection`; its channel opens on first use (or `open()`).
   * @throws ArgumentError for a connection that is not a Connection or bad options.
   */
  constructor(connection: Connection, opts: SessionOptions = {}) {
    if (!(connection instanceof Connection)) throw new ArgumentError('Session: connection must be a Connection');
    checkInteger(opts.incomingWindow, 'Session: incomingWindow', 1, 65535);
    checkInteger(opts.outgoingWindow, 'Session: outgoingWindow', 0, Number.MAX_SAFE_INTEGER);
    checkInteger(opts.handleMax, 'Session: handleMax', 1, 0xffffffff);
    checkMillis(opts.timeout, 'Session: timeout');
    if (opts.onAttach !== undefined && typeof opts.onAttach !== 'function') throw new ArgumentError('Session: onAttach must be a function');
    this.connection = connection;
    this.name = `session-${++sessions}`;
    this.incomingWindow = opts.incomingWindow;
    this.outgoingWindow = opts.outgoingWindow ?? 0;
    this.handleMax = opts.handleMax;
    this.onAttach = opts.onAttach;
    this.timeout = opts.timeout ?? (Number.isFinite(connection.callTimeout) ? connection.callTimeout : DEFAULT_RPC_TIMEOUT);
  }

  /** Links held now. */
  get linkCount(): number {
    return this.links.size;
  }

  /** The session's channel once open (undefined before). */
  get channel(): Channel | undefined {
    return this.ch ?? undefined;
  }

  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.destroying !== null;
  }

  /**
   * Opens the session's channel now (otherwise the first link or request does).
   * @throws ChannelClosed after destroy(); Timeout; the connection's error.
   */
  async open(): Promise<void> {
    await this.ready();
  }

  private ready(): Promise<Channel> {
    if (this.destroying) return Promise.reject(new ChannelClosed(`${this.name} is destroyed`));
    if (this.closeError) return Promise.reject(this.closeError);
    if (!this.opening) {
      const p = this.openChannel();
      this.opening = p;
      p.catch(() => {
        if (this.opening === p) this.opening = null;
      });
    }
    return this.opening;
  }

  private async openChannel(): Promise<Channel> {
    const timeout = this.timeout;
    const ch = await this.connection.channel(undefined, { timeout });
    try {
      if (this.incomingWindow !== undefined) await ch.basicQos({ prefetchCount: this.incomingWindow, timeout });
      await ch.confirmSelect({ maxUnconfirmed: this.outgoingWindow, timeout });
    } catch (err) {
      await ch.close().catch(() => undefined);
      throw err;
    }
    ch.once('close', (err) => {
      this.closeError = err ?? new ChannelClosed(`the channel of ${this.name} closed`, { channelId: ch.channelId });
    });
    this.ch = ch;
    return ch;
  }

  private reserve(what: string): object {
    if (this.destroying) throw new ChannelClosed(`${this.name} is destroyed`);
    if (this.handleMax !== undefined && this.links.size >= this.handleMax) {
      throw new SessionLinkLimitError(`${this.name}: ${what} would be link ${this.links.size + 1}, but handleMax is ${this.handleMax}`);
    }
    const token = {};
    this.links.add(token);
    return token;
  }

  private adopt(token: object, link: { close(): Promise<void> }): void {
    this.links.delete(token);
    if (this.destroying) {
      void link.close().catch(() => undefined);
      return;
    }
    this.links.add(link);
    this.closables.add(link);
  }

  private attached(source: string, target: string, properties: SessionLinkProperties, error: unknown): void {
    if (!this.onAttach) return;
    try {
      this.onAttach(source, target, properties, error as AMQPError | undefined);
    } catch (err) {
      process.emitWarning(`amqpts: the onAttach callback of ${this.name} failed: ${String(err)}`, 'AmqptsCallbackError');
    }
  }

  /** Checks that a node exists, with a passive declare on a channel of its own (a 404 closes only that one). */
  private async checkNode(node: AddressNode, timeout: number): Promise<void> {
    const tmp = await this.connection.channel(undefined, { timeout });
    try {
      if (node.kind === 'queue') await tmp.queueDeclare(node.queue, { passive: true, timeout });
      else if (node.exchange !== '') await tmp.exchangeDeclare(node.exchange, 'direct', { passive: true, timeout });
    } finally {
      void tmp.close().catch(() => undefined);
    }
  }

  /**
   * Attaches a sender to `target` (`/queues/q`, `q`, `/exchanges/x`, `/exchanges/x/key`): checks
   * that the node exists, then `onAttach(name, target, { exchange, routingKey, mandatory }, error)`.
   * @throws AddressError for a bad address; SessionLinkLimitError past handleMax; NotFound (404)
   *   for a missing node; ChannelClosed after destroy(); Timeout.
   */
  async createSender(target: string, opts: SessionSenderOptions = {}): Promise<MessageSender> {
    checkMillis(opts.timeout, 'createSender: timeout');
    if (opts.mandatory !== undefined && typeof opts.mandatory !== 'boolean')
      throw new ArgumentError('createSender: mandatory must be a boolean');
    const node = parseNode(target);
    const token = this.reserve(`a sender to ${target}`);
    const name = `${this.name}-sender-${++this.linkSeq}`;
    const where = publishTarget(node, undefined);
    const props: SessionLinkProperties = { exchange: where.exchange, routingKey: where.routingKey, mandatory: opts.mandatory ?? true };
    try {
      await this.ready();
      await this.checkNode(node, opts.timeout ?? this.timeout);
    } catch (err) {
      this.links.delete(token);
      this.attached(name, target, props, err);
      throw err;
    }
    const sender = new MessageSender(this.host, name, target, node, opts.mandatory ?? true);
    this.adopt(token, sender);
    this.attached(name, target, props, undefined);
    return sender;
  }

  /**
   * Attaches a receiver to `source`: a queue is consumed as it is (it must exist); an exchange
   * (`/exchanges/x[/key]`) gets a private queue bound with the key (`#` without one). Messages go
   * to `opts.callback`; see SessionReceiverOptions for acking. Then `onAttach(source, consumerTag,
   * { queue, consumerTag, prefetch }, error)`.
   * @throws ArgumentError without a callback; AddressError; SessionLinkLimitError past handleMax;
   *   NotFound (404) for a missing node; AccessRefused (403) or ResourceLocked (405); Timeout.
   */
  async createReceiver(source: string, opts: SessionReceiverOptions): Promise<MessageReceiver> {
    if (typeof opts?.callback !== 'function') throw new ArgumentError('createReceiver: options.callback (a function) is required');
    if (opts.autoAccept !== undefined && typeof opts.autoAccept !== 'boolean')
      throw new ArgumentError('createReceiver: autoAccept must be a boolean');
    if (opts.onError !== undefined && typeof opts.onError !== 'function')
      throw new ArgumentError('createReceiver: onError must be a function');
    checkMillis(opts.timeout, 'createReceiver: timeout');
    checkSignal(opts.signal, 'createReceiver: signal');
    const node = parseNode(source);
    const token = this.reserve(`a receiver from ${source}`);
    const timeout = opts.timeout ?? this.timeout;
    let queue = node.kind === 'queue' ? node.queue : '';
    let receiver: MessageReceiver | undefined;
    try {
      const ch = await this.ready();
      await this.checkNode(node, timeout);
      if (node.kind === 'exchange') {
        queue = (await ch.queueDeclare('', { exclusive: true, autoDelete: true, timeout })).queue;
        await ch.queueBind(queue, { exchange: node.exchange, routingKey: node.routingKey ?? '#', timeout });
      }
      const tag = await ch.basicConsume(queue, {
        callback: receiverCallback(opts),
        onCancel: () => void receiver?.close().catch(() => undefined),
        timeout,
        signal: opts.signal,
      });
      receiver = new MessageReceiver(this.host, ch, source, queue, tag);
    } catch (err) {
      this.links.delete(token);
      this.attached(source, '', { queue }, err);
      throw err;
    }
    this.adopt(token, receiver);
    this.attached(source, receiver.name, { queue, consumerTag: receiver.name, prefetch: this.incomingWindow ?? 0 }, undefined);
    return receiver;
  }

  /** The management links for `node`: the shared reply receiver, and a checked sender per node. */
  private managementLinks(node: AddressNode, key: string, timeout: number): Promise<RpcClient> {
    if (!this.mgmt) {
      const token = this.reserve('the management receiver');
      const p = this.ready().then((ch) => RpcClient.open(ch, { timeout }));
      this.mgmt = p;
      p.then(
        (c) => {
          this.adopt(token, c);
          this.attached(DIRECT_REPLY_TO, c.consumerTag, { consumerTag: c.consumerTag }, undefined);
        },
        (err: unknown) => {
          this.links.delete(token);
          if (this.mgmt === p) this.mgmt = null;
          this.attached(DIRECT_REPLY_TO, '', {}, err);
        },
      );
    }
    let s = this.mgmtNodes.get(key);
    if (!s) {
      const token = this.reserve(`the management sender to ${key}`);
      const name = `${this.name}-mgmt-${key}`;
      s = this.checkNode(node, timeout).then(
        () => this.attached(name, key, { node: key }, undefined),
        (err: unknown) => {
          this.links.delete(token);
          this.mgmtNodes.delete(key);
          this.attached(name, key, { node: key }, err);
          throw err;
        },
      );
      this.mgmtNodes.set(key, s);
    }
    const client = this.mgmt;
    return Promise.all([client, s]).then(([c]) => c);
  }

  /**
   * uamqp's mgmt_request: sends `message` to node `opts.node` (default `$management`, a queue, or
   * `/exchanges/x/key`) with the application headers `operation` and `type` (`opType`), a
   * correlation id and direct reply-to, and resolves with the response. Many may be in flight.
   * @throws ArgumentError (before anything is sent) for a message that is not a Message, an
   *   operation that is not a non-empty string, or other bad options; AddressError for a bad node;
   *   ManagementError when the response's status is outside 2xx; Timeout when no response comes
   *   within `timeout` (default: the connection's callTimeout); NotFound (404) when the node does
   *   not exist; SessionLinkLimitError when its management links would exceed handleMax;
   *   RpcReplyLost / ChannelClosed when the session's channel goes away meanwhile.
   */
  async mgmtRequest(message: Message<unknown>, operation: string, opts: MgmtRequestOptions = {}): Promise<Message> {
    if (!(message instanceof Message)) throw new ArgumentError('mgmtRequest: message must be a Message');
    if (typeof operation !== 'string' || operation === '') {
      throw new ArgumentError(
        `mgmtRequest: operation must be a non-empty string, got ${typeof operation === 'string' ? "''" : typeof operation}`,
      );
    }
    const o = checkMgmtOptions(opts);
    const node = parseNode(o.node);
    const timeout = opts.timeout ?? this.timeout;
    const started = Date.now();
    const client = await withDeadline(
      this.managementLinks(node, o.node, timeout),
      { timeout, signal: opts.signal },
      `mgmtRequest '${operation}'`,
    );
    const headers: Record<string, FieldValue> = { ...message.properties.applicationHeaders, operation: o.encode(operation) };
    if (opts.opType !== undefined) headers['type'] = o.encode(opts.opType);
    const request = new Message<unknown>(message.body, { ...message.properties, applicationHeaders: headers });
    const where = publishTarget(node, message.subject);
    const remaining = Math.max(1, timeout - (Date.now() - started));
    const reply = await client.call(where.routingKey, request, { exchange: where.exchange, timeout: remaining, signal: opts.signal });
    readStatus(reply, o);
    return reply;
  }

  /**
   * Implements node `node` (a queue, which must exist unless `opts.declare`) on this session's
   * channel: see `serveRequests()` in the rpc layer. Holds one link until the server closes.
   * @throws as `serveRequests()`; SessionLinkLimitError past handleMax; ChannelClosed after destroy().
   */
  async serveRequests(node: string, handler: ManagementHandler, opts: ServeRequestsOptions = {}): Promise<RpcServer> {
    const n = parseNode(node);
    if (n.kind !== 'queue') throw new ArgumentError(`serveRequests: a node is served from a queue, not ${node}`);
    const token = this.reserve(`a server of ${node}`);
    let server: RpcServer;
    try {
      const ch = await this.ready();
      server = await RpcServer.serveRequests(ch, n.queue, handler, { ...opts, timeout: opts.timeout ?? this.timeout });
    } catch (err) {
      this.links.delete(token);
      this.attached(node, '', { queue: n.queue }, err);
      throw err;
    }
    this.adopt(token, server);
    void server.ended.then(() => this.host.release(server));
    this.attached(node, server.consumerTag, { queue: n.queue, consumerTag: server.consumerTag }, undefined);
    return server;
  }

  /**
   * Closes the management links (pending requests reject with ChannelClosed), every link of the
   * session, and its channel. Calling it again returns the same promise.
   */
  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    const mgmt = this.mgmt;
    this.mgmt = null;
    if (mgmt) await mgmt.then((c) => c.close()).catch(() => undefined);
    for (const link of [...this.closables]) await link.close().catch(() => undefined);
    this.closables.clear();
    this.links.clear();
    this.mgmtNodes.clear();
    const ch = this.ch ?? (this.opening ? await this.opening.catch(() => null) : null);
    if (ch?.isOpen) await ch.close().catch(() => undefined);
  }
}
