/**
 * Connection: establishing (socket + handshake.ts under `connectTimeout`), channel-0 methods,
 * channel ids, frame demultiplexing, close, and the hand-over to recovery after a loss.
 *
 * States: connecting -> open -> [recovering -> open ...] -> closing -> closed.
 *
 * Loss: a socket error or close, heartbeat silence, or a server connection.close with a
 * recoverable code (320 CONNECTION_FORCED, e.g. broker shutdown). With reconnect on (the default)
 * the connection then goes `recovering`: the call in flight on each channel rejects with the typed
 * cause, queued calls and new calls wait (each up to its own timeout), and recovery/reconnect.ts
 * reconnects round-robin over the URLs with the backoff strategy, re-declares the recorded
 * topology, reopens every channel and republishes unconfirmed messages. Without reconnect, or for
 * an irrecoverable error, every pending promise on every channel rejects at once with the cause
 * and 'close' fires. A `close()` the user asked for is never a loss: what it leaves pending
 * rejects with ConnectionClosed. The connection never emits 'error'.
 *
 * The channels see the connection through a private ChannelHost object, and the connection drives
 * each channel through its ChannelPort: neither is part of the public API.
 */
import { EventEmitter } from 'node:events';
import { createChannel, type Channel } from '../channel/channel.js';
import type { ChannelHost, ChannelPort } from '../channel/types.js';
import {
  AMQPError,
  ArgumentError,
  ConnectionClosed,
  ConnectionError,
  ConnectionLost,
  RecoverableConnectionError,
  ResourceError,
  errorForCode,
} from '../errors.js';
import { encodeMethodFrame } from '../protocol/encode.js';
import { FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD, PROTOCOL_HEADER } from '../protocol/frame.js';
import { decodeMethod, METHOD_NAME, type Method, type MethodInit, type MethodName } from '../protocol/generated/methods.js';
import { Reader, type FieldTable } from '../protocol/primitives.js';
import { Backoff, type ReconnectStrategy } from '../recovery/backoff.js';
import { isFatal, reconnect, restoreConnection } from '../recovery/reconnect.js';
import { Topology } from '../recovery/topology.js';
import { openSocket } from '../transport/socket.js';
import { type ReadHints, Transport } from '../transport/transport.js';
import { arm, type CallOptions, checkTimeout, type Deferred, deferred, waitWith } from '../util/wait.js';
import type { ConnectionEvents, ConnectionState } from './events.js';
import { handshake } from './handshake.js';
import { type ConnectionOptions, type ResolvedOptions, resolveOptions } from './options.js';

export type { ConnectionEvents, ConnectionState } from './events.js';

/** Options of `close()`: the reply code and text sent to the broker. */
export interface ConnectionCloseOptions extends CallOptions {
  /** Reply code (default 200). */
  replyCode?: number;
  /** Reply text (default `Normal shutdown`). */
  replyText?: string;
  /** Class id of the method that caused the close (default 0). */
  classId?: number;
  /** Method id of the method that caused the close (default 0). */
  methodId?: number;
}

interface Waiter0 {
  names: readonly MethodName[];
  d: Deferred<Method>;
}

/**
 * What a frame handler throws: typed errors as they are, anything else as an internal error (541).
 * The transport catches it, sends connection.close with the code (onProtocolError) and fails.
 */
function asConnectionError(err: unknown): AMQPError {
  return err instanceof AMQPError
    ? err
    : new ConnectionError(`internal error handling a frame: ${String(err)}`, { replyCode: 541, cause: err });
}

/** An endpoint as a person reads it: scheme, user, host, port, vhost; never the password. */
function describe(o: ResolvedOptions): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return `${o.tls ? 'amqps' : 'amqp'}://${encodeURIComponent(o.userid)}@${host}:${o.port}/${encodeURIComponent(o.virtualHost)}`;
}

const clientClosed = (): ConnectionClosed => new ConnectionClosed('the connection was closed by the client');

