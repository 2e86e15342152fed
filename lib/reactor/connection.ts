/**
 * ContainerConnection: the connection handle `Container.connect()` returns at once (Proton's
 * `proton.Connection`); the connecting, and the events, follow.
 *
 * The layer does its own reconnecting (the core connection runs with reconnect off), so that
 * links come back as Proton's do: re-attached from their options, which re-runs their checks
 * and declarations (a dynamic receiver gets a new queue and address, a stream Copy resumes after
 * its last offset) and sends again what was in flight. Lifecycle: connecting -> open ->
 * (lost: onTransportError, onDisconnected; reconnecting -> open, onConnectionOpened ...) ->
 * closing -> closed (onLinkClosed / onSessionClosed per link, then onConnectionClosed). Attempts
 * follow the reconnect strategy (a Backoff by default); a failed attempt fires onTransportError.
 * Errors retrying cannot fix (403 access refused, 530 not allowed, 402 invalid vhost) end it.
 *
 * Transactions run on one transactional session per connection (a channel in tx mode), shared
 * by the transactions (one at a time) and by the receivers whose handlers handle transactions.
 */
import {
  AccessRefused,
  type AMQPError,
  ArgumentError,
  type Channel,
  Connection,
  ConnectionLost,
  type FieldTable,
  InvalidPath,
  type Message,
  NotAllowed,
  type ReconnectStrategy,
  startsRecovery,
} from '../core.js';
import type { ResolvedConnect } from './connect-options.js';
import { Lane } from './dispatcher.js';
import { asAmqpError } from './errors.js';
import type { Handler } from './handlers.js';
import { type Link, ProtonSession } from './link.js';
import type { Reactor } from './model.js';
import type { Sender } from './sender.js';
import type { Transaction } from './transaction.js';

declare module './model.js' {
  interface Reactor {
    /** The ContainerConnection class (see model.ts). */
    ContainerConnection: ContainerConnection;
  }
}

type Container = Reactor['Container'];
type EventContext = Reactor['EventContext'];

/** A container connection's lifecycle state. */
export type ContainerConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

const isFatal = (err: unknown): boolean =>
  err instanceof AccessRefused || err instanceof NotAllowed || err instanceof InvalidPath || err instanceof ArgumentError;

/** See the file header. */
export class ContainerConnection {
  /** The container. */
  readonly container: Container;
  /** The connection's own handler, if one was given to connect(). */
  readonly handler: Handler | undefined;
  /** The broker, for display (no password). */
  readonly url: string;
  /** The lifecycle state. */
  state: ContainerConnectionState = 'connecting';
  /** @internal The core connection while connected. */
  core: Connection | null = null;
  /** @internal Ms a broker round trip of the layer may take. */
  readonly callTimeout: number;
  /** @internal The connection's event lane. */
  readonly lane = new Lane();
  /** The transactional session (one per connection). */
  readonly transactionalSession: ProtonSession;
  /** @internal The transaction in progress on the transactional session. */
  activeTransaction: Transaction | null = null;
  private readonly options: ResolvedConnect;
  private readonly strategy: ReconnectStrategy | null;
  private readonly linkSet = new Set<Link>();
  private readonly declaring = new Set<Transaction>();
  private abort = new AbortController();
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  private txCore: Connection | null = null;
  private txReady: Promise<Channel> | null = null;
  private properties: FieldTable = {};

  /** @internal Made by container.connect(). */
  constructor(container: Container, options: ResolvedConnect, handler: Handler | undefined) {
    this.container = container;
    this.options = options;
    this.strategy = options.strategy;
    this.handler = handler;
    this.url = options.display;
    this.callTimeout = options.callTimeout;
    this.transactionalSession = new ProtonSession(this, true);
  }

  /** The broker's properties from connection.start (product, version, capabilities...). */
  get remoteProperties(): FieldTable {
    return this.properties;
  }

  /**
   * Capabilities in Proton's terms: `ANONYMOUS-RELAY` (a sender without a target routes by each
   * message's address: always available here) and each capability the broker advertised.
   */
  get remoteOfferedCapabilities(): string[] {
    const caps = this.properties['capabilities'];
    const on = caps !== null && typeof caps === 'object' && !Array.isArray(caps) ? Object.entries(caps).filter(([, v]) => v === true) : [];
    return ['ANONYMOUS-RELAY', ...on.map(([k]) => k)];
  }

  /** The connection's links that are not closed. */
  get links(): readonly Link[] {
    return [...this.linkSet];
  }

  /** @internal The handlers of this connection's events. */
  handlers(): readonly Handler[] {
    return this.handler ? [this.handler] : this.container.handlers;
  }

  /** @internal Queues event `type` on this connection's lane. */
  fire(type: string, ctx: EventContext = {}, after: readonly Lane[] = []): void {
    this.container.fire(this.lane, after, type, { connection: this, ...ctx }, this.handlers());
  }

  /** @internal Starts connecting. */
  start(): void {
    void this.loop(true);
  }

  private async loop(first: boolean): Promise<void> {
    for (let attempt = first ? 0 : 1; ; attempt++) {
      if (attempt > 0) {
        const delay = Math.max(0, this.strategy?.next() ?? 0);
        if (delay > 0) await this.sleep(delay);
      }
      if (this.closeRequested) return this.ended(undefined, false);
      let core: Connection;
      try {
        core = await Connection.connect({ ...this.options.core, signal: this.abort.signal });
      } catch (err) {
        const e = asAmqpError(err);
        if (this.closeRequested) return this.ended(undefined, false);
        this.fire('transportError', { error: e });
        if (!this.strategy || isFatal(e)) return this.ended(e, false);
        continue;
      }
      if (this.closeRequested) {
        await core.close({ timeout: this.callTimeout }).catch(() => undefined);
        return this.ended(undefined, false);
      }
      this.opened(core);
      return;
    }
  }

