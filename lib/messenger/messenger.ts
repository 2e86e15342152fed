/**
 * Messenger: Qpid Proton's Messenger on AMQP 0.9.1: one logical outgoing queue (`put` / `send`)
 * and one incoming queue (`subscribe` / `recv` / `get`), addressed messages, trackers with
 * statuses, tracking windows, `route` / `rewrite` rules, blocking or not.
 *
 * Addresses are `[amqp[s]://][user[:password]@]domain[/name]`, parsed by the core's
 * `parseAddress` after `route()` rules: the domain is the broker (one connection per domain, made
 * on first use and recovered by the core), the name a queue or `/exchanges/x[/key]`. Queues are
 * used as they are: the Messenger declares nothing unless its `declare` option says so (an
 * exchange subscription gets a private queue, exclusive to the connection). Outgoing messages are
 * copied by `put()`, carry their address (after `rewrite()`) in the `x-amqpts-address` header, and
 * are published mandatory on a confirm-mode channel; `send()` waits for the confirms. `recv(n)`
 * grants credit: each subscription's consumer gets a prefetch of n plus what it holds, and the
 * consumers stop once n messages arrived; `recv(-1)` keeps them running with a prefetch of 1024.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import {
  AddressError,
  type AMQPError,
  ArgumentError,
  type ConnectionOptions,
  formatNode,
  Message,
  type QueueDeclareOptions,
  Timeout,
  type TlsOptions,
} from '../core.js';
import { checkInteger, withDeadline } from '../rpc/deadline.js';
import { outgoingCopy, publishTarget } from './copy.js';
import { Domain, type DomainHost } from './domain.js';
import { MessengerInterrupted, MessengerStateError, TrackerError } from './errors.js';
import { Incoming } from './incoming.js';
import { type OutEntry, Outgoing } from './outgoing.js';
import { readTls } from './tls.js';
import { TrackerStatus } from './status.js';
import { Subscription, Tracker, trackerOwner } from './tracker.js';
import { Router } from './transform.js';
import { type Condition, Waiters } from './waiters.js';

/** Credit per subscription of `recv(-1)` (Proton's credit batch). */
export const AUTO_CREDIT = 1024;

/** Options of `new Messenger(name, options)` (amqpts additions; the seed's settings are properties). */
export interface MessengerOptions {
  /**
   * Options for every domain's connection (e.g. `virtualHost`, `heartbeat`, `callTimeout`,
   * `reconnect`, `ssl` as a base for the TLS properties); the address gives the host, port and
   * credentials.
   */
  connectionOptions?: Omit<ConnectionOptions, 'url' | 'urls' | 'host' | 'port' | 'userid' | 'password'>;
  /** Declare the queues addresses name (`true`: a plain queue.declare, or its options). Default: declare nothing. */
  declare?: boolean | QueueDeclareOptions;
  /** Publish mandatory, so an unroutable message is RELEASED rather than dropped by the broker (default true). */
  mandatory?: boolean;
}

/** See the file header. */
export class Messenger {
  /** The Messenger's name; sent as each connection's `connection_name` (AMQP 1.0's container id). */
  readonly name: string;
  /** Path of a PEM certificate file, for client-authenticated TLS (amqps). */
  certificate: string | undefined;
  /** Path of the PEM private key file of `certificate`. */
  privateKey: string | undefined;
  /** Passphrase of `privateKey`, if it is encrypted. */
  password: string | undefined;
  /**
   * Path of a PEM file of trusted CA certificates for verifying the broker. Unlike Proton, leaving
   * it unset does not turn verification off: Node's bundled roots are used.
   */
  trustedCertificates: string | undefined;
  private blockingMode = true;
  private timeoutMs = -1;
  private isStopped = true;
  private readonly router = new Router();
  private readonly out: Outgoing;
  private readonly in: Incoming;
  private readonly domains = new Map<string, Domain>();
  private readonly subs: Subscription[] = [];
  private readonly waiters: Waiters;
  private credit = 0;
  private receiving = false;
  private lastError: AMQPError | undefined;
  /** Errors already raised by some call: not raised again by `work()`. */
  private readonly reported = new WeakSet<object>();
  private readonly host: DomainHost;

