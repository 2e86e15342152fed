/**
 * Link and ProtonSession, the parts senders and receivers share. A Proton session is a channel: each
 * link gets a channel of its own (so one link's channel error or confirm mode never touches
 * another's), except receivers that handle transactions, which share their connection's
 * transactional session. A link is a publisher (Sender) or a consumer (Receiver) on it.
 *
 * Lifecycle: attaching -> open -> (connection lost: detached -> attaching -> open ...) ->
 * closing -> closed. `attach()` runs when the connection opens, and again after each reconnect;
 * an attach that fails ends the link: onLinkError, then onLinkClosed and onSessionClosed. A
 * server-side channel error fires onSessionError; the core reopens the channel (onSessionOpened).
 */
import { type AMQPError, type Channel, ChannelClosed, type Connection, ConnectionError, type FieldTable } from '../core.js';
import { Lane } from './dispatcher.js';
import { LinkClosed, asAmqpError } from './errors.js';
import type { Handler } from './handlers.js';
import type { Reactor } from './model.js';

declare module './model.js' {
  interface Reactor {
    /** The Link class (see model.ts). */
    Link: Link;
  }
}

type Container = Reactor['Container'];
type ContainerConnection = Reactor['ContainerConnection'];
type EventContext = Reactor['EventContext'];

/** Who settles first (AMQP 1.0): `settled` = at most once (no confirms / noAck). */
export type SenderSettleMode = 'settled' | 'unsettled' | 'mixed';
/** Receiver settle mode (AMQP 1.0); 0.9.1 settles on the first ack: only `first` has meaning. */
export type ReceiverSettleMode = 'first' | 'second';
/** Move = competing consumers, copy = every receiver sees every message. */
export type DistributionMode = 'move' | 'copy';
/** Terminus durability (AMQP 1.0); `deliveries` = DurableSubscription. */
export type TerminusDurability = 'none' | 'configuration' | 'deliveries';
/** When a terminus expires (AMQP 1.0); `never` = DurableSubscription. */
export type ExpiryPolicy = 'link-detach' | 'session-end' | 'connection-close' | 'never';
/** A link's lifecycle state (see the file header). */
export type LinkState = 'attaching' | 'open' | 'detached' | 'closing' | 'closed';

/** A link's source or target, as its options set it. */
export class Terminus {
  /** The address (undefined for an anonymous target or a dynamic source). */
  address: string | undefined;
  /** A dynamic node: a server-named queue (receivers). */
  dynamic = false;
  /** Durability; `deliveries` makes a durable subscription. */
  durable: TerminusDurability = 'none';
  /** Expiry policy; `never` with a durable subscription. */
  expiryPolicy: ExpiryPolicy = 'session-end';
  /** Distribution mode (receivers); undefined = move. */
  distributionMode: DistributionMode | undefined = undefined;
  /** Binding arguments (Filter, Selector) of the queue bound to an exchange address. */
  filter: FieldTable = {};
  /** The selector text, when a Selector was applied. */
  selector: string | undefined = undefined;
  /** Queue arguments (DynamicNodeProperties), undefined when none were given. */
  properties: FieldTable | undefined = undefined;

  /** @param address - the terminus address, if any. */
  constructor(address?: string) {
    this.address = address;
  }
}

/** A session: the channel a link runs on. */
export class ProtonSession {
  /** The connection. */
  readonly connection: ContainerConnection;
  /** True for the connection's transactional session (a channel in tx mode). */
  readonly transactional: boolean;
  /** @internal The channel while attached. */
  channel: Channel | null = null;

  /** @internal Sessions are made by links and connections. */
  constructor(connection: ContainerConnection, transactional: boolean) {
    this.connection = connection;
    this.transactional = transactional;
  }

  /** The channel number while attached, else undefined. */
  get channelId(): number | undefined {
    return this.channel?.channelId;
  }
}

/** @internal What createSender / createReceiver pass to a link. */
export interface LinkInit {
  /** The link name. */
  name: string;
  /** Its connection. */
  connection: ContainerConnection;
  /** Its own handler, if any. */
  handler: Handler | undefined;
  /** Its source terminus. */
  source: Terminus;
  /** Its target terminus. */
  target: Terminus;
  /** The session it runs on. */
  session: ProtonSession;
}

