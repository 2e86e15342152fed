/**
 * The calling side of request/response on RabbitMQ's direct reply-to (`amq.rabbitmq.reply-to`):
 * one RpcClient owns one reply consumer on one channel and multiplexes any number of calls over it
 * by correlation id.
 *
 * Correlation ids are `<random prefix>.<counter>`, unique per client and never reused, so a reply
 * can only ever complete the call it was sent for. A reply whose call has already ended (timed
 * out, aborted, failed) is dropped and counted in `stats.lateReplies`; a reply with an id this
 * client never issued is dropped and counted in `stats.unknownReplies` (`droppedReplies` is their
 * sum). Direct reply-to cannot tell a caller that a server died, so every call has a deadline
 * (default 60 s) and ends in `Timeout` at it. When the reply channel closes, reopens or loses its
 * connection after a request went out, the broker can no longer deliver that reply: the call ends
 * at once in `RpcReplyLost` instead of waiting for its deadline.
 */
import { randomBytes } from 'node:crypto';
import {
  type AMQPError,
  ArgumentError,
  Channel,
  ChannelClosed,
  Connection,
  Message,
  type MessageBody,
  PublishReturned,
  type Timeout,
  type ReceivedMessage,
} from '../core.js';
import { armDeadline, checkMillis, checkSignal, type DeadlineOptions, withDeadline } from './deadline.js';
import { RpcRemoteError, RpcReplyLost } from './errors.js';

/** RabbitMQ's direct reply-to pseudo-queue. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
/** Application header by which a server says its handler failed (the value is the description). */
export const RPC_ERROR_HEADER = 'x-amqpts-rpc-error';
/** Default deadline of a call, in milliseconds. */
export const DEFAULT_RPC_TIMEOUT = 60_000;

/** Options of `rpcCall` / `RpcClient.call`. */
export interface RpcCallOptions extends DeadlineOptions {
  /** Milliseconds to wait for the reply before `Timeout` (default 60000; must be finite). */
  timeout?: number | undefined;
  /** Ends the call with `Timeout` (cause: the abort reason) when it aborts. */
  signal?: AbortSignal | undefined;
  /** Exchange to publish the request to (default `''`: the queue named by the first argument). */
  exchange?: string;
  /** Publish as mandatory, so an unroutable request fails at once with NoRoute (default true). */
  mandatory?: boolean;
  /**
   * Set the request's `expiration` to the timeout (default true, unless the message has its own),
   * so a request nobody took before the caller gave up is not handled later for nothing.
   */
  expire?: boolean;
}

/** Counters of an RpcClient. */
export interface RpcClientStats {
  /** Requests sent (or attempted). */
  calls: number;
  /** Replies that completed their call. */
  replies: number;
  /** Calls that ended in `Timeout` (deadline or abort). */
  timeouts: number;
  /** Replies dropped because their call had already ended (late, after a timeout, abort or failure). */
  lateReplies: number;
  /** Replies dropped because their correlation id was missing or not issued by this client. */
  unknownReplies: number;
}

/** The client `rpcCall` shares per Connection or Channel. */
const shared = new WeakMap<Connection | Channel, Promise<RpcClient>>();

interface PendingCall {
  resolve: (m: Message) => void;
  reject: (e: unknown) => void;
  disarm: () => void;
  /** The request was written (or, on a confirm channel, confirmed): its reply depends on the current reply consumer. */
  written: boolean;
}

/** The body of `message` as a request body: a Message's body, or the value itself. */
function toRequest(message: Message<unknown> | MessageBody, what: string): Message<unknown> {
  if (message instanceof Message) return message;
  try {
    return new Message<unknown>(message);
  } catch (err) {
    throw new ArgumentError(`${what}: the request must be a Message or a message body: ${(err as Error).message}`, { cause: err });
  }
}

/** See the file header. Create one with `RpcClient.open(connectionOrChannel)`, or use `rpcCall()`. */
export class RpcClient {
  /** The channel the reply consumer and the requests use. */
  readonly channel: Channel;
  /** Counters; `droppedReplies` is `lateReplies + unknownReplies`. */
  readonly stats: RpcClientStats = { calls: 0, replies: 0, timeouts: 0, lateReplies: 0, unknownReplies: 0 };
  private readonly pending = new Map<string, PendingCall>();
  private readonly prefix = `${randomBytes(8).toString('hex')}.`;
  private seq = 0;
  private consumerTag_ = '';
  private closedBy: AMQPError | null = null;
  private readonly detach: Array<() => void> = [];

  private constructor(
    channel: Channel,
    private readonly ownsChannel: boolean,
    private readonly connection: Connection | undefined,
  ) {
    this.channel = channel;
  }