  /**
   * A stopped Messenger named `name` (default: a random UUID).
   * @throws ArgumentError for a name that is not a non-empty string or bad options.
   */
  constructor(name?: string, options: MessengerOptions = {}) {
    if (name !== undefined && (typeof name !== 'string' || name === ''))
      throw new ArgumentError('Messenger: name must be a non-empty string');
    const d = options.declare;
    if (d !== undefined && typeof d !== 'boolean' && (typeof d !== 'object' || d === null)) {
      throw new ArgumentError('Messenger: declare must be a boolean or queue declare options');
    }
    if (options.mandatory !== undefined && typeof options.mandatory !== 'boolean')
      throw new ArgumentError('Messenger: mandatory must be a boolean');
    this.name = name ?? randomUUID();
    this.waiters = new Waiters(`Messenger ${this.name}`);
    this.out = new Outgoing(this, {
      domain: (url) => this.domain(url),
      changed: () => this.changed(),
      failed: (err) => this.background(err),
    });
    this.in = new Incoming(this);
    const co = options.connectionOptions ?? {};
    this.host = {
      name: this.name,
      connectionOptions: co,
      declare: d === true ? {} : d === false || d === undefined ? undefined : d,
      mandatory: options.mandatory ?? true,
      tls: () => this.tls(typeof co.ssl === 'object' ? co.ssl : undefined),
      delivered: (domain, sub, msg) => this.delivered(domain, sub, msg),
      lost: (domain) => {
        const purged = this.in.lost(domain);
        if (this.credit !== Infinity) this.credit += purged;
        this.changed();
      },
      closed: (domain, err) => {
        if (this.domains.get(domain.url) === domain) this.domains.delete(domain.url);
        if (err) this.background(err);
        else this.changed();
      },
      subscriptionFailed: (sub) => {
        const i = this.subs.indexOf(sub);
        if (i >= 0) this.subs.splice(i, 1);
      },
    };
  }

  // ---------------------------------------------------------------- settings

  /** Milliseconds a blocking `send`, `recv` or `work` waits before `Timeout`; -1 (default) waits for ever. */
  get timeout(): number {
    return this.timeoutMs;
  }

  /** @throws ArgumentError unless -1 or a finite number >= 0. */
  set timeout(ms: number) {
    if (ms !== -1 && (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)) {
      throw new ArgumentError(`Messenger.timeout must be -1 (for ever) or a number of milliseconds >= 0, got ${String(ms)}`);
    }
    this.timeoutMs = ms;
  }

  /** When false, `send` and `recv` do what they can without waiting and return (default true). */
  get blocking(): boolean {
    return this.blockingMode;
  }

  /** @throws ArgumentError unless a boolean. */
  set blocking(on: boolean) {
    if (typeof on !== 'boolean') throw new ArgumentError('Messenger.blocking must be a boolean');
    this.blockingMode = on;
  }

  /** How many of the latest outgoing trackers keep their status (default 0: none). */
  get outgoingWindow(): number {
    return this.out.store.window;
  }

  /** @throws ArgumentError unless an integer >= 0. */
  set outgoingWindow(n: number) {
    checkInteger(n, 'Messenger.outgoingWindow', 0, 2 ** 31 - 1);
    this.out.store.window = n;
  }

  /**
   * How many of the latest deliveries taken with `get()` stay tracked, so they can be accepted or
   * rejected (default 0: `get()` accepts each at once). One that falls out unsettled is accepted.
   */
  get incomingWindow(): number {
    return this.in.store.window;
  }

  /** @throws ArgumentError unless an integer >= 0. */
  set incomingWindow(n: number) {
    checkInteger(n, 'Messenger.incomingWindow', 0, 2 ** 31 - 1);
    this.in.store.window = n;
  }

  /** True before `start()` and after `stop()`. */
  get stopped(): boolean {
    return this.isStopped;
  }

  /** Messages put and not yet published. */
  get outgoing(): number {
    return this.out.depth;
  }