/** An AMQP connection. Create one with `Connection.connect()`. */
export class Connection extends EventEmitter<ConnectionEvents> {
  /** Default timeout (ms) of channel calls. */
  readonly callTimeout: number;
  /** Whether unconfirmed publishes are republished after recovery. */
  readonly republish: boolean;
  private _serverProperties: FieldTable = {};
  private _channelMax = 0;
  private _frameMax = 0;
  private _heartbeat = 0;
  private _blocked = false;
  private _blockedReason = '';
  private _state: ConnectionState = 'connecting';
  private transport: Transport | null = null;
  private closeError: AMQPError | null = null;
  private readonly topology = new Topology();
  private readonly hints: ReadHints = { streaming: 0, latencyBound: 0 };
  private readonly open = new Map<number, { channel: Channel; port: ChannelPort }>();
  private readonly endpoints: ResolvedOptions[];
  private endpointIndex = 0;
  private current: ResolvedOptions;
  private readonly strategy: ReconnectStrategy | null;
  private readonly socketOption: ConnectionOptions['socket'];
  private readonly onBlocked: ((reason: string) => void) | undefined;
  private readonly onUnblocked: (() => void) | undefined;
  private waiter0: Waiter0 | null = null;
  private eventWaiters: Deferred<void>[] = [];
  private openWaiters: Deferred<void>[] = [];
  private nextChannelId = 1;
  private closing: Promise<void> | null = null;
  private serverCloseError: AMQPError | null = null;
  private outageBytes = 0;
  private readonly outageLimit: number;
  private wakeSleep: (() => void) | null = null;
  private readonly host: ChannelHost;

  private constructor(input: ConnectionOptions) {
    super();
    const urls = input.urls ?? [];
    this.endpoints = urls.length > 0 ? urls.map((url) => resolveOptions({ ...input, url })) : [resolveOptions(input)];
    this.current = this.endpoints[0] as ResolvedOptions;
    this.callTimeout = this.current.callTimeout;
    this.socketOption = input.socket;
    this.onBlocked = input.onBlocked;
    this.onUnblocked = input.onUnblocked;
    const rc = input.reconnect ?? !(input.socket !== undefined && typeof input.socket !== 'function');
    this.strategy =
      rc === false
        ? null
        : rc === true
          ? new Backoff()
          : 'next' in rc && typeof rc.next === 'function'
            ? (rc as ReconnectStrategy)
            : new Backoff(rc as object);
    this.republish = input.republish ?? true;
    this.outageLimit = input.publishBufferBytes ?? 16 * 1024 * 1024;
    if (!(this.outageLimit >= 0)) throw new ArgumentError('publishBufferBytes must be >= 0');
    this.host = this.makeHost();
  }

  /**
   * Connects and runs the AMQP handshake, trying each URL of `urls` in order. Accepts a URL,
   * options, or both (options win). Defaults: `amqp://guest:guest@localhost:5672/`.
   * @throws ArgumentError for invalid options; ConnectionLost when no host can be reached;
   *   Timeout after `connectTimeout` or when `signal` aborts; AccessRefused (403) for bad
   *   credentials; NotAllowed (530) or InvalidPath (402) for an unknown or forbidden vhost;
   *   FrameError (501) when the server proposes impossible limits.
   */
  static async connect(urlOrOptions?: string | ConnectionOptions, options: ConnectionOptions = {}): Promise<Connection> {
    const input: ConnectionOptions = typeof urlOrOptions === 'string' ? { ...options, url: urlOrOptions } : { ...urlOrOptions, ...options };
    const conn = new Connection(input);
    let last: unknown;
    for (const [i, ep] of conn.endpoints.entries()) {
      try {
        await conn.establish(ep, input.signal);
        conn.endpointIndex = i + 1; // a recovery starts with the next URL
        conn._state = 'open';
        conn.strategy?.reset();
        return conn;
      } catch (err) {
        last = err;
        if (isFatal(err) || input.signal?.aborted) break;
      }
    }
    conn._state = 'closed';
    throw last;
  }

  // ---------------------------------------------------------------- read-only state

  /** The lifecycle state: connecting, open, recovering, closing or closed. */
  get state(): ConnectionState {
    return this._state;
  }

  /** True once the handshake completed and while not recovering or closed. */
  get connected(): boolean {
    return this._state === 'open';
  }

  /** Open channels by id (read-only: open channels with `channel()`, close them with `close()`). */
  get channels(): ReadonlyMap<number, Channel> {
    const m = new Map<number, Channel>();
    for (const [id, c] of this.open) m.set(id, c.channel);
    return m;
  }

  /** The server's properties from connection.start (product, version, capabilities...). */
  get serverProperties(): Readonly<FieldTable> {
    return this._serverProperties;
  }