/** Base class of Sender and Receiver; see the file header. */
export abstract class Link {
  /** `sender` or `receiver`. */
  abstract readonly kind: 'sender' | 'receiver';
  /** The link name (a durable subscription's queue is named after it). */
  readonly name: string;
  /** The connection. */
  readonly connection: ContainerConnection;
  /** The session (channel) the link runs on. */
  readonly session: ProtonSession;
  /** The link's own handler, if one was given; else its connection's or the container's apply. */
  readonly handler: Handler | undefined;
  /** Where messages come from (receivers: the address consumed). */
  readonly source: Terminus;
  /** Where messages go (senders: the address published to). */
  readonly target: Terminus;
  /** The source as attached: for a dynamic receiver, `address` is the server-named queue. */
  readonly remoteSource = new Terminus();
  /** The target as attached. */
  readonly remoteTarget = new Terminus();
  /** Sender settle mode: `settled` (AtMostOnce) sends without confirms / receives with noAck. */
  sndSettleMode: SenderSettleMode = 'unsettled';
  /** Receiver settle mode. */
  rcvSettleMode: ReceiverSettleMode = 'first';
  /** The lifecycle state. */
  state: LinkState = 'attaching';
  /** @internal The link's event lane. */
  readonly lane = new Lane();
  /** @internal Bumped on every attach, detach and close: async work of an older attach is ignored. */
  protected gen = 0;
  private closedAnnounced = false;
  private closeAsked: { keepDurable: boolean } | null = null;

  /** @internal Links are made by the container. */
  constructor(init: LinkInit) {
    this.name = init.name;
    this.connection = init.connection;
    this.handler = init.handler;
    this.source = init.source;
    this.target = init.target;
    this.session = init.session;
  }

  /** The container. */
  get container(): Container {
    return this.connection.container;
  }

  /** True while attached. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** @internal The handlers of this link's events. */
  handlers(): readonly Handler[] {
    return this.handler ? [this.handler] : this.connection.handlers();
  }

  /** @internal Queues event `type` on this link's lane (after its connection's earlier events). */
  fire(type: string, ctx: EventContext = {}): void {
    this.container.fire(
      this.lane,
      [this.connection.lane],
      type,
      { link: this, session: this.session, connection: this.connection, ...ctx },
      this.handlers(),
    );
  }