  /** Messages received and not yet taken with `get()`. */
  get incoming(): number {
    return this.in.depth;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Makes the Messenger active; connections are made on first use. */
  async start(): Promise<void> {
    this.isStopped = false;
  }

  /**
   * Stops: blocking calls in progress end with MessengerInterrupted, every connection closes
   * (publishes awaiting a confirm become SETTLED, deliveries not settled go back to the broker and
   * leave the incoming queue). Messages not yet published stay in the outgoing queue for a later
   * `start()`. Stopping a stopped Messenger does nothing.
   */
  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    this.receiving = false;
    this.credit = 0;
    this.waiters.endAll(new MessengerInterrupted(`Messenger ${this.name} stopped`));
    const all = [...this.domains.values()];
    this.domains.clear();
    // timeout 0 means 'do not wait' for send/recv; a close still gets the connection's callTimeout
    await Promise.all(all.map((d) => d.close(this.timeoutMs > 0 ? this.timeoutMs : undefined)));
    this.in.clear();
    this.changed();
  }

  // ---------------------------------------------------------------- sending

  /**
   * Copies `message` into the outgoing queue (the message may be changed at once) and returns its
   * tracker. Nothing is sent until `send()` or `work()`.
   * @throws ArgumentError for a non-Message or a body that cannot be encoded; AddressError for a
   *   missing address or one that does not parse, names no broker (after `route()`) or no node.
   */
  put(message: Message<unknown>): Tracker {
    if (!(message instanceof Message)) throw new ArgumentError('Messenger.put: message must be a Message');
    const address = message.address;
    if (typeof address !== 'string' || address === '')
      throw new AddressError('Messenger.put: the message has no address (set message.address)');
    const { url, node } = this.router.resolve(address, 'put');
    const copy = outgoingCopy(message, this.router.carried(address));
    const { exchange, routingKey } = publishTarget(node, message.subject);
    return this.out.add(copy, url, node, exchange, routingKey);
  }

  /**
   * Publishes up to `n` queued messages (all with -1) and, when `blocking`, waits until the broker
   * settled each (see `status()`). Messages that could not be published go back to the queue.
   * @throws MessengerStateError when stopped; ArgumentError for a bad n; Timeout after `timeout`;
   *   MessengerInterrupted; the error that kept messages from being published (ConnectionLost,
   *   AccessRefused, a TLS file that cannot be read...).
   */
  async send(n = -1): Promise<void> {
    this.checkCount(n, 'send');
    this.checkStarted('send');
    const batch = this.out.take(n);
    this.out.dispatch(batch);
    if (!this.blockingMode) return;
    let i = 0;
    await this.waitFor(() => {
      while (i < batch.length && (batch[i] as OutEntry).state === 'done') i++;
      for (let j = i; j < batch.length; j++) {
        const e = batch[j] as OutEntry;
        if (e.state === 'queued') {
          const err = e.error ?? new MessengerStateError('a message went back to the outgoing queue');
          this.reported.add(err);
          if (err === this.lastError) this.lastError = undefined;
          return err;
        }
        if (e.state === 'sending') return false;
      }
      return true;
    }, 'send');
  }

  /** The last known status of `tracker`'s delivery (UNKNOWN outside the tracking windows). @throws TrackerError for a tracker of another Messenger. */
  status(tracker: Tracker): TrackerStatus {
    this.own(tracker, 'status');
    const e = tracker.direction === 'outgoing' ? this.out.entry(tracker) : this.in.store.get(tracker.sequence);
    return e?.status ?? TrackerStatus.UNKNOWN;
  }