  /**
   * Opens a client: on a Connection, over a channel of its own; on a Channel, on that channel
   * (which must not already consume direct reply-to).
   * @throws ArgumentError for another target; Timeout; the channel's or connection's error;
   *   PreconditionFailed (406) when the channel already has a direct reply-to consumer.
   */
  static async open(target: Connection | Channel, opts: { timeout?: number } = {}): Promise<RpcClient> {
    checkMillis(opts.timeout, 'RpcClient.open: timeout');
    if (!(target instanceof Connection) && !(target instanceof Channel)) {
      throw new ArgumentError('RpcClient.open: the target must be a Connection or a Channel');
    }
    const own = target instanceof Connection;
    const ch = own ? await target.channel(undefined, { timeout: opts.timeout }) : target;
    const client = new RpcClient(ch, own, own ? target : undefined);
    try {
      await client.start(opts.timeout);
    } catch (err) {
      if (own) await ch.close().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private async start(timeout: number | undefined): Promise<void> {
    const ch = this.channel;
    this.consumerTag_ = await ch.basicConsume(DIRECT_REPLY_TO, {
      noAck: true,
      callback: (msg) => this.onReply(msg),
      onCancel: (err) => this.shutdown(new RpcReplyLost(`the reply consumer was cancelled: ${err.message}`, { cause: err })),
      timeout,
    });
    const onReturn = (msg: ReceivedMessage): void => this.onReturn(msg);
    const onChannelError = (err: AMQPError): void => this.replyPathLost(err);
    const onReopen = (): void => this.replyPathLost(undefined);
    const onClose = (err: AMQPError | undefined): void =>
      this.shutdown(new RpcReplyLost(`the reply channel ${ch.channelId} closed${err ? `: ${err.message}` : ''}`, { cause: err }));
    ch.on('return', onReturn);
    ch.on('channelError', onChannelError);
    ch.on('reopen', onReopen);
    ch.on('close', onClose);
    this.detach.push(() => {
      ch.off('return', onReturn);
      ch.off('channelError', onChannelError);
      ch.off('reopen', onReopen);
      ch.off('close', onClose);
    });
    const conn = this.connection;
    if (conn) {
      const onLost = (err: AMQPError): void => this.replyPathLost(err);
      conn.on('disconnected', onLost);
      this.detach.push(() => conn.off('disconnected', onLost));
    }
  }

  /** The tag of the direct reply-to consumer. */
  get consumerTag(): string {
    return this.consumerTag_;
  }

  /** Calls waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Replies dropped: `stats.lateReplies + stats.unknownReplies`. */
  get droppedReplies(): number {
    return this.stats.lateReplies + this.stats.unknownReplies;
  }

  /** True once the client is closed (by `close()` or because its channel closed for good). */
  get closed(): boolean {
    return this.closedBy !== null;
  }

  /**
   * Sends `message` to `queue` (or, with `exchange`, to that exchange with routing key `queue`)
   * with `replyTo` direct reply-to and a fresh correlation id (any `correlationId` or `replyTo`
   * of the message is replaced), and resolves with the reply.
   * @throws ArgumentError for bad arguments (before sending); Timeout at the deadline or on abort;
   *   PublishReturned (a NoRoute) when no queue took the request; RpcRemoteError when the server's
   *   handler failed; RpcReplyLost when the reply channel closed, reopened or lost its connection
   *   after the request went out; the publish's error (PublishNacked, NotFound for a missing
   *   exchange, the channel's or connection's error).
   */
  call(queue: string, message: Message<unknown> | MessageBody, opts: RpcCallOptions = {}): Promise<Message> {
    try {
      if (typeof queue !== 'string') throw new ArgumentError(`rpcCall: the queue must be a string, got ${typeof queue}`);
      checkMillis(opts.timeout, 'rpcCall: timeout');
      checkSignal(opts.signal, 'rpcCall: signal');
      if (opts.exchange !== undefined && typeof opts.exchange !== 'string') throw new ArgumentError('rpcCall: exchange must be a string');
      if (queue === '' && !opts.exchange) throw new ArgumentError('rpcCall: the queue cannot be empty');
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closedBy) return Promise.reject(this.closedBy);
    let request: Message<unknown>;
    try {
      request = toRequest(message, 'rpcCall');
    } catch (err) {
      return Promise.reject(err);
    }
    const timeout = opts.timeout ?? DEFAULT_RPC_TIMEOUT;
    const id = `${this.prefix}${++this.seq}`;
    const expiration = request.properties.expiration ?? ((opts.expire ?? true) ? String(Math.ceil(timeout)) : undefined);
    const out = new Message<unknown>(request.body, { ...request.properties, replyTo: DIRECT_REPLY_TO, correlationId: id, expiration });
    return new Promise<Message>((resolve, reject) => {
      const p: PendingCall = { resolve, reject, disarm: () => undefined, written: false };
      this.pending.set(id, p);
      this.stats.calls++;
      p.disarm = armDeadline({ timeout, signal: opts.signal }, `rpcCall to '${queue}'`, (err: Timeout) => {
        if (this.pending.delete(id)) {
          this.stats.timeouts++;
          reject(err);
        }
      });
      if (!this.pending.has(id)) return; // the signal had aborted already
      this.channel.basicPublish(out, { exchange: opts.exchange ?? '', routingKey: queue, mandatory: opts.mandatory ?? true, timeout }).then(
        () => {
          p.written = true;
        },
        (err: unknown) => this.fail(id, err),
      );
    });
  }

  private fail(id: string, err: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.disarm();
    p.reject(err);
  }

  private onReply(msg: Message): void {
    const id = msg.properties.correlationId;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || !p) {
      const n = id?.startsWith(this.prefix) ? Number(id.slice(this.prefix.length)) : Number.NaN;
      if (Number.isInteger(n) && n >= 1 && n <= this.seq) this.stats.lateReplies++;
      else this.stats.unknownReplies++;
      return;
    }
    this.pending.delete(id);
    p.disarm();
    this.stats.replies++;
    const e = msg.properties.applicationHeaders?.[RPC_ERROR_HEADER];
    if (e === undefined) p.resolve(msg);
    else p.reject(new RpcRemoteError(`the server failed: ${Buffer.isBuffer(e) ? e.toString('utf8') : String(e)}`, msg));
  }

  /** A mandatory request came back unroutable: its call fails now (and the channel forgets the return). */
  private onReturn(msg: ReceivedMessage): void {
    const id = msg.properties.correlationId;
    if (id === undefined || !this.pending.has(id)) return;
    const kept = this.channel.returnedMessages;
    const i = kept.indexOf(msg);
    if (i >= 0) kept.splice(i, 1);
    const info = msg.deliveryInfo;
    const code = info?.replyCode ?? 312;
    const text = info?.replyText ?? 'NO_ROUTE';
    this.fail(
      id,
      new PublishReturned(
        `${code} ${text}: no queue took the request to exchange '${info?.exchange ?? ''}' with routing key '${info?.routingKey ?? ''}'`,
        { replyCode: code, replyText: text, classId: 60, methodId: 50, methodName: 'basic.return', channelId: this.channel.channelId },
        msg,
      ),
    );
  }

  /** The reply consumer changed incarnation: replies to requests written before can no longer arrive. */
  private replyPathLost(err: AMQPError | undefined): void {
    for (const [id, p] of [...this.pending]) {
      if (!p.written) continue;
      this.fail(
        id,
        new RpcReplyLost(
          `the reply to request ${id} can no longer arrive: channel ${this.channel.channelId} ${err ? `failed (${err.message})` : 'reopened'} after it was sent`,
          { cause: err, channelId: this.channel.channelId },
        ),
      );
    }
  }

  private shutdown(err: AMQPError): void {
    if (this.closedBy) return;
    this.closedBy = err;
    for (const f of this.detach.splice(0)) f();
    for (const id of [...this.pending.keys()]) this.fail(id, err);
    const target = this.connection ?? this.channel;
    shared.get(target)?.then(
      (c) => {
        if (c === this) shared.delete(target);
      },
      () => undefined,
    );
  }

  /**
   * Closes the client: pending calls reject with ChannelClosed, the reply consumer is cancelled
   * and a channel the client opened is closed. Calling it again does nothing.
   */
  async close(opts: { timeout?: number } = {}): Promise<void> {
    if (this.closedBy) return;
    this.shutdown(new ChannelClosed('the RPC client was closed', { channelId: this.channel.channelId }));
    if (!this.channel.isOpen) return;
    if (this.ownsChannel) await this.channel.close({ timeout: opts.timeout }).catch(() => undefined);
    else await this.channel.basicCancel(this.consumerTag_, { timeout: opts.timeout }).catch(() => undefined);
  }
}

/**
 * The RpcClient `rpcCall` shares for `target` (opened on first use; a closed one is replaced).
 * @throws as `RpcClient.open`.
 */
export function rpcClient(target: Connection | Channel, opts: DeadlineOptions = {}): Promise<RpcClient> {
  let p = shared.get(target);
  if (!p) {
    p = RpcClient.open(target, opts.timeout === undefined ? {} : { timeout: opts.timeout });
    shared.set(target, p);
    const mine = p;
    p.then(
      (c) => {
        if (c.closed && shared.get(target) === mine) shared.delete(target);
      },
      () => {
        if (shared.get(target) === mine) shared.delete(target);
      },
    );
  }
  return withDeadline(p, opts, 'rpcCall: opening the reply consumer');
}

/**
 * One request/response call over the client shared by `target` (a Connection, which gets a
 * channel of its own for replies, or a Channel): see `RpcClient.call`. The deadline covers
 * opening the shared client too.
 * @throws as `RpcClient.call`.
 */
export async function rpcCall(
  target: Connection | Channel,
  queue: string,
  message: Message<unknown> | MessageBody,
  opts: RpcCallOptions = {},
): Promise<Message> {
  checkMillis(opts.timeout, 'rpcCall: timeout');
  const timeout = opts.timeout ?? DEFAULT_RPC_TIMEOUT;
  const started = Date.now();
  const client = await rpcClient(target, { timeout, signal: opts.signal });
  return client.call(queue, message, { ...opts, timeout: Math.max(1, timeout - (Date.now() - started)) });
}
