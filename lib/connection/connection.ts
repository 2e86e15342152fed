/**
 * Connection: the handshake, channel-0 methods, channel ids, frame demultiplexing and close.
 *
 * Handshake: protocol header -> start / start-ok (SASL PLAIN, AMQPLAIN or EXTERNAL, client
 * properties with our capabilities) -> [secure / secure-ok] -> tune / tune-ok (channel_max and
 * frame_max: the lower non-zero value; heartbeat: ours if set, else the server's) -> open /
 * open-ok. The whole of it (TCP, TLS, handshake) runs under `connectTimeout`. A broker refusing
 * us closes with a reply code, mapped to its typed error (403 AccessRefused for bad credentials,
 * 530 NotAllowed for an unknown or forbidden vhost).
 *
 * Failure: when the transport dies (socket error or close, heartbeat silence, malformed frame,
 * server connection.close) every channel settles all its pending promises with that typed error
 * at once, and 'close' is emitted with it. The connection never emits 'error'.
 */
import { EventEmitter } from 'node:events';
import {
  AMQPError, ArgumentError, ChannelClosed, ConnectionError, ConnectionLost, IrrecoverableConnectionError, ResourceError, errorForCode,
} from '../errors.js';
import { Channel } from '../channel/channel.js';
import type { ChannelHost } from '../channel/channel-core.js';
import { encodeMethodFrame } from '../protocol/content.js';
import { FRAME_HEARTBEAT, FRAME_METHOD, PROTOCOL_HEADER } from '../protocol/frame.js';
import { decodeMethod, METHOD_NAME, type Method, type MethodInit, type MethodName } from '../protocol/generated/methods.js';
import { Reader, Writer, type FieldTable } from '../protocol/primitives.js';
import { openSocket } from '../transport/socket.js';
import { Transport } from '../transport/transport.js';
import { VERSION } from '../version.js';
import { arm, checkTimeout, deferred, waitWith, type CallOptions, type Deferred } from '../util/wait.js';
import { resolveOptions, type ConnectionOptions, type ResolvedOptions } from './options.js';

/** Events a connection emits. It never emits 'error'. */
export interface ConnectionEvents {
  /** The connection closed: `err` is undefined after a clean `close()`, else the typed cause. */
  close: [err: AMQPError | undefined];
  /** The broker blocked publishing (memory or disk alarm). */
  blocked: [reason: string];
  /** The broker unblocked publishing. */
  unblocked: [];
}

type State = 'connecting' | 'open' | 'closing' | 'closed';

interface Waiter0 { names: readonly MethodName[]; d: Deferred<Method> }

/** The capabilities amqpts implements and advertises in connection.start-ok. */
const CLIENT_CAPABILITIES: FieldTable = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
};

/** An AMQP connection. Create one with `Connection.connect()`. */
export class Connection extends EventEmitter<ConnectionEvents> implements ChannelHost {
  /** Open channels by id. */
  readonly channels = new Map<number, Channel>();
  /** The server's properties from connection.start (product, version, capabilities...). */
  serverProperties: FieldTable = {};
  /** Negotiated highest channel id. */
  channelMax = 0;
  /** Negotiated largest frame size in bytes. */
  frameMax = 0;
  /** Negotiated heartbeat interval in seconds (0 = none). */
  heartbeat = 0;
  /** Default timeout (ms) of channel calls. */
  readonly callTimeout: number;
  /** @internal */ transport: Transport | null = null;
  /** @internal */ closeError: AMQPError | null = null;
  /** True while the broker blocks publishing; see `blockedReason`. */
  blocked = false;
  /** The reason the broker gave for blocking, if blocked. */
  blockedReason = '';
  private state: State = 'connecting';
  private readonly opts: ResolvedOptions;
  private readonly hooks: { onBlocked: ((reason: string) => void) | undefined; onUnblocked: (() => void) | undefined };
  private waiter0: Waiter0 | null = null;
  private unblockWaiters: Deferred<void>[] = [];
  private eventWaiters: Deferred<void>[] = [];
  private nextChannelId = 1;
  private closing: Promise<void> | null = null;
  private serverCloseError: AMQPError | null = null;

  private constructor(opts: ResolvedOptions, hooks: ConnectionOptions) {
    super();
    this.opts = opts;
    this.callTimeout = opts.callTimeout;
    this.hooks = { onBlocked: hooks.onBlocked, onUnblocked: hooks.onUnblocked };
  }