  private get closeRequested(): boolean {
    return this.state === 'closing';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleeper = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeper = { timer, wake };
    });
  }

  private opened(core: Connection): void {
    this.core = core;
    this.state = 'open';
    this.properties = core.serverProperties;
    this.strategy?.reset();
    core.on('close', (err) => this.lost(core, err));
    core.on('unblocked', () => {
      for (const l of this.linkSet) if (l.kind === 'sender') (l as Sender).scheduleSendable();
    });
    this.fire('connectionOpened');
    for (const l of this.linkSet) void l.attach(core);
    for (const tx of this.declaring) void tx.declareOn(core);
  }

  private lost(core: Connection, err: AMQPError | undefined): void {
    if (core !== this.core) return;
    this.core = null;
    this.txReady = null;
    this.txCore = null;
    this.transactionalSession.channel = null;
    for (const l of this.linkSet) l.connectionLost();
    const tx = this.activeTransaction;
    this.activeTransaction = null;
    tx?.lost(err ?? new ConnectionLost('the connection closed'));
    if (this.state === 'closing') return this.ended(undefined, true);
    if (err && this.strategy && startsRecovery(err)) {
      this.state = 'reconnecting';
      this.abort = new AbortController();
      this.fire('transportError', { error: err });
      this.fire('disconnected', { error: err });
      void this.loop(false);
      return;
    }
    this.ended(err, true);
  }

  /** Closed for good: links end, then onConnectionClosed; the container lets go of it. */
  private ended(err: AMQPError | undefined, wasConnected: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (err && wasConnected) {
      if (err.replyCode === 200) this.fire(this.peerCloseIsError() ? 'connectionError' : 'connectionClosing', { error: err });
      else if (err.replyCode !== 0) this.fire('connectionError', { error: err });
      else this.fire('transportError', { error: err });
      this.fire('disconnected', { error: err });
    }
    for (const tx of this.declaring) tx.lost(err ?? new ConnectionLost('the connection was closed'));
    this.declaring.clear();
    const lanes = [...this.linkSet].map((l) => l.lane);
    for (const l of [...this.linkSet]) l.connectionEnded(err);
    this.fire('connectionClosed', err ? { error: err } : {}, lanes);
    this.container.post(this.lane, () => this.container.release(this), []);
  }

  private peerCloseIsError(): boolean {
    return this.handlers().some((h) => (h as { peerCloseIsError?: unknown }).peerCloseIsError === true);
  }

  /**
   * Closes the connection: waits (up to the call timeout) for the messages being handled and for
   * senders' messages in flight, then connection.close. Stops reconnecting. Events follow
   * (onLinkClosed, onSessionClosed for each link, then onConnectionClosed).
   */
  close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.abort.abort();
    this.sleeper?.wake();
    const core = this.core;
    if (core) void this.closeGracefully(core);
  }

  private async closeGracefully(core: Connection): Promise<void> {
    await this.bounded(Promise.all([...this.linkSet].map((l) => l.quiesce())));
    await core.close({ timeout: this.callTimeout }).catch(() => undefined);
  }

  /** @internal Waits for `p` at most the call timeout (the timer is cleared either way). */
  async bounded(p: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p.then(undefined, () => undefined), new Promise<void>((r) => (timer = setTimeout(r, this.callTimeout)))]);
    clearTimeout(timer);
  }

  /** @internal A link joins: it attaches now if the connection is open, else when it opens. */
  register(link: Link): void {
    if (this.state === 'closing' || this.state === 'closed')
      throw new ArgumentError(`connection to ${this.url} is ${this.state}: no new links`);
    this.linkSet.add(link);
    if (this.core && this.state === 'open') void link.attach(this.core);
  }

  /** @internal A link is closed. */
  unregister(link: Link): void {
    this.linkSet.delete(link);
  }

  /** @internal A transaction to declare now if open, else once the connection opens. */
  declareTransaction(tx: Transaction): void {
    if (this.state === 'closing' || this.state === 'closed')
      throw new ArgumentError(`connection to ${this.url} is ${this.state}: no new transactions`);
    this.declaring.add(tx);
    if (this.core && this.state === 'open') void tx.declareOn(this.core);
  }

  /** @internal The transaction was declared (or failed): no longer waiting for the connection. */
  declared(tx: Transaction): void {
    this.declaring.delete(tx);
  }

  /** @internal The transactional session's channel on `core`, opened in tx mode on first use. */
  txChannel(core: Connection): Promise<Channel> {
    if (this.txCore !== core || !this.txReady) {
      this.txCore = core;
      const ready = (async () => {
        const ch = await core.channel(undefined, { timeout: this.callTimeout });
        await ch.txSelect({ timeout: this.callTimeout });
        ch.on('return', (msg: Message) => {
          ch.returnedMessages.length = 0;
          this.activeTransaction?.returned(msg);
        });
        ch.on('channelError', (err) => {
          const tx = this.activeTransaction;
          if (tx?.state === 'declared') {
            this.activeTransaction = null;
            tx.lost(err);
          }
        });
        this.transactionalSession.channel = ch;
        return ch;
      })();
      ready.catch(() => {
        if (this.txReady === ready) this.txReady = null;
      });
      this.txReady = ready;
    }
    return this.txReady;
  }
}
