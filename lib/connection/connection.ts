/**
 * Connection: establishing (socket + handshake.ts under `connectTimeout`), channel-0 methods,
 * channel ids, frame demultiplexing, close, and recovery after a loss.
 *
 * States: connecting -> open -> [recovering -> open ...] -> closing -> closed.
 *
 * Loss: a socket error or close, heartbeat silence, or a server connection.close with a
 * recoverable code (320 CONNECTION_FORCED, e.g. broker shutdown). With reconnect on (the default)
 * the connection then goes `recovering`: the call in flight on each channel rejects with the typed
 * cause, queued calls and new calls wait (each up to its own timeout), and a loop reconnects
 * round-robin over the URLs with the backoff strategy, re-declares the recorded topology, reopens
 * every channel with its id, prefetch, mode and consumers, and republishes unconfirmed messages.
 * Errors retrying cannot fix (403, 530, 402) end it. Without reconnect, or for an irrecoverable
 * error, every pending promise on every channel rejects at once with the cause and 'close' fires.
 * A `close()` the user asked for is never a loss. The connection never emits 'error'.
 */
import { EventEmitter } from 'node:events';
import {
  AccessRefused,
  AMQPError,
  ArgumentError,
  ChannelClosed,
  ConnectionError,
  ConnectionLost,
  InvalidPath,
  NotAllowed,
  RecoverableConnectionError,
  ResourceError,
  errorForCode,
} from '../errors.js';
import { Channel } from '../channel/channel.js';
import type { ChannelHost } from '../channel/channel-core.js';
import { encodeMethodFrame } from '../protocol/content.js';
import { FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD, PROTOCOL_HEADER } from '../protocol/frame.js';
import { decodeMethod, METHOD_NAME, type Method, type MethodInit, type MethodName } from '../protocol/generated/methods.js';
import { Reader, type FieldTable } from '../protocol/primitives.js';
import { Backoff, type ReconnectStrategy } from '../recovery/backoff.js';
import { restoreTopology } from '../recovery/restore-topology.js';
import { Topology } from '../recovery/topology.js';
import { openSocket } from '../transport/socket.js';
import { Transport } from '../transport/transport.js';
import { arm, checkTimeout, deferred, waitWith, type CallOptions, type Deferred } from '../util/wait.js';
import { ConfirmWatchdog } from './confirm-watchdog.js';
import { handshake } from './handshake.js';
import type { ConnectionEvents, ConnectionState } from './events.js';
import { resolveOptions, type ConnectionOptions, type ResolvedOptions } from './options.js';

export type { ConnectionEvents, ConnectionState } from './events.js';

interface Waiter0 {
  names: readonly MethodName[];
  d: Deferred<Method>;
}

const isFatal = (err: unknown): boolean =>
  err instanceof AccessRefused || err instanceof NotAllowed || err instanceof InvalidPath || err instanceof ArgumentError;

/**
 * What a frame handler throws: typed errors as they are, anything else as an internal error (541).
 * The transport catches it, sends connection.close with the code (onProtocolError) and fails.
 */
function asConnectionError(err: unknown): AMQPError {
  return err instanceof AMQPError
    ? err
    : new ConnectionError(`internal error handling a frame: ${String(err)}`, { replyCode: 541, cause: err });
}

