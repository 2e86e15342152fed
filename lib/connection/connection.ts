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
import type { Result } from 'ts-results-es';
import type { Channel } from '../channel/channel.js';
import type { CloseOptions, QueueDeclareOk } from '../channel/options.js';
import type { ChannelHost } from '../channel/types.js';
import {
  AMQPError,
  ArgumentError,
  ConnectionClosed,
  ConnectionError,
  ConnectionLost,
  type NotFound,
  RecoverableConnectionError,
  errorForCode,
} from '../errors.js';
import { FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD } from '../protocol/frame.js';
import { decodeMethod } from '../protocol/generated/methods.js';
import { Reader, type FieldTable } from '../protocol/primitives.js';
import { Backoff, type ReconnectStrategy } from '../recovery/backoff.js';
import { isFatal, reconnect, restoreConnection } from '../recovery/reconnect.js';
import { Topology } from '../recovery/topology.js';
import type { ReadHints, Transport } from '../transport/transport.js';
import { LazyEmitter } from '../util/lazy-emitter.js';
import { type CallOptions, checkTimeout, type Deferred, deferred, waitWith } from '../util/wait.js';
import type { ConnectionEvents, ConnectionState } from './events.js';
import { establish } from './establish.js';
import { checkExchange, checkQueue } from './existence.js';
import { type ConnectionOptions, describeEndpoint, type ResolvedOptions, resolveOptions } from './options.js';
import { ChannelTable } from './channel-table.js';
import { ChannelZero } from './channel-zero.js';
import { ConfirmWatchdog } from './confirm-watchdog.js';

export type { ConnectionEvents, ConnectionState } from './events.js';

/** Options of `Connection.close()` (the same as a channel's). */
export type ConnectionCloseOptions = CloseOptions;

/**
 * What a frame handler throws: typed errors as they are, anything else as an internal error (541).
 * The transport catches it, sends connection.close with the code (onProtocolError) and fails.
 */
function asConnectionError(err: unknown): AMQPError {
  return err instanceof AMQPError
    ? err
    : new ConnectionError(`internal error handling a frame: ${String(err)}`, { replyCode: 541, cause: err });
}

const clientClosed = (): ConnectionClosed => new ConnectionClosed('the connection was closed by the client');

