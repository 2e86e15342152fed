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
import { type ChannelOptions, type CloseOptions, checkAckBatchDelay, type QueueDeclareOk } from '../channel/options.js';
import { type AMQPError, ArgumentError, ConnectionClosed, ConnectionLost, type NotFound } from '../errors.js';
import { diagConnection, diagRecovery } from '../diagnostics-publish.js';
import type { FieldTable } from '../protocol/primitives.js';
import type { ConnectionStats } from '../stats.js';
import { Backoff, type ReconnectStrategy, Sleeper } from '../recovery/backoff.js';
import { isFatal, reconnect, restoreConnection, startsRecovery } from '../recovery/reconnect.js';
import type { Transport } from '../transport/transport.js';
import { LazyEmitter } from '../util/lazy-emitter.js';
import { type CallOptions, checkTimeout, type Deferred, deferred, waitWith } from '../util/wait.js';
import type { ConnectionEvents, ConnectionState } from './events.js';
import { establish } from './establish.js';
import { checkExchange, checkQueue } from './existence.js';
import { type ConnectionOptions, describeEndpoint, type ResolvedOptions, resolveOptions } from './options.js';
import { ChannelZero } from './channel-zero.js';
import { type ConfirmWatchdog, watchConfirms } from './confirm-watchdog.js';
import { FrameRouter } from './router.js';
import { SharedState } from './shared.js';

export type { ConnectionEvents, ConnectionState } from './events.js';

/** Options of `Connection.close()` (the same as a channel's). */
export type ConnectionCloseOptions = CloseOptions;

const clientClosed = (): ConnectionClosed => new ConnectionClosed('the connection was closed by the client');

/** An AMQP connection. Create one with `Connection.connect()`. */
export class Connection extends LazyEmitter<ConnectionEvents> {
  /** Default timeout (ms) of channel calls. */
  readonly callTimeout: number;
  /** Whether unconfirmed publishes are republished after recovery. */
  readonly republish: boolean;
  /** What the connection's parts share (the channels' host): state, negotiated values, transport... */
  private readonly s: SharedState;
  private readonly endpoints: ResolvedOptions[];
  private endpointIndex = 0;
  private readonly strategy: ReconnectStrategy | null;
  private readonly socketOption: ConnectionOptions['socket'];
  private readonly onBlocked: ((reason: string) => void) | undefined;
  private readonly onUnblocked: (() => void) | undefined;
  private openWaiters: Deferred<void>[] | null = null;
  private closing: Promise<void> | null = null;
  private readonly sleeper = new Sleeper();
  private readonly zero: ChannelZero;
  private readonly confirmTimeout: number;
  private watchdog: ConfirmWatchdog | null = null;

  private constructor(input: ConnectionOptions) {
    super();
    const urls = input.urls ?? [];
    this.endpoints = urls.length > 0 ? urls.map((url) => resolveOptions({ ...input, url })) : [resolveOptions(input)];
    const first = this.endpoints[0] as ResolvedOptions;
    this.callTimeout = first.callTimeout;
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
    const outageLimit = input.publishBufferBytes ?? 16 * 1024 * 1024;
    if (!(outageLimit >= 0)) throw new ArgumentError('publishBufferBytes must be >= 0');
    const ct = input.confirmTimeout ?? 0;
    if (!(ct >= 0 && Number.isFinite(ct))) throw new ArgumentError(`confirmTimeout must be a finite number of ms >= 0, got ${String(ct)}`);
    this.confirmTimeout = ct;
    this.s = new SharedState(this, first, this.callTimeout, this.republish, outageLimit);
    this.zero = new ChannelZero(this.s, (reason) => this.onBlocking(reason));
  }