function describe(o: ResolvedOptions): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return `${o.tls ? 'amqps' : 'amqp'}://${encodeURIComponent(o.userid)}@${host}:${o.port}/${encodeURIComponent(o.virtualHost)}`;
}

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
  /** True while the broker blocks publishing; see `blockedReason`. */
  blocked = false;
  /** The reason the broker gave for blocking, if blocked. */
  blockedReason = '';
  /** Whether unconfirmed publishes are republished after recovery. */
  readonly republish: boolean;
  /** @internal */ transport: Transport | null = null;
  /** @internal */ closeError: AMQPError | null = null;
  /** @internal */ readonly topology = new Topology();
  private _state: ConnectionState = 'connecting';
  private readonly endpoints: ResolvedOptions[];
  private endpointIndex = 0;
  private current: ResolvedOptions;
  private readonly strategy: ReconnectStrategy | null;
  private readonly input: ConnectionOptions;
  private waiter0: Waiter0 | null = null;
  private eventWaiters: Deferred<void>[] = [];
  private openWaiters: Deferred<void>[] = [];
  private nextChannelId = 1;
  private closing: Promise<void> | null = null;
  private serverCloseError: AMQPError | null = null;
  private outageBytes = 0;
  private readonly outageLimit: number;
  private wakeSleep: (() => void) | null = null;
  private readonly watchdog: ConfirmWatchdog;

  private constructor(input: ConnectionOptions) {
    super();
    this.input = input;
    const urls = input.urls ?? [];
    this.endpoints = urls.length > 0 ? urls.map((url) => resolveOptions({ ...input, url })) : [resolveOptions(input)];
    this.current = this.endpoints[0] as ResolvedOptions;
    this.callTimeout = this.current.callTimeout;
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
    const ct = input.confirmTimeout ?? 0;
    if (!(ct >= 0 && Number.isFinite(ct))) throw new ArgumentError(`confirmTimeout must be a finite number of ms >= 0, got ${String(ct)}`);
    this.watchdog = new ConfirmWatchdog(
      ct,
      () => [...this.channels.values()].map((ch) => [ch.channelId, ch.confirmProgress] as const),
      () => this._state !== 'open' || this.blocked,
      (id, n, ms) =>
        this.transport?.fail(
          new ConnectionLost(`no publish acked for ${ms} ms on channel ${id} (${n} outstanding): confirmTimeout, reconnecting`),
        ),
    );
  }

  /**
   * Connects and runs the AMQP handshake, trying each URL of `urls` in order. Accepts a URL,
   * options, or both (options win). Defaults: `amqp://guest:guest@localhost:5672/`.
   * @throws ArgumentError for invalid options; ConnectionLost when no host can be reached;
   *   Timeout after `connectTimeout`; AccessRefused (403) for bad credentials; NotAllowed (530)
   *   or InvalidPath (402) for an unknown or forbidden vhost.
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
        conn.watchdog.start();
        return conn;
      } catch (err) {
        last = err;
        if (isFatal(err) || input.signal?.aborted) break;
      }
    }
    conn._state = 'closed';
    throw last;
  }

  /** The lifecycle state: connecting, open, recovering, closing or closed. */
  get state(): ConnectionState {
    return this._state;
  }

  /** True once the handshake completed and while not recovering or closed. */
  get connected(): boolean {
    return this._state === 'open';
  }

  /** @internal */
  get recovering(): boolean {
    return this._state === 'recovering';
  }

  /** The server's advertised capabilities (`serverProperties.capabilities`). */
  get serverCapabilities(): FieldTable {
    const c = this.serverProperties['capabilities'];
    return c !== null && typeof c === 'object' && !Array.isArray(c) && !Buffer.isBuffer(c) && !(c instanceof Date) ? (c as FieldTable) : {};
  }

  /** True while the connection is open and its socket alive. */
  isAlive(): boolean {
    return this._state === 'open' && this.transport !== null && !this.transport.isDead;
  }

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
      const s = this.input.socket;
      const opened =
        s === undefined
          ? await Promise.race([
              openSocket({ host: ep.host, port: ep.port, tls: ep.tls, connectTimeout: ep.connectTimeout, noDelay: ep.noDelay, signal }),
              failed.promise,
            ])
          : { socket: typeof s === 'function' ? await Promise.race([Promise.resolve(s()), failed.promise]) : s, reader: null };
      const sock = opened.socket;
      if (this._state === 'closing' || this._state === 'closed') {
        // close() won the race: no handshake
        sock.destroy();
        throw this.closeError ?? new ChannelClosed('the connection was closed by the client');
      }
      const t = new Transport(
        sock,
        {
          onFrame: (ty, ch, b, s, e) => this.onFrame(ty, ch, b, s, e),
          onBodyPart: (ch, p, done) => this.onBodyPart(ch, p, done),
          onClose: (err) => this.onTransportClose(t, err),
          onProtocolError: (err) => this.sendClose(err.replyCode || 501, err.replyText || err.message),
          mayCoalesce: () => this.mayCoalesce(),
          streaming: () => this.confirmStreaming(),
          bodyTarget: (ch, n) => this.channels.get(ch)?.bodyTarget(n) ?? null,
          bodyRemaining: (ch) => this.channels.get(ch)?.bodyRemaining ?? 0,
        },
        ep.frameMax,
        opened.reader,
      );
      t.coalesceMs = ep.readCoalesce;
      this.transport = t;
      this.current = ep;
      t.out.bytes(PROTOCOL_HEADER);
      t.commit();
      const n = await Promise.race([
        handshake(this, ep, (neg) => {
          t.setFrameMax(neg.frameMax);
          t.startHeartbeat(neg.heartbeat * 1000);
        }),
        failed.promise,
      ]);
      this.serverProperties = n.serverProperties;
      this.channelMax = n.channelMax;
      this.frameMax = n.frameMax;
      this.heartbeat = n.heartbeat;
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
      this.channelFor(channel).handleFrame(type, buf, start, end);
    } catch (err) {
      throw asConnectionError(err);
    }
  }

  /** True while some channel has a stream of publisher confirms coming (see Channel.confirmStreaming). */
  private confirmStreaming(): boolean {
    for (const ch of this.channels.values()) if (ch.confirmStreaming) return true;
    return false;
  }

  /** False while some channel consumes into a small window (a read pause would cost throughput). */
  private mayCoalesce(): boolean {
    for (const ch of this.channels.values()) if (ch.latencyBound) return false;
    return true;
  }

  /** The open channel a frame is for; a frame for any other channel is CHANNEL_ERROR (504). */
  private channelFor(channel: number): Channel {
    const ch = this.channels.get(channel);
    if (!ch) throw errorForCode(504, { replyText: `CHANNEL_ERROR - frame for unknown channel ${channel}`, channelId: channel }, true);
    return ch;
  }

  /** A piece of a body frame split across socket chunks (see TransportHandlers.onBodyPart). */
  private onBodyPart(channel: number, piece: Buffer, frameDone: boolean): void {
    try {
      if (channel === 0) throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${FRAME_BODY} on channel 0` }, true);
      this.channelFor(channel).handleBodyPart(piece, frameDone);
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
        this.serverCloseError = errorForCode(
          a.replyCode,
          {
            replyText: a.replyText,
            classId: a.classId,
            methodId: a.methodId,
            methodName: METHOD_NAME[(a.classId << 16) | a.methodId] ?? '',
          },
          true,
        );
        this.send0('connection.close-ok', {});
        this.transport?.close();
        return;
      }
      case 'connection.blocked':
        this.blocked = true;
        this.blockedReason = m.args.reason;
        this.emit('blocked', m.args.reason);
        this.input.onBlocked?.(m.args.reason);
        return;
      case 'connection.unblocked':
        this.unblock();
        this.emit('unblocked');
        this.input.onUnblocked?.();
        return;
      default:
        throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - unexpected ${m.name} on channel 0` }, true);
    }
  }

  private unblock(): void {
    this.blocked = false;
    this.blockedReason = '';
    for (const ch of this.channels.values()) ch.wakePublishers();
  }

  /** @internal Waits for the next channel-0 method among `names` (the handshake's and close's replies). */
  expect0(...names: MethodName[]): Promise<Method> {
    const d = deferred<Method>();
    const t = this.transport;
    if (!t || t.isDead) d.reject(t?.error ?? this.closeError ?? new ConnectionLost('the connection is closed'));
    else this.waiter0 = { names, d };
    return d.promise;
  }

  /** @internal Sends a channel-0 method. */
  send0<N extends MethodName>(name: N, args: MethodInit[N]): void {
    const t = this.transport;
    if (!t || t.isDead) throw this.closeError ?? new ConnectionLost('the connection is closed');
    t.reserve(1024);
    const start = t.out.pos;
    try {
      encodeMethodFrame(t.out, 0, name, args, this.frameMax || this.current.frameMax);
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
      for (const ch of this.channels.values()) ch.connectionLost(cause ?? new ConnectionLost('the connection closed'), this.republish);
      return;
    }
    if (this._state === 'open' && this.strategy && cause instanceof RecoverableConnectionError) {
      this.beginRecovery(cause);
      return;
    }
    this.terminate(cause);
  }

  /** Closed for good: settle everything with `cause` (or ChannelClosed after a clean close). */
  private terminate(cause: AMQPError | undefined): void {
    if (this._state === 'closed') return;
    const reason = cause ?? new ChannelClosed('the connection was closed by the client');
    this.closeError = reason;
    this._state = 'closed';
    this.watchdog.stop();
    this.wakeSleep?.();
    const t = this.transport;
    if (t && !t.isDead) t.fail(reason);
    for (const ch of [...this.channels.values()]) ch.connectionClosed(reason);
    this.channels.clear();
    for (const list of [this.eventWaiters, this.openWaiters]) for (const d of list) d.reject(reason);
    this.eventWaiters = [];
    this.openWaiters = [];
    queueMicrotask(() => this.emit('close', cause));
  }

  // ---------------------------------------------------------------- recovery

  private beginRecovery(cause: AMQPError): void {
    this._state = 'recovering';
    const since = Date.now();
    for (const ch of this.channels.values()) ch.connectionLost(cause, this.republish);
    const ev = this.eventWaiters;
    this.eventWaiters = [];
    for (const d of ev) d.reject(cause);
    if (this.blocked) this.unblock();
    queueMicrotask(() => {
      this.emit('disconnected', cause); // before the first 'reconnecting'
      void this.recoveryLoop(since);
    });
  }

  private async recoveryLoop(since: number): Promise<void> {
    const strategy = this.strategy as ReconnectStrategy;
    for (let attempt = 1; this._state === 'recovering'; attempt++) {
      const delay = Math.max(0, strategy.next());
      const ep = this.endpoints[this.endpointIndex++ % this.endpoints.length] as ResolvedOptions;
      this.emit('reconnecting', { attempt, delay, url: describe(ep) });
      if (delay > 0) await this.sleep(delay);
      if (this._state !== 'recovering') return;
      try {
        await this.establish(ep);
        if ((this._state as ConnectionState) !== 'recovering') {
          // close() was called meanwhile
          this.transport?.fail(this.closeError ?? new ChannelClosed('the connection was closed by the client'));
          return;
        }
        if (!(await this.restoreAll())) continue;
      } catch (err) {
        if ((this._state as ConnectionState) !== 'recovering') return;
        if (isFatal(err)) {
          const e = err as AMQPError;
          this.emit('recoveryFailed', e);
          this.terminate(e);
          return;
        }
        continue;
      }
      this._state = 'open';
      strategy.reset();
      const ws = this.openWaiters;
      this.openWaiters = [];
      for (const d of ws) d.resolve();
      this.emit('recovered', { attempts: attempt, downtimeMs: Date.now() - since, url: describe(ep) });
      return;
    }
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

  /** Re-declares the topology on a temporary channel, then recovers every channel. */
  private async restoreAll(): Promise<boolean> {
    if (this.topology.entities().length > 0) {
      const id = this.allocateId();
      const tmp = new Channel(this, id, false);
      this.channels.set(id, tmp);
      try {
        await tmp.open({ timeout: this.callTimeout });
        await restoreTopology(
          tmp,
          this.topology,
          (entity, error) => this.emit('recoveryError', { entity, error }),
          (oldName, newName) => {
            for (const ch of this.channels.values()) ch.renameConsumerQueue(oldName, newName);
          },
        );
        await tmp.close({ timeout: this.callTimeout });
      } finally {
        if (this.channels.get(id) === tmp) this.releaseChannel(id);
      }
    }
    for (const ch of [...this.channels.values()]) {
      if (!(await ch.recover())) {
        if (this.transport === null || this.transport.isDead) return false;
      }
    }
    return this.transport !== null && !this.transport.isDead;
  }

  // ---------------------------------------------------------------- ChannelHost

  /** @internal */
  releaseChannel(id: number): void {
    this.channels.delete(id);
    if (id < this.nextChannelId) this.nextChannelId = id;
  }

  /** @internal */
  eventDispatched(): void {
    if (this.eventWaiters.length === 0) return;
    const ws = this.eventWaiters;
    this.eventWaiters = [];
    for (const d of ws) d.resolve();
  }

  /** @internal */
  consumerCount(queue: string): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.consumersOn(queue);
    return n;
  }

  /** @internal */
  reserveOutage(bytes: number): boolean {
    if (this.outageBytes + bytes > this.outageLimit) return false;
    this.outageBytes += bytes;
    return true;
  }

  /** @internal */
  releaseOutage(bytes: number): void {
    this.outageBytes -= bytes;
  }

  // ---------------------------------------------------------------- public API

  /**
   * Opens a channel (channel.open), or returns the open channel with `channelId` if there is one.
   * While the connection is recovering it waits (up to the timeout) for recovery first.
   * @throws ArgumentError for an id out of range; ResourceError when every id is taken;
   *   the connection's error when it is closed; Timeout.
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
      if (!Number.isInteger(channelId) || channelId < 1 || channelId > this.channelMax) {
        throw new ArgumentError(`channel id must be an integer in [1, ${this.channelMax}], got ${String(channelId)}`);
      }
      const existing = this.channels.get(channelId);
      if (existing) return existing;
    }
    const id = channelId ?? this.allocateId();
    const ch = new Channel(this, id, opts.autoDecode ?? this.current.autoDecode);
    this.channels.set(id, ch);
    try {
      await ch.open({ timeout, signal: opts.signal });
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
   * (default callTimeout); stops any recovery. Every channel closes; pending promises reject with
   * ChannelClosed. Closing a closed connection does nothing.
   */
  close(opts: CallOptions & { replyCode?: number; replyText?: string; classId?: number; methodId?: number } = {}): Promise<void> {
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
    this.send0('connection.close', {
      replyCode: opts.replyCode ?? 200,
      replyText: opts.replyText ?? 'Normal shutdown',
      classId: opts.classId ?? 0,
      methodId: opts.methodId ?? 0,
    });
    this.closing = waitWith(done, { timeout: opts.timeout ?? this.callTimeout, signal: opts.signal }, 'connection.close').then(
      () => {
        t.close();
        this.terminate(undefined);
      },
      () => {
        // no close-ok: the broker may not be reading at all (a channel stuck in flow), so ending the
        // socket would wait for ever for the flush: terminate() destroys it instead
        this.terminate(undefined);
      },
    );
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
        if (state === 'closed' && this.closeError instanceof ChannelClosed) return;
        if (state === 'recovering' || state === 'open') {
          if (!(err instanceof RecoverableConnectionError)) throw err; // e.g. Timeout
          continue; // the connection was lost and is coming back: keep draining
        }
        throw err;
      }
    }
  }
}