  /**
   * Connects and runs the AMQP handshake. Accepts a URL, options, or both (options win).
   * Defaults: `amqp://guest:guest@localhost:5672/`.
   * @throws ArgumentError for invalid options; ConnectionLost when the host cannot be reached or
   *   drops the connection; Timeout after `connectTimeout`; AccessRefused (403) for bad
   *   credentials; NotAllowed (530) or InvalidPath (402) for an unknown or forbidden vhost.
   */
  static async connect(urlOrOptions?: string | ConnectionOptions, options: ConnectionOptions = {}): Promise<Connection> {
    const input: ConnectionOptions = typeof urlOrOptions === 'string' ? { ...options, url: urlOrOptions } : { ...urlOrOptions, ...options };
    const conn = new Connection(resolveOptions(input), input);
    await conn.open(input);
    return conn;
  }

  /** True once the handshake completed and until the connection closes. */
  get connected(): boolean { return this.state === 'open'; }

  /** The server's advertised capabilities (`serverProperties.capabilities`). */
  get serverCapabilities(): FieldTable {
    const c = this.serverProperties['capabilities'];
    return c !== null && typeof c === 'object' && !Array.isArray(c) && !Buffer.isBuffer(c) && !(c instanceof Date) ? c as FieldTable : {};
  }

  /** True while the connection is open and its socket alive. */
  isAlive(): boolean { return this.state === 'open' && this.transport !== null && !this.transport.isDead; }

  private async open(input: ConnectionOptions): Promise<void> {
    const o = this.opts;
    const failed = deferred<never>();
    const disarm = arm({ timeout: o.connectTimeout === 0 ? undefined : o.connectTimeout, signal: input.signal }, `connect to ${o.host}:${o.port}`, (err) => {
      failed.reject(err);
      this.transport?.fail(err);
    });
    failed.promise.catch(() => {});
    try {
      const sock = input.socket ?? await Promise.race([openSocket({
        host: o.host, port: o.port, tls: o.tls, connectTimeout: o.connectTimeout, noDelay: o.noDelay, signal: input.signal,
      }), failed.promise]);
      const t = new Transport(sock, { onFrame: (ty, ch, p) => this.onFrame(ty, ch, p), onClose: (err) => this.onTransportClose(t, err) }, o.frameMax);
      this.transport = t;
      t.out.bytes(PROTOCOL_HEADER);
      t.commit();
      await Promise.race([this.handshake(), failed.promise]);
      this.state = 'open';
    } catch (err) {
      this.state = 'closed';
      this.transport?.fail(err instanceof AMQPError ? err : new ConnectionLost(String(err), { cause: err }));
      throw err;
    } finally {
      disarm();
    }
  }

  private async handshake(): Promise<void> {
    const o = this.opts;
    const start = await this.expect0('connection.start');
    if (start.name !== 'connection.start') throw new ConnectionLost('handshake: expected connection.start');
    this.serverProperties = start.args.serverProperties;
    const offered = start.args.mechanisms.toString().split(' ');
    if (!offered.includes(o.loginMethod)) {
      throw new IrrecoverableConnectionError(`the server does not offer login method ${o.loginMethod} (it offers: ${offered.join(', ')})`);
    }
    const clientProperties: FieldTable = {
      product: 'amqpts', version: VERSION, platform: `Node.js ${process.version}`,
      information: 'https://www.npmjs.com/package/amqpts', capabilities: CLIENT_CAPABILITIES, ...o.clientProperties,
    };
    this.send0('connection.start-ok', { clientProperties, mechanism: o.loginMethod, response: this.saslResponse(), locale: o.locale });
    let tune = await this.expect0('connection.tune', 'connection.secure');
    while (tune.name === 'connection.secure') {
      this.send0('connection.secure-ok', { response: this.saslResponse() });
      tune = await this.expect0('connection.tune', 'connection.secure');
    }
    if (tune.name !== 'connection.tune') throw new ConnectionLost('handshake: expected connection.tune');
    const lower = (a: number, b: number): number => (a === 0 ? b : b === 0 ? a : Math.min(a, b));
    this.channelMax = Math.min(lower(o.channelMax, tune.args.channelMax), 65535);
    this.frameMax = lower(o.frameMax, tune.args.frameMax);
    this.heartbeat = o.heartbeat ?? tune.args.heartbeat;
    this.send0('connection.tune-ok', { channelMax: this.channelMax, frameMax: this.frameMax, heartbeat: this.heartbeat });
    const t = this.transport as Transport;
    t.setFrameMax(this.frameMax);
    t.startHeartbeat(this.heartbeat * 1000);
    this.send0('connection.open', { virtualHost: o.virtualHost });
    await this.expect0('connection.open-ok');
  }