  /** connection.blocked (`reason`) or connection.unblocked (null) from the broker. */
  private onBlocking(reason: string | null): void {
    if (reason !== null) {
      this.s.blocked = true;
      this.s.blockedReason = reason;
      diagConnection(this, 'blocked', undefined, reason);
      this.emit('blocked', reason);
      this.onBlocked?.(reason);
    } else {
      this.unblock();
      diagConnection(this, 'unblocked');
      this.emit('unblocked');
      this.onUnblocked?.();
    }
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
        conn.s.state = 'open';
        conn.strategy?.reset();
        conn.watchdog ??= watchConfirms(conn.s, conn.confirmTimeout);
        diagConnection(conn, 'open');
        return conn;
      } catch (err) {
        last = err;
        if (isFatal(err) || input.signal?.aborted) break;
      }
    }
    conn.s.state = 'closed';
    throw last;
  }

  // ---------------------------------------------------------------- read-only state

  /** The lifecycle state: connecting, open, recovering, closing or closed. */
  get state(): ConnectionState {
    return this.s.state;
  }

  /** True once the handshake completed and while not recovering or closed. */
  get connected(): boolean {
    return this.s.state === 'open';
  }

  /** Open channels by id (read-only: open channels with `channel()`, close them with `close()`). */
  get channels(): ReadonlyMap<number, Channel> {
    return this.s.channels.channels();
  }

  /** The server's properties from connection.start (product, version, capabilities...). */
  get serverProperties(): Readonly<FieldTable> {
    return this.s.serverProperties;
  }

  /** The server's advertised capabilities (`serverProperties.capabilities`). */
  get serverCapabilities(): Readonly<FieldTable> {
    const c = this.s.serverProperties['capabilities'];
    return c !== null && typeof c === 'object' && !Array.isArray(c) && !Buffer.isBuffer(c) && !(c instanceof Date) ? (c as FieldTable) : {};
  }

  /** Negotiated highest channel id. */
  get channelMax(): number {
    return this.s.channelMax;
  }

  /** Negotiated largest frame size in bytes. */
  get frameMax(): number {
    return this.s.frameMax;
  }

  /** Negotiated heartbeat interval in seconds (0 = none). */
  get heartbeat(): number {
    return this.s.heartbeat;
  }

  /** True while the broker blocks publishing (memory or disk alarm); see `blockedReason`. */
  get blocked(): boolean {
    return this.s.blocked;
  }

  /** The reason the broker gave for blocking, if blocked. */
  get blockedReason(): string {
    return this.s.blockedReason;
  }

  /**
   * A snapshot of this connection's counters since it was created (a recovery does not reset
   * them): published, confirmed, nacked, returned, delivered, acked, rejected, bytesIn,
   * bytesOut, recoveries, channelsOpen (see ConnectionStats). Cheap: plain counters.
   * @throws nothing; it works in any state, closed included.
   */
  stats(): ConnectionStats {
    const s = this.s;
    return s.stats.snapshot(s.hints.bytesIn, s.hints.bytesOut, s.channels.size);
  }

  /** True while the connection is open and its socket alive. */
  isAlive(): boolean {
    return this.s.state === 'open' && this.s.transport !== null && !this.s.transport.isDead;
  }

  /** Inspects as what a person needs: where (no password), state, channels. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const o = this.s.current;
    return `Connection { url: '${describeEndpoint(o)}', user: '${o.userid}', vhost: '${o.virtualHost}', state: '${this.s.state}', channels: ${this.s.channels.size} }`;
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
    const s = this.s;
    this.zero.serverCloseError = null;
    const router = new FrameRouter(s, this.zero, (t, err) => this.onTransportClose(t, err));
    const n = await establish({
      ep,
      where: describeEndpoint(ep),
      socket: this.socketOption,
      hints: s.hints,
      signal,
      router,
      attached: (t) => {
        s.transport = t;
        s.current = ep;
      },
      closedMeanwhile: () => (s.state === 'closing' || s.state === 'closed' ? (s.closeError ?? clientClosed()) : null),
      io: this.zero,
    });
    s.serverProperties = n.serverProperties;
    s.channelMax = n.channelMax;
    s.frameMax = n.frameMax;
    s.heartbeat = n.heartbeat;
  }

  private unblock(): void {
    this.s.blocked = false;
    this.s.blockedReason = '';
    this.s.channels.each((p) => p.wakePublishers());
  }

  private onTransportClose(t: Transport, err: AMQPError | undefined): void {
    const s = this.s;
    if (t !== s.transport) return;
    const cause = this.zero.serverCloseError ?? err;
    this.zero.serverCloseError = null;
    this.zero.failWaiter(cause ?? new ConnectionLost('the connection closed'));
    if (s.state === 'connecting') return; // establish() fails and says why
    if (s.state === 'recovering') {
      // died again mid-recovery: settle what the restore steps wait for; the loop goes on
      const lost = cause ?? new ConnectionLost('the connection closed');
      s.channels.each((p) => p.connectionLost(lost, this.republish));
      return;
    }
    if (s.state === 'open' && this.strategy && cause !== undefined && startsRecovery(cause)) {
      this.beginRecovery(cause);
      return;
    }
    this.terminate(cause);
  }

  /** Closed for good: settle everything with `cause` (or ConnectionClosed after a clean close). */
  private terminate(cause: AMQPError | undefined): void {
    const s = this.s;
    if (s.state === 'closed') return;
    const reason = cause ?? clientClosed();
    s.closeError = reason;
    s.state = 'closed';
    this.watchdog?.stop();
    this.sleeper.wake();
    const t = s.transport;
    if (t && !t.isDead) t.fail(reason);
    s.channels.each((p) => p.connectionClosed(reason));
    s.channels.clear();
    s.failEventWaiters(reason);
    diagConnection(this, 'closed', cause);
    const ow = this.openWaiters;
    this.openWaiters = null;
    if (ow !== null) for (const d of ow) d.reject(reason);
    queueMicrotask(() => this.emit('close', cause));
  }

  // ---------------------------------------------------------------- recovery

  private beginRecovery(cause: AMQPError): void {
    const s = this.s;
    s.state = 'recovering';
    diagConnection(this, 'lost', cause);
    diagConnection(this, 'recovering', cause);
    const since = Date.now();
    s.channels.each((p) => p.connectionLost(cause, this.republish));
    s.failEventWaiters(cause);
    if (s.blocked) this.unblock();
    const strategy = this.strategy as ReconnectStrategy;
    queueMicrotask(() => {
      this.emit('disconnected', cause); // before the first 'reconnecting'
      void reconnect(
        {
          get recovering() {
            return s.state === 'recovering';
          },
          nextEndpoint: () => {
            const ep = this.endpoints[this.endpointIndex++ % this.endpoints.length] as ResolvedOptions;
            return { url: describeEndpoint(ep), connect: () => this.establish(ep) };
          },
          restore: () => this.restoreAll(),
          sleep: (ms) => this.sleeper.sleep(ms),
          attempting: (info) => {
            diagRecovery(this, 'attempt', { attempt: info.attempt, url: info.url, ms: info.delay });
            this.emit('reconnecting', info);
          },
          abandon: () => s.transport?.fail(s.closeError ?? clientClosed()),
          giveUp: (err) => {
            diagRecovery(this, 'failed', { error: err });
            this.emit('recoveryFailed', err);
            this.terminate(err);
          },
          recovered: (info) => {
            s.state = 'open';
            s.stats.recoveries++;
            diagConnection(this, 'recovered');
            diagRecovery(this, 'recovered', { attempt: info.attempts, url: info.url, ms: info.downtimeMs });
            const ws = this.openWaiters;
            this.openWaiters = null;
            if (ws !== null) for (const d of ws) d.resolve();
            this.emit('recovered', info);
          },
        },
        strategy,
        since,
      );
    });
  }

  private restoreAll(): Promise<boolean> {
    const s = this.s;
    return restoreConnection({
      topology: s.topology,
      openChannel: async () => {
        const { channel, port } = s.channels.add(s, s.channels.allocate(s.channelMax), { autoDecode: false, ackBatchDelay: 0 });
        await port.open({ timeout: this.callTimeout });
        return channel;
      },
      ports: () => s.channels.ports(),
      alive: () => s.transport !== null && !s.transport.isDead,
      entityFailed: (entity, error) => {
        diagRecovery(this, 'entityFailed', { entity, error });
        this.emit('recoveryError', { entity, error });
      },
    });
  }

  // ---------------------------------------------------------------- channels

  /**
   * Opens a channel (channel.open), or returns the open channel with `channelId` if there is one.
   * While the connection is recovering it waits (up to the timeout) for recovery first.
   * @throws ArgumentError for an id out of range or a bad `ackBatchDelay`; ResourceError when every id is taken;
   *   the connection's error when it is closed (ConnectionClosed after `close()`); Timeout.
   */
  async channel(channelId?: number, opts: ChannelOptions = {}): Promise<Channel> {
    checkTimeout(opts.timeout);
    const ackBatchDelay = checkAckBatchDelay(opts.ackBatchDelay ?? this.s.current.ackBatchDelay);
    const s = this.s;
    const timeout = opts.timeout ?? this.callTimeout;
    if (s.state === 'recovering') {
      const d = deferred<void>();
      (this.openWaiters ??= []).push(d);
      await waitWith(d.promise, { timeout, signal: opts.signal }, 'channel (waiting for recovery)');
    }
    if (s.state !== 'open') throw s.closeError ?? new ConnectionLost('the connection is not open');
    if (channelId !== undefined) {
      if (!Number.isInteger(channelId) || channelId < 1 || channelId > s.channelMax) {
        throw new ArgumentError(`channel id must be an integer in [1, ${s.channelMax}], got ${String(channelId)}`);
      }
      const existing = s.channels.get(channelId);
      if (existing) return existing.channel;
    }
    const id = channelId ?? s.channels.allocate(s.channelMax);
    const c = s.channels.add(s, id, { autoDecode: opts.autoDecode ?? s.current.autoDecode, ackBatchDelay });
    try {
      await c.port.open({ timeout, signal: opts.signal });
    } catch (err) {
      if (s.channels.get(id)?.channel === c.channel) s.releaseChannel(id);
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
    const s = this.s;
    if (s.state === 'closed') return Promise.resolve();
    if (this.closing) return this.closing;
    const wasOpen = s.state === 'open';
    s.state = 'closing';
    this.sleeper.wake();
    const t = s.transport;
    if (!wasOpen || !t || t.isDead) {
      this.terminate(undefined);
      this.closing = Promise.resolve();
      return this.closing;
    }
    const done = this.zero.expect('connection.close-ok');
    done.catch(() => undefined); // settled below either way; never an unhandled rejection
    s.channels.each((p) => p.flushAcks()); // coalesced acks go out before the close
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
    const s = this.s;
    if (s.state === 'closed') return Promise.reject(s.closeError ?? new ConnectionLost('the connection is closed'));
    const d = deferred<void>();
    (s.eventWaiters ??= []).push(d);
    return waitWith(d.promise, opts, 'drainEvents').catch((err: unknown) => {
      if (s.eventWaiters !== null) s.eventWaiters = s.eventWaiters.filter((x) => x !== d);
      throw err;
    });
  }

  /**
   * Calls `drainEvents({ timeout })` until the connection closes. Resolves after a clean
   * `close()`, rejects with the connection's error, or with Timeout when an interval passes with
   * no event. A loss the connection recovers from does not end the loop.
   */
  async loop(opts: CallOptions = {}): Promise<void> {
    while (this.s.state !== 'closed') {
      try {
        await this.drainEvents(opts);
      } catch (err) {
        const state = this.s.state as ConnectionState;
        if (state === 'closed' && this.s.closeError instanceof ConnectionClosed) return;
        if (state === 'recovering' || state === 'open') {
          if (!startsRecovery(err)) throw err; // e.g. Timeout
          continue; // the connection was lost and is coming back: keep draining
        }
        throw err;
      }
    }
  }
}