  /** The server's advertised capabilities (`serverProperties.capabilities`). */
  get serverCapabilities(): Readonly<FieldTable> {
    const c = this._serverProperties['capabilities'];
    return c !== null && typeof c === 'object' && !Array.isArray(c) && !Buffer.isBuffer(c) && !(c instanceof Date) ? (c as FieldTable) : {};
  }

  /** Negotiated highest channel id. */
  get channelMax(): number {
    return this._channelMax;
  }

  /** Negotiated largest frame size in bytes. */
  get frameMax(): number {
    return this._frameMax;
  }

  /** Negotiated heartbeat interval in seconds (0 = none). */
  get heartbeat(): number {
    return this._heartbeat;
  }

  /** True while the broker blocks publishing (memory or disk alarm); see `blockedReason`. */
  get blocked(): boolean {
    return this._blocked;
  }

  /** The reason the broker gave for blocking, if blocked. */
  get blockedReason(): string {
    return this._blockedReason;
  }

  /** True while the connection is open and its socket alive. */
  isAlive(): boolean {
    return this._state === 'open' && this.transport !== null && !this.transport.isDead;
  }

  /** Inspects as what a person needs: where (no password), state, channels. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const o = this.current;
    return `Connection { url: '${describe(o)}', user: '${o.userid}', vhost: '${o.virtualHost}', state: '${this._state}', channels: ${this.open.size} }`;
  }

  /** `await using conn = await Connection.connect()`: closes the connection at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- establishing

  /**
   * Opens a socket to `ep` and runs the handshake, all under `connectTimeout` (and `signal`, which
   * only the initial connect passes: it does not govern later reconnects).
   */
  private async establish(ep: ResolvedOptions, signal?: AbortSignal): Promise<void> {
    const failed = deferred<never>();
    failed.promise.catch(() => {});
    const disarm = arm(
      { timeout: ep.connectTimeout === 0 ? undefined : ep.connectTimeout, signal },
      `connect to ${describe(ep)}`,
      (err) => {
        failed.reject(err);
        this.transport?.fail(err);
      },
    );
    this.serverCloseError = null;
    try {
      const s = this.socketOption;
      const opened =
        s === undefined
          ? await Promise.race([
              openSocket({ host: ep.host, port: ep.port, tls: ep.tls, connectTimeout: ep.connectTimeout, noDelay: ep.noDelay, signal }),
              failed.promise,
            ])
          : { socket: typeof s === 'function' ? await Promise.race([Promise.resolve(s()), failed.promise]) : s, reader: null };
      const sock = opened.socket;
      if (this._state === 'closing' || this._state === 'closed') {
        sock.destroy(); // close() won the race: no handshake
        throw this.closeError ?? clientClosed();
      }
      const t = new Transport(
        sock,
        {
          onFrame: (ty, ch, b, st, e) => this.onFrame(ty, ch, b, st, e),
          onBodyPart: (ch, p, done) => this.onBodyPart(ch, p, done),
          onClose: (err) => this.onTransportClose(t, err),
          onProtocolError: (err) => this.sendClose(err.replyCode || 501, err.replyText || err.message),
          bodyTarget: (ch, n) => this.open.get(ch)?.port.bodyTarget(n) ?? null,
          bodyRemaining: (ch) => this.open.get(ch)?.port.bodyRemaining ?? 0,
        },
        ep.frameMax,
        opened.reader,
        this.hints,
      );
      t.coalesceMs = ep.readBatchDelay;
      this.transport = t;
      this.current = ep;
      t.send(PROTOCOL_HEADER.length, (w) => w.bytes(PROTOCOL_HEADER));
      const io = {
        expect0: (...n: MethodName[]) => this.expect0(...n),
        send0: <N extends MethodName>(n: N, a: MethodInit[N]) => this.send0(n, a),
      };
      const n = await Promise.race([
        handshake(io, ep, (neg) => {
          t.setFrameMax(neg.frameMax);
          t.startHeartbeat(neg.heartbeat * 1000);
        }),
        failed.promise,
      ]);
      this._serverProperties = n.serverProperties;
      this._channelMax = n.channelMax;
      this._frameMax = n.frameMax;
      this._heartbeat = n.heartbeat;
    } catch (err) {
      this.transport?.fail(err instanceof AMQPError ? err : new ConnectionLost(String(err), { cause: err }));
      throw err;
    } finally {
      disarm();
    }
  }