  /**
   * Forgets a tracker's status (UNKNOWN from then on); without a tracker, every outgoing tracker up
   * to the last `put()`. An incoming delivery not yet accepted or rejected is released (requeued).
   * @throws TrackerError for a tracker of another Messenger.
   */
  settle(tracker?: Tracker): void {
    if (tracker === undefined) return this.out.settle(undefined);
    this.own(tracker, 'settle');
    if (tracker.direction === 'outgoing') this.out.settle(tracker);
    else this.in.settle(tracker);
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Subscribes to `source` (same address syntax; routed by `route()`); consuming starts with `recv()`.
   * Subscribing twice to the same node returns the same subscription.
   * @throws AddressError for an address that does not parse, names no broker or no node, or is a
   *   `~` listen address (a broker client does not listen).
   */
  subscribe(source: string): Subscription {
    const { url, node } = this.router.resolve(source, 'subscribe');
    const same = this.subs.find((s) => s.url === url && formatNode(s.node) === formatNode(node));
    if (same) return same;
    const sub = new Subscription(source, url, node);
    this.subs.push(sub);
    return sub;
  }

  /**
   * Grants credit for `n` more messages (-1: as many as it buffers, 1024 per subscription; 0 stops
   * receiving) and, when `blocking`, waits until at least one message is in the incoming queue.
   * @throws MessengerStateError when stopped or without subscriptions; ArgumentError for a bad n;
   *   NotFound for a queue that does not exist (the subscription is dropped); AccessRefused;
   *   Timeout after `timeout`; MessengerInterrupted.
   */
  async recv(n = -1): Promise<void> {
    this.checkCount(n, 'recv');
    this.checkStarted('recv');
    if (this.subs.length === 0)
      throw new MessengerStateError(`Messenger ${this.name}: recv() needs a subscription (call subscribe() first)`);
    const timeout = this.timeoutMs < 0 ? undefined : this.timeoutMs;
    if (n === 0) {
      this.credit = 0;
      this.receiving = false;
      const stopping = Promise.all([...this.domains.values()].map((d) => d.stopReceiving()));
      if (this.blockingMode) await withDeadline(stopping, { timeout }, 'recv(0)');
      else stopping.catch((err: unknown) => this.background(err));
      return;
    }
    this.credit = n < 0 ? Infinity : n;
    this.receiving = true;
    const byUrl = new Map<string, Subscription[]>();
    for (const s of this.subs) byUrl.set(s.url, [...(byUrl.get(s.url) ?? []), s]);
    const prefetch = (sub: Subscription): number => (n < 0 ? AUTO_CREDIT : n + this.in.heldBy(sub));
    const started = Promise.all([...byUrl].map(([url, subs]) => this.domain(url).receive(subs, prefetch, timeout)));
    if (!this.blockingMode) {
      started.catch((err: unknown) => this.background(err));
      return;
    }
    let failed: AMQPError | undefined;
    let ready = false;
    started.then(
      () => {
        ready = true;
        this.changed();
      },
      (err: unknown) => {
        failed = err as AMQPError;
        this.changed();
      },
    );
    await this.waitFor(() => failed ?? (ready && this.in.depth > 0), 'recv');
  }

  private delivered(domain: Domain, sub: Subscription, msg: Message): void {
    this.in.deliver(domain, sub, msg);
    if (this.credit !== Infinity && --this.credit <= 0 && this.receiving) {
      this.receiving = false;
      for (const d of this.domains.values()) d.stopReceiving().catch((err: unknown) => this.background(err));
    }
    this.changed();
  }

  /**
   * Moves the next incoming message into `message` (or a new Message) and returns its tracker,
   * which also holds that message; null when the queue is empty.
   * @throws ArgumentError when `message` is not a Message.
   */
  get(message?: Message): Tracker | null {
    if (message !== undefined && !(message instanceof Message)) throw new ArgumentError('Messenger.get: message must be a Message');
    return this.in.get(message);
  }

  /**
   * Accepts (basic.ack) the delivery of `tracker`, or without one every tracked delivery up to the
   * last `get()` (cumulative, as Proton). Settled or untracked deliveries are left as they are.
   * @throws TrackerError for an outgoing tracker or one of another Messenger; StaleDelivery (or
   *   ChannelClosed) when a delivery's channel closed meanwhile (it is RELEASED).
   */
  accept(tracker?: Tracker): void {
    if (tracker !== undefined) this.own(tracker, 'accept', 'incoming');
    this.in.dispose(tracker, 'accept');
  }

  /**
   * Rejects (basic.reject / basic.nack, no requeue: dropped or dead-lettered) like `accept()`.
   * @throws as `accept()`.
   */
  reject(tracker?: Tracker): void {
    if (tracker !== undefined) this.own(tracker, 'reject', 'incoming');
    this.in.dispose(tracker, 'reject');
  }

  // ---------------------------------------------------------------- routing

  /**
   * Adds a routing rule: an address matching `pattern` (`*` any text, `%` any text without `/`)
   * is sent to (or subscribed at) `address` with `$1`..`$9` substituted. First match wins.
   * @throws ArgumentError unless both are strings.
   */
  route(pattern: string, address: string): void {
    this.router.routes.add(pattern, address, 'route');
  }

  /**
   * Adds a rewrite rule for the address a message carries (what the receiver sees), same syntax
   * as `route()`. Without a matching rule, `user:password@` is removed.
   * @throws ArgumentError unless both are strings.
   */
  rewrite(pattern: string, address: string): void {
    this.router.rewrites.add(pattern, address, 'rewrite');
  }

  // ---------------------------------------------------------------- waiting

  /**
   * Publishes everything queued, then waits up to `timeout` ms (default: the `timeout` property;
   * -1 for ever, 0 not at all) for something to happen: a delivery, a confirm, an error.
   * @returns true when something was done or happened, false when the time passed without.
   * @throws MessengerStateError when stopped; an error of earlier non-blocking work (a domain that
   *   could not be reached...), once; MessengerInterrupted.
   */
  async work(timeout?: number): Promise<boolean> {
    this.checkStarted('work');
    if (timeout !== undefined && timeout !== -1 && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)) {
      throw new ArgumentError(`Messenger.work: timeout must be -1 or a number of milliseconds >= 0, got ${String(timeout)}`);
    }
    const before = this.waiters.events;
    const batch = this.out.take(-1);
    this.out.dispatch(batch);
    try {
      await this.waitFor(() => this.takeError() ?? (batch.length > 0 || this.waiters.events > before), 'work', timeout ?? this.timeoutMs);
      return true;
    } catch (err) {
      if (err instanceof Timeout) return false;
      throw err;
    }
  }