  private saslResponse(): Buffer {
    const o = this.opts;
    if (o.loginMethod === 'PLAIN') return Buffer.from(`\0${o.userid}\0${o.password}`, 'utf8');
    if (o.loginMethod === 'EXTERNAL') return Buffer.alloc(0);
    const w = new Writer(128);
    w.table({ LOGIN: o.userid, PASSWORD: o.password });
    return Buffer.from(w.result().subarray(4));
  }

  // ---------------------------------------------------------------- frames

  private onFrame(type: number, channel: number, payload: Buffer): void {
    try {
      if (channel === 0) {
        if (type === FRAME_METHOD) this.onMethod0(decodeMethod(new Reader(payload)));
        else if (type !== FRAME_HEARTBEAT) throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${type} on channel 0` }, true);
        return;
      }
      const ch = this.channels.get(channel);
      if (ch) ch.handleFrame(type, payload);
      else throw errorForCode(504, { replyText: `CHANNEL_ERROR - frame for unknown channel ${channel}`, channelId: channel }, true);
    } catch (err) {
      const e = err instanceof AMQPError ? err : new ConnectionError(`internal error handling a frame: ${String(err)}`, { cause: err });
      this.sendClose(e.replyCode || 541, e.replyText || e.message);
      throw e;
    }
  }

  private onMethod0(m: Method): void {
    const w = this.waiter0;
    if (w && w.names.includes(m.name)) {
      this.waiter0 = null;
      w.d.resolve(m);
      return;
    }
    switch (m.name) {
      case 'connection.close': {
        const a = m.args;
        const err = errorForCode(a.replyCode, {
          replyText: a.replyText, classId: a.classId, methodId: a.methodId, methodName: METHOD_NAME[(a.classId << 16) | a.methodId] ?? '',
        }, true);
        this.serverCloseError = err;
        this.send0('connection.close-ok', {});
        this.transport?.close();
        return;
      }
      case 'connection.blocked':
        this.blocked = true;
        this.blockedReason = m.args.reason;
        this.emit('blocked', m.args.reason);
        this.hooks.onBlocked?.(m.args.reason);
        return;
      case 'connection.unblocked': {
        this.blocked = false;
        this.blockedReason = '';
        const ws = this.unblockWaiters;
        this.unblockWaiters = [];
        for (const d of ws) d.resolve();
        for (const ch of this.channels.values()) ch.wakePublishers();
        this.emit('unblocked');
        this.hooks.onUnblocked?.();
        return;
      }
      default:
        throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - unexpected ${m.name} on channel 0` }, true);
    }
  }

  private expect0(...names: MethodName[]): Promise<Method> {
    const d = deferred<Method>();
    if (this.closeError) d.reject(this.closeError);
    else this.waiter0 = { names, d };
    return d.promise;
  }

  private send0<N extends MethodName>(name: N, args: MethodInit[N]): void {
    const t = this.transport;
    if (!t || t.isDead) throw this.closeError ?? new ConnectionLost('the connection is closed');
    t.reserve(1024);
    const start = t.out.pos;
    try {
      encodeMethodFrame(t.out, 0, name, args, this.frameMax || this.opts.frameMax);
    } catch (err) {
      t.rewind(start);
      throw err;
    }
    t.commit();
  }

  private sendClose(code: number, text: string): void {
    try {
      this.send0('connection.close', { replyCode: code, replyText: text.slice(0, 255), classId: 0, methodId: 0 });
      this.transport?.flush();
    } catch { /* the transport is already gone */ }
  }

  private onTransportClose(t: Transport, err: AMQPError | undefined): void {
    if (t !== this.transport) return;
    const cause = this.serverCloseError ?? err;
    const reason = cause ?? new ChannelClosed('the connection was closed by the client');
    this.closeError = reason;
    this.state = 'closed';
    this.waiter0?.d.reject(reason);
    this.waiter0 = null;
    for (const ch of [...this.channels.values()]) ch.connectionClosed(reason);
    this.channels.clear();
    for (const d of this.unblockWaiters) d.reject(reason);
    this.unblockWaiters = [];
    const ev = this.eventWaiters;
    this.eventWaiters = [];
    for (const d of ev) d.reject(reason);
    queueMicrotask(() => this.emit('close', cause));
  }

  // ---------------------------------------------------------------- ChannelHost

  /** @internal */
  waitUnblocked(): Promise<void> {
    if (!this.blocked) return Promise.resolve();
    const d = deferred<void>();
    this.unblockWaiters.push(d);
    return d.promise;
  }

  /** @internal */
  releaseChannel(id: number): void {
    this.channels.delete(id);
    if (id < this.nextChannelId) this.nextChannelId = id;
  }

  /** @internal */
  fatal(err: AMQPError): void {
    this.sendClose(err.replyCode || 541, err.replyText || err.message);
    this.transport?.fail(err);
  }

  /** @internal */
  eventDispatched(): void {
    if (this.eventWaiters.length === 0) return;
    const ws = this.eventWaiters;
    this.eventWaiters = [];
    for (const d of ws) d.resolve();
  }

  // ---------------------------------------------------------------- public API

  /**
   * Opens a channel (channel.open), or returns the open channel with `channelId` if there is one.
   * @throws ArgumentError for an id out of range; ResourceError when every id is taken;
   *   the connection's error when it is closed; Timeout.
   */
  async channel(channelId?: number, opts: CallOptions & { autoDecode?: boolean } = {}): Promise<Channel> {
    if (this.state !== 'open') throw this.closeError ?? new ConnectionLost('the connection is not open');
    if (channelId !== undefined) {
      if (!Number.isInteger(channelId) || channelId < 1 || channelId > this.channelMax) {
        throw new ArgumentError(`channel id must be an integer in [1, ${this.channelMax}], got ${String(channelId)}`);
      }
      const existing = this.channels.get(channelId);
      if (existing) return existing;
    }
    checkTimeout(opts.timeout);
    const id = channelId ?? this.allocateId();
    const ch = new Channel(this, id, opts.autoDecode ?? this.opts.autoDecode);
    this.channels.set(id, ch);
    try {
      await ch.open({ timeout: opts.timeout ?? this.callTimeout, signal: opts.signal });
    } catch (err) {
      if (this.channels.get(id) === ch) this.releaseChannel(id);
      throw err;
    }
    return ch;
  }

  private allocateId(): number {
    for (let id = this.nextChannelId; id <= this.channelMax; id++) {
      if (!this.channels.has(id)) {
        this.nextChannelId = id + 1;
        return id;
      }
    }
    throw new ResourceError(`all ${this.channelMax} channel ids are in use`, { replyCode: 506 });
  }

  /**
   * Closes the connection (connection.close), waiting for the broker's close-ok up to `timeout`
   * (default callTimeout). Every channel closes; their pending promises reject with ChannelClosed.
   * Closing a closed connection does nothing.
   */
  close(opts: CallOptions & { replyCode?: number; replyText?: string; classId?: number; methodId?: number } = {}): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.closing) return this.closing;
    this.state = 'closing';
    const t = this.transport as Transport;
    const done = this.expect0('connection.close-ok');
    this.send0('connection.close', {
      replyCode: opts.replyCode ?? 200, replyText: opts.replyText ?? 'Normal shutdown', classId: opts.classId ?? 0, methodId: opts.methodId ?? 0,
    });
    this.closing = waitWith(done, { timeout: opts.timeout ?? this.callTimeout, signal: opts.signal }, 'connection.close')
      .then(() => undefined, () => undefined)
      .finally(() => t.close());
    return this.closing;
  }

  /**
   * Resolves once at least one inbound event (delivery, return, cancel, confirm) has been
   * dispatched after the call. amqpy's worker loop `while (true) await conn.drainEvents()` works.
   * @throws Timeout when nothing arrives within `timeout` ms; the connection's error if it closes.
   */
  drainEvents(opts: CallOptions = {}): Promise<void> {
    if (this.state === 'closed') return Promise.reject(this.closeError ?? new ConnectionLost('the connection is closed'));
    const d = deferred<void>();
    this.eventWaiters.push(d);
    return waitWith(d.promise, opts, 'drainEvents').catch((err: unknown) => {
      this.eventWaiters = this.eventWaiters.filter((x) => x !== d);
      throw err;
    });
  }

  /**
   * Calls `drainEvents({ timeout })` until the connection closes. Resolves after a clean
   * `close()`, rejects with the connection's error, or with Timeout when an interval passes with
   * no event.
   */
  async loop(opts: CallOptions = {}): Promise<void> {
    while (this.state !== 'closed') {
      try {
        await this.drainEvents(opts);
      } catch (err) {
        if ((this.state as State) === 'closed' && this.closeError instanceof ChannelClosed) return;
        throw err;
      }
    }
  }
}