  // ---------------------------------------------------------------- frames

  private onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    try {
      if (channel === 0) {
        if (type === FRAME_METHOD) this.onMethod0(decodeMethod(new Reader(buf, start, end)));
        else if (type !== FRAME_HEARTBEAT)
          throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${type} on channel 0` }, true);
        return;
      }
      this.portFor(channel).handleFrame(type, buf, start, end);
    } catch (err) {
      throw asConnectionError(err);
    }
  }

  /** The open channel a frame is for; a frame for any other channel is CHANNEL_ERROR (504). */
  private portFor(channel: number): ChannelPort {
    const c = this.open.get(channel);
    if (!c) throw errorForCode(504, { replyText: `CHANNEL_ERROR - frame for unknown channel ${channel}`, channelId: channel }, true);
    return c.port;
  }

  /** A piece of a body frame split across socket chunks (see TransportHandlers.onBodyPart). */
  private onBodyPart(channel: number, piece: Buffer, frameDone: boolean): void {
    try {
      if (channel === 0) throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${FRAME_BODY} on channel 0` }, true);
      this.portFor(channel).handleBodyPart(piece, frameDone);
    } catch (err) {
      throw asConnectionError(err);
    }
  }

  private onMethod0(m: Method): void {
    const w = this.waiter0;
    if (w?.names.includes(m.name)) {
      this.waiter0 = null;
      w.d.resolve(m);
      return;
    }
    switch (m.name) {
      case 'connection.close': {
        const a = m.args;
        const methodName = METHOD_NAME[(a.classId << 16) | a.methodId] ?? '';
        this.serverCloseError = errorForCode(
          a.replyCode,
          { replyText: a.replyText, classId: a.classId, methodId: a.methodId, methodName },
          true,
        );
        this.send0('connection.close-ok', {});
        this.transport?.close();
        return;
      }
      case 'connection.blocked':
        this._blocked = true;
        this._blockedReason = m.args.reason;
        this.emit('blocked', m.args.reason);
        this.onBlocked?.(m.args.reason);
        return;
      case 'connection.unblocked':
        this.unblock();
        this.emit('unblocked');
        this.onUnblocked?.();
        return;
      default:
        throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - unexpected ${m.name} on channel 0` }, true);
    }
  }

  private unblock(): void {
    this._blocked = false;
    this._blockedReason = '';
    for (const c of this.open.values()) c.port.wakePublishers();
  }

  /** Waits for the next channel-0 method among `names` (the handshake's and close's replies). */
  private expect0(...names: MethodName[]): Promise<Method> {
    const d = deferred<Method>();
    const t = this.transport;
    if (!t || t.isDead) d.reject(t?.error ?? this.closeError ?? new ConnectionLost('the connection is closed'));
    else this.waiter0 = { names, d };
    return d.promise;
  }

  /** Sends a channel-0 method. */
  private send0<N extends MethodName>(name: N, args: MethodInit[N]): void {
    const t = this.transport;
    if (!t || t.isDead) throw this.closeError ?? new ConnectionLost('the connection is closed');
    t.send(1024, (w) => encodeMethodFrame(w, 0, name, args, this._frameMax || this.current.frameMax));
  }

  private sendClose(code: number, text: string): void {
    try {
      this.send0('connection.close', { replyCode: code, replyText: text.slice(0, 255), classId: 0, methodId: 0 });
      this.transport?.flush();
    } catch {
      /* the transport is already gone */
    }
  }

  private onTransportClose(t: Transport, err: AMQPError | undefined): void {
    if (t !== this.transport) return;
    const cause = this.serverCloseError ?? err;
    this.serverCloseError = null;
    const w = this.waiter0;
    this.waiter0 = null;
    w?.d.reject(cause ?? new ConnectionLost('the connection closed'));
    if (this._state === 'connecting') return; // establish() fails and says why
    if (this._state === 'recovering') {
      // died again mid-recovery: settle what the restore steps wait for; the loop goes on
      for (const c of this.open.values()) c.port.connectionLost(cause ?? new ConnectionLost('the connection closed'), this.republish);
      return;
    }
    if (this._state === 'open' && this.strategy && cause instanceof RecoverableConnectionError) {
      this.beginRecovery(cause);
      return;
    }
    this.terminate(cause);
  }

  /** Closed for good: settle everything with `cause` (or ConnectionClosed after a clean close). */
  private terminate(cause: AMQPError | undefined): void {
    if (this._state === 'closed') return;
    const reason = cause ?? clientClosed();
    this.closeError = reason;
    this._state = 'closed';
    this.wakeSleep?.();
    const t = this.transport;
    if (t && !t.isDead) t.fail(reason);
    for (const c of [...this.open.values()]) c.port.connectionClosed(reason);
    this.open.clear();
    for (const list of [this.eventWaiters, this.openWaiters]) for (const d of list) d.reject(reason);
    this.eventWaiters = [];
    this.openWaiters = [];
    queueMicrotask(() => this.emit('close', cause));
  }

  // ---------------------------------------------------------------- recovery

  private beginRecovery(cause: AMQPError): void {
    this._state = 'recovering';
    const since = Date.now();
    for (const c of this.open.values()) c.port.connectionLost(cause, this.republish);
    const ev = this.eventWaiters;
    this.eventWaiters = [];
    for (const d of ev) d.reject(cause);
    if (this._blocked) this.unblock();
    const strategy = this.strategy as ReconnectStrategy;
    const conn = this;
    queueMicrotask(() => {
      this.emit('disconnected', cause); // before the first 'reconnecting'
      void reconnect(
        {
          get recovering() {
            return conn._state === 'recovering';
          },
          nextEndpoint: () => {
            const ep = this.endpoints[this.endpointIndex++ % this.endpoints.length] as ResolvedOptions;
            return { url: describe(ep), connect: () => this.establish(ep) };
          },
          restore: () => this.restoreAll(),
          sleep: (ms) => this.sleep(ms),
          attempting: (info) => this.emit('reconnecting', info),
          abandon: () => this.transport?.fail(this.closeError ?? clientClosed()),
          giveUp: (err) => {
            this.emit('recoveryFailed', err);
            this.terminate(err);
          },
          recovered: (info) => {
            this._state = 'open';
            const ws = this.openWaiters;
            this.openWaiters = [];
            for (const d of ws) d.resolve();
            this.emit('recovered', info);
          },
        },
        strategy,
        since,
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = () => {
        this.wakeSleep = null;
        done();
      };
    });
  }

  private restoreAll(): Promise<boolean> {
    return restoreConnection({
      topology: this.topology,
      openChannel: async () => {
        const { channel, port } = this.addChannel(this.allocateId(), false);
        await port.open({ timeout: this.callTimeout });
        return channel;
      },
      ports: () => [...this.open.values()].map((c) => c.port),
      alive: () => this.transport !== null && !this.transport.isDead,
      entityFailed: (entity, error) => this.emit('recoveryError', { entity, error }),
    });
  }

  // ---------------------------------------------------------------- channels

  /** The ChannelHost the channels see: the connection's state and services, nothing public. */
  private makeHost(): ChannelHost {
    const conn = this;
    return {
      get transport() {
        return conn.transport;
      },
      get frameMax() {
        return conn._frameMax;
      },
      callTimeout: this.callTimeout,
      get blocked() {
        return conn._blocked;
      },
      get closeError() {
        return conn.closeError;
      },
      hints: this.hints,
      topology: this.topology,
      get recovering() {
        return conn._state === 'recovering';
      },
      republish: this.republish,
      get maxMessageSize() {
        return conn.current.maxMessageSize;
      },
      releaseChannel: (id) => {
        this.open.delete(id);
        if (id < this.nextChannelId) this.nextChannelId = id;
      },
      eventDispatched: () => {
        if (this.eventWaiters.length === 0) return;
        const ws = this.eventWaiters;
        this.eventWaiters = [];
        for (const d of ws) d.resolve();
      },
      consumerCount: (queue) => {
        let n = 0;
        for (const c of this.open.values()) n += c.port.consumersOn(queue);
        return n;
      },
      reserveOutage: (bytes) => {
        if (this.outageBytes + bytes > this.outageLimit) return false;
        this.outageBytes += bytes;
        return true;
      },
      releaseOutage: (bytes) => {
        this.outageBytes -= bytes;
      },
    };
  }

  private addChannel(id: number, autoDecode: boolean): { channel: Channel; port: ChannelPort } {
    const c = createChannel(this.host, id, autoDecode);
    this.open.set(id, c);
    return c;
  }

  /**
   * Opens a channel (channel.open), or returns the open channel with `channelId` if there is one.
   * While the connection is recovering it waits (up to the timeout) for recovery first.
   * @throws ArgumentError for an id out of range; ResourceError when every id is taken;
   *   the connection's error when it is closed (ConnectionClosed after `close()`); Timeout.
   */
  async channel(channelId?: number, opts: CallOptions & { autoDecode?: boolean } = {}): Promise<Channel> {
    checkTimeout(opts.timeout);
    const timeout = opts.timeout ?? this.callTimeout;
    if (this._state === 'recovering') {
      const d = deferred<void>();
      this.openWaiters.push(d);
      await waitWith(d.promise, { timeout, signal: opts.signal }, 'channel (waiting for recovery)');
    }
    if (this._state !== 'open') throw this.closeError ?? new ConnectionLost('the connection is not open');
    if (channelId !== undefined) {
      if (!Number.isInteger(channelId) || channelId < 1 || channelId > this._channelMax) {
        throw new ArgumentError(`channel id must be an integer in [1, ${this._channelMax}], got ${String(channelId)}`);
      }
      const existing = this.open.get(channelId);
      if (existing) return existing.channel;
    }
    const id = channelId ?? this.allocateId();
    const c = this.addChannel(id, opts.autoDecode ?? this.current.autoDecode);
    try {
      await c.port.open({ timeout, signal: opts.signal });
    } catch (err) {
      if (this.open.get(id) === c) this.host.releaseChannel(id);
      throw err;
    }
    return c.channel;
  }

  private allocateId(): number {
    for (let id = this.nextChannelId; id <= this._channelMax; id++) {
      if (!this.open.has(id)) {
        this.nextChannelId = id + 1;
        return id;
      }
    }
    throw new ResourceError(`all ${this._channelMax} channel ids are in use`, { replyCode: 506 });
  }

  // ---------------------------------------------------------------- closing and events

  /**
   * Closes the connection (connection.close), waiting for the broker's close-ok up to `timeout`
   * (default callTimeout); stops any recovery. Every channel closes; pending promises reject with
   * ConnectionClosed. Closing a closed connection does nothing; it never rejects.
   */
  close(opts: ConnectionCloseOptions = {}): Promise<void> {
    if (this._state === 'closed') return Promise.resolve();
    if (this.closing) return this.closing;
    const wasOpen = this._state === 'open';
    this._state = 'closing';
    this.wakeSleep?.();
    const t = this.transport;
    if (!wasOpen || !t || t.isDead) {
      this.terminate(undefined);
      this.closing = Promise.resolve();
      return this.closing;
    }
    const done = this.expect0('connection.close-ok');
    try {
      this.send0('connection.close', {
        replyCode: opts.replyCode ?? 200,
        replyText: opts.replyText ?? 'Normal shutdown',
        classId: opts.classId ?? 0,
        methodId: opts.methodId ?? 0,
      });
    } catch {
      // an invalid replyText or code: close without telling the broker why
    }
    this.closing = waitWith(done, { timeout: opts.timeout ?? this.callTimeout, signal: opts.signal }, 'connection.close')
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        t.close();
        this.terminate(undefined);
      });
    return this.closing;
  }

  /**
   * Resolves once at least one inbound event (delivery, return, cancel, confirm) has been
   * dispatched after the call. amqpy's worker loop `while (true) await conn.drainEvents()` works.
   * @throws Timeout when nothing arrives within `timeout` ms; the connection's error if it is
   *   lost or closes.
   */
  drainEvents(opts: CallOptions = {}): Promise<void> {
    if (this._state === 'closed') return Promise.reject(this.closeError ?? new ConnectionLost('the connection is closed'));
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
   * no event. A loss the connection recovers from does not end the loop.
   */
  async loop(opts: CallOptions = {}): Promise<void> {
    while (this._state !== 'closed') {
      try {
        await this.drainEvents(opts);
      } catch (err) {
        const state = this._state as ConnectionState;
        if (state === 'closed' && this.closeError instanceof ConnectionClosed) return;
        if (state === 'recovering' || state === 'open') {
          if (!(err instanceof RecoverableConnectionError)) throw err; // e.g. Timeout
          continue; // the connection was lost and is coming back: keep draining
        }
        throw err;
      }
    }
  }
}