  /** @internal Attaches on `core` (the connection just opened, or reopened after a loss). */
  async attach(core: Connection): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    const gen = ++this.gen;
    this.state = 'attaching';
    try {
      await this.doAttach(core, gen);
      if (gen !== this.gen) return;
      this.state = 'open';
      this.fire('linkOpened');
      this.opened();
      if (this.closeAsked) this.beginClose();
    } catch (err) {
      if (gen !== this.gen || !core.connected) return; // detached meanwhile, or the connection deals with it
      this.fail(asAmqpError(err));
    }
  }

  /** @internal Sets up the channel, checks and consumer or publisher; throws to fail the link. */
  protected abstract doAttach(core: Connection, gen: number): Promise<void>;

  /** @internal After onLinkOpened (senders: flush and onSendable; receivers: start). */
  protected abstract opened(): void;

  /** @internal Stops timers and loops of the current attach. */
  protected abstract stopActivity(): void;

  /** @internal Opens this link's own channel (or takes the transactional session's) and watches it. */
  protected async openChannel(core: Connection, gen: number): Promise<Channel> {
    const ch = this.session.transactional
      ? await this.connection.txChannel(core)
      : await core.channel(undefined, { timeout: this.connection.callTimeout });
    if (gen !== this.gen) {
      if (!this.session.transactional) void ch.close().catch(() => undefined);
      throw new LinkClosed(`link '${this.name}' was detached while attaching`);
    }
    this.session.channel = ch;
    if (!this.session.transactional) {
      ch.on('channelError', (err) => {
        if (gen === this.gen) this.channelError(err);
      });
      ch.on('reopen', () => {
        if (gen === this.gen) this.fire('sessionOpened');
      });
      ch.on('close', (err) => {
        if (gen === this.gen && err !== undefined && core.connected) this.fail(err);
      });
    }
    this.fire('sessionOpened');
    return ch;
  }

  /** @internal The broker closed this link's channel with `err`; the core reopens it. */
  protected channelError(err: AMQPError): void {
    this.fire('sessionError', { error: err });
  }

  /** @internal The connection was lost; the link reattaches when it is back. */
  connectionLost(): void {
    this.gen++;
    this.stopActivity();
    if (!this.session.transactional) this.session.channel = null;
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'detached';
    if (this.closeAsked) this.beginClose(); // closed while attaching: nothing left to wait for
  }

  /** @internal The connection closed for good (`err` undefined after close()). */
  connectionEnded(err: AMQPError | undefined): void {
    this.gen++;
    this.stopActivity();
    this.session.channel = null;
    this.state = 'closed';
    this.connection.unregister(this);
    this.announceClosed(err);
  }

  /** @internal The link failed: onLinkError, then it closes (onLinkClosed, onSessionClosed). */
  fail(err: AMQPError): void {
    if (this.state === 'closed') return;
    this.gen++;
    this.stopActivity();
    this.state = 'closed';
    this.connection.unregister(this);
    this.fire('linkError', { error: err });
    void this.releaseChannel().finally(() => this.announceClosed(err));
  }

  private announceClosed(err: AMQPError | undefined): void {
    if (this.closedAnnounced) return;
    this.closedAnnounced = true;
    this.fire('linkClosed', err ? { error: err } : {});
    this.fire('sessionClosed', err ? { error: err } : {});
  }

  /** @internal Closes this link's own channel, or cancels its consumer on a shared one. */
  protected async releaseChannel(): Promise<void> {
    const ch = this.session.channel;
    if (!this.session.transactional) this.session.channel = null;
    if (ch && !this.session.transactional) await ch.close({ timeout: this.connection.callTimeout }).catch(() => undefined);
  }

  /**
   * Closes the link: a sender first waits (up to the connection's call timeout) for its messages
   * in flight to be settled; a receiver stops consuming once the message being handled is done.
   * onLinkClosed and onSessionClosed follow. Closing a closed link does nothing.
   */
  close(): void {
    this.shutdown(false);
  }

  /** Detaches the link: as close(), but a DurableSubscription's queue is kept for a later receiver. */
  detach(): void {
    this.shutdown(true);
  }

  private shutdown(keepDurable: boolean): void {
    if (this.closeAsked || this.state === 'closing' || this.state === 'closed') return;
    this.closeAsked = { keepDurable };
    // an attach in progress finishes first, so what was sent meanwhile goes out before the close
    if (this.state !== 'attaching') this.beginClose();
  }

  private beginClose(): void {
    const keepDurable = this.closeAsked?.keepDurable ?? false;
    const wasOpen = this.state === 'open';
    this.state = 'closing';
    const gen = ++this.gen;
    void (async () => {
      try {
        if (wasOpen) await this.beforeClose(keepDurable, gen);
      } catch {
        /* the channel or connection went away: closing anyway */
      }
      this.stopActivity();
      await this.releaseChannel();
      this.state = 'closed';
      this.connection.unregister(this);
      this.announceClosed(undefined);
    })();
  }

  /** @internal Resolves once the events queued so far for this link have been handled. */
  quiesce(): Promise<void> {
    return this.lane.tail;
  }

  /** @internal Graceful part of close(): settle what is in flight, cancel, delete what the link owns. */
  protected abstract beforeClose(keepDurable: boolean, gen: number): Promise<void>;

  /** @internal The error for using a link that is not usable. */
  protected closedError(what: string): LinkClosed {
    return new LinkClosed(`${what}: link '${this.name}' is ${this.state}`);
  }
}

/** True for errors that mean the channel or connection went away (not an outcome of the message). */
export function isGone(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof ChannelClosed;
}