/** An AMQP connection. Create one with `Connection.connect()`. */
export class Connection extends LazyEmitter<ConnectionEvents> {
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
  private readonly open = new ChannelTable();
  private readonly endpoints: ResolvedOptions[];
  private endpointIndex = 0;
  private current: ResolvedOptions;
  private readonly strategy: ReconnectStrategy | null;
  private readonly socketOption: ConnectionOptions['socket'];
  private readonly onBlocked: ((reason: string) => void) | undefined;
  private readonly onUnblocked: (() => void) | undefined;
  private eventWaiters: Deferred<void>[] = [];
  private openWaiters: Deferred<void>[] = [];
  private closing: Promise<void> | null = null;
  private outageBytes = 0;
  private readonly outageLimit: number;
  private wakeSleep: (() => void) | null = null;
  private readonly host: ChannelHost;
  private readonly zero: ChannelZero;
  private readonly watchdog: ConfirmWatchdog;

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
    const ct = input.confirmTimeout ?? 0;
    if (!(ct >= 0 && Number.isFinite(ct))) throw new ArgumentError(`confirmTimeout must be a finite number of ms >= 0, got ${String(ct)}`);
    this.watchdog = new ConfirmWatchdog(
      ct,
      () => this.open.confirmProgress(),
      () => this._state !== 'open' || this._blocked,
      (id, n, ms) =>
        this.transport?.fail(
          new ConnectionLost(`no publish acked for ${ms} ms on channel ${id} (${n} outstanding): confirmTimeout, reconnecting`),
        ),
    );
    this.host = this.makeHost();
    const conn = this;
    this.zero = new ChannelZero({
      get transport() {
        return conn.transport;
      },
      get frameMax() {
        return conn._frameMax || conn.current.frameMax;
      },
      get closeError() {
        return conn.closeError;
      },
      blocked: (reason) => {
        this._blocked = true;
        this._blockedReason = reason;
        this.emit('blocked', reason);
        this.onBlocked?.(reason);
      },
      unblocked: () => {
        this.unblock();
        this.emit('unblocked');
        this.onUnblocked?.();
      },
    });
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
    return this.open.channels();
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
    return `Connection { url: '${describeEndpoint(o)}', user: '${o.userid}', vhost: '${o.virtualHost}', state: '${this._state}', channels: ${this.open.size} }`;
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
    this.zero.serverCloseError = null;
    const n = await establish({
      ep,
      where: describeEndpoint(ep),
      socket: this.socketOption,
      hints: this.hints,
      signal,
      handlers: (t) => ({
        onFrame: (ty, ch, b, st, e) => this.onFrame(ty, ch, b, st, e),
        onBodyPart: (ch, p, done) => this.onBodyPart(ch, p, done),
        onClose: (err) => this.onTransportClose(t(), err),
        onProtocolError: (err) => this.zero.sendClose(err.replyCode || 501, err.replyText || err.message),
        bodyTarget: (ch, len) => this.open.port(ch)?.bodyTarget(len) ?? null,
        bodyRemaining: (ch) => this.open.port(ch)?.bodyRemaining ?? 0,
      }),
      attached: (t) => {
        this.transport = t;
        this.current = ep;
      },
      closedMeanwhile: () => (this._state === 'closing' || this._state === 'closed' ? (this.closeError ?? clientClosed()) : null),
      io: this.zero,
    });
    this._serverProperties = n.serverProperties;
    this._channelMax = n.channelMax;
    this._frameMax = n.frameMax;
    this._heartbeat = n.heartbeat;
  }

  // ---------------------------------------------------------------- frames

  private onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    try {
      if (channel === 0) {
        if (type === FRAME_METHOD) this.zero.handle(decodeMethod(new Reader(buf, start, end)));
        else if (type !== FRAME_HEARTBEAT)
          throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${type} on channel 0` }, true);
        return;
      }
      this.open.route(channel).handleFrame(type, buf, start, end);
    } catch (err) {
      throw asConnectionError(err);
    }
  }

  /** A piece of a body frame split across socket chunks (see TransportHandlers.onBodyPart). */
  private onBodyPart(channel: number, piece: Buffer, frameDone: boolean): void {
    try {
      if (channel === 0) throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${FRAME_BODY} on channel 0` }, true);
      this.open.route(channel).handleBodyPart(piece, frameDone);
    } catch (err) {
      throw asConnectionError(err);
    }
  }

  private unblock(): void {
    this._blocked = false;
    this._blockedReason = '';
    this.open.each((p) => p.wakePublishers());
  }

  private onTransportClose(t: Transport, err: AMQPError | undefined): void {
    if (t !== this.transport) return;
    const cause = this.zero.serverCloseError ?? err;
    this.zero.serverCloseError = null;
    this.zero.failWaiter(cause ?? new ConnectionLost('the connection closed'));
    if (this._state === 'connecting') return; // establish() fails and says why
    if (this._state === 'recovering') {
      // died again mid-recovery: settle what the restore steps wait for; the loop goes on
      const lost = cause ?? new ConnectionLost('the connection closed');
      this.open.each((p) => p.connectionLost(lost, this.republish));
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
    this.watchdog.stop();
    this.wakeSleep?.();
    const t = this.transport;
    if (t && !t.isDead) t.fail(reason);
    this.open.each((p) => p.connectionClosed(reason));
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
    this.open.each((p) => p.connectionLost(cause, this.republish));
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
            return { url: describeEndpoint(ep), connect: () => this.establish(ep) };
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
        const { channel, port } = this.open.add(this.host, this.open.allocate(this._channelMax), false);
        await port.open({ timeout: this.callTimeout });
        return channel;
      },
      ports: () => this.open.ports(),
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
      get serverProperties() {
        return conn._serverProperties;
      },
      releaseChannel: (id) => this.open.release(id),
      eventDispatched: () => {
        if (this.eventWaiters.length === 0) return;
        const ws = this.eventWaiters;
        this.eventWaiters = [];
        for (const d of ws) d.resolve();
      },
      consumerCount: (queue) => this.open.consumersOn(queue),
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
    const id = channelId ?? this.open.allocate(this._channelMax);
    const c = this.open.add(this.host, id, opts.autoDecode ?? this.current.autoDecode);
    try {
      await c.port.open({ timeout, signal: opts.signal });
    } catch (err) {
      if (this.open.get(id)?.channel === c.channel) this.host.releaseChannel(id);
      throw err;
    }
    return c.channel;
  }

  /**
   * Whether queue `queue` exists, without closing any channel of yours: a passive declare on a
   * short-lived channel of its own. Resolves `Ok({ queue, messageCount, consumerCount })`, or
   * `Err(NotFound)` when there is no such queue.
   * @throws AccessRefused (403) without permission; ResourceLocked (405) for another connection's
   *   exclusive queue; Timeout; the connection's error.
   */
  checkQueue(queue: string, opts: CallOptions = {}): Promise<Result<QueueDeclareOk, NotFound>> {
    return checkQueue(() => this.channel(undefined, opts), queue, opts);
  }

  /**
   * Whether exchange `exchange` exists, without closing any channel of yours (as `checkQueue`).
   * Resolves `Ok(undefined)`, or `Err(NotFound)` when there is no such exchange.
   * @throws AccessRefused (403) without permission; Timeout; the connection's error.
   */
  checkExchange(exchange: string, opts: CallOptions = {}): Promise<Result<void, NotFound>> {
    return checkExchange(() => this.channel(undefined, opts), exchange, opts);
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
    const done = this.zero.expect('connection.close-ok');
    done.catch(() => undefined); // settled below either way; never an unhandled rejection
    try {
      this.zero.send('connection.close', {
        replyCode: opts.replyCode ?? 200,
        replyText: opts.replyText ?? 'Normal shutdown',
        classId: opts.classId ?? 0,
        methodId: opts.methodId ?? 0,
      });
    } catch {
      // an invalid replyText or code: close without telling the broker why
    }
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