  /**
   * Ends the blocking call in progress (`send`, `recv`, `work`) with MessengerInterrupted; when
   * none is in progress, the next one ends so at once (as Proton's interrupt).
   */
  interrupt(): void {
    this.waiters.interrupt();
  }

  private takeError(): AMQPError | undefined {
    const e = this.lastError;
    this.lastError = undefined;
    if (e) this.reported.add(e);
    return e;
  }

  /** An error of work in progress that no call is waiting for: `work()` raises it (once). */
  private background(err: unknown): void {
    if (typeof err === 'object' && err !== null && this.reported.has(err)) return;
    this.lastError = err as AMQPError;
    this.changed();
  }

  private waitFor(check: Condition, what: string, timeout = this.timeoutMs): Promise<void> {
    return this.waiters.wait(check, what, timeout);
  }

  private changed(): void {
    this.waiters.changed();
  }

  // ---------------------------------------------------------------- helpers

  private domain(url: string): Domain {
    let d = this.domains.get(url);
    if (!d) {
      d = new Domain(url, this.host);
      this.domains.set(url, d);
    }
    return d;
  }

  private tls(base: TlsOptions | undefined): Promise<TlsOptions | undefined> {
    return readTls(base, {
      certificate: this.certificate,
      privateKey: this.privateKey,
      password: this.password,
      trustedCertificates: this.trustedCertificates,
    });
  }

  private checkStarted(what: string): void {
    if (this.isStopped) throw new MessengerStateError(`Messenger ${this.name}: ${what}() needs start() first`);
  }

  private checkCount(n: unknown, what: string): void {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1)
      throw new ArgumentError(`Messenger.${what}: n must be -1 or an integer >= 0, got ${String(n)}`);
  }

  private own(tracker: Tracker, what: string, direction?: 'incoming'): void {
    if (!(tracker instanceof Tracker) || trackerOwner(tracker) !== this) {
      throw new TrackerError(`Messenger.${what}: the tracker belongs to another Messenger`);
    }
    if (direction && tracker.direction !== direction)
      throw new TrackerError(`Messenger.${what}: an incoming tracker (from get()) is required`);
  }

  /** What `util.inspect` shows: name, state, queue depths, domains (without credentials) and subscriptions. */
  [inspect.custom](): string {
    const domains = [...this.domains.values()].map((d) => d.describe());
    const subs = this.subs.map((s) => s.address);
    return `Messenger ${inspect({ name: this.name, stopped: this.isStopped, outgoing: this.outgoing, incoming: this.incoming, domains, subscriptions: subs })}`;
  }
}
