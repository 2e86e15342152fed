/**
 * Domain: the Messenger's one connection to one broker (`amqp[s]://[user[:password]@]host[:port]`),
 * made on first use and kept (the core recovers it after a loss). It publishes on a confirm-mode
 * channel, consumes on another (so a consumer's failure never fails confirms in flight), and runs
 * checks and declares on short-lived channels (a 404 or 406 closes only those).
 *
 * Receiving: each subscription is a consumer with a per-consumer prefetch (the credit `recv()`
 * grants); consumers start and stop in call order (one chain per domain). After consumers start,
 * one more synchronous call on the consuming channel ("flush") returns only after the deliveries
 * the broker had ready for them, so `recv()` sees what was waiting.
 */
import {
  type AddressNode,
  type AMQPError,
  type Channel,
  Connection,
  type ConnectionOptions,
  type Message,
  NotFound,
  type QueueDeclareOptions,
  type TlsOptions,
} from '../core.js';
import { withDeadline } from '../rpc/deadline.js';
import { MessengerInterrupted } from './errors.js';
import type { Subscription } from './tracker.js';

/** What a Domain needs from its Messenger. */
export interface DomainHost {
  /** The Messenger's name (the connection's `connection_name`). */
  readonly name: string;
  /** Extra connection options (never url, host, port or credentials, which come from the address). */
  readonly connectionOptions: ConnectionOptions;
  /** Queue declare options when the Messenger declares queues, else undefined. */
  readonly declare: QueueDeclareOptions | undefined;
  /** Publish as mandatory. */
  readonly mandatory: boolean;
  /** TLS options for amqps (from the Messenger's certificate properties). */
  tls(): Promise<TlsOptions | undefined>;
  /** A delivery for `sub` arrived. */
  delivered(domain: Domain, sub: Subscription, msg: Message): void;
  /** Deliveries of this domain not yet settled went back to the broker (channel or connection lost). */
  lost(domain: Domain): void;
  /** The connection closed for good. */
  closed(domain: Domain, err: AMQPError | undefined): void;
  /** Consuming for `sub` failed (missing queue, refused...); the other subscriptions go on. */
  subscriptionFailed(sub: Subscription, err: unknown): void;
}

interface Consumer {
  readonly tag: string;
  readonly prefetch: number;
}

const DONE = Promise.resolve();

/** See the file header. */
export class Domain {
  /** The broker URL (with credentials). */
  readonly url: string;
  private conn: Promise<Connection> | null = null;
  private outCh: Promise<Channel> | null = null;
  private inCh: Promise<Channel> | null = null;
  private readonly consumers = new Map<Subscription, Consumer>();
  private readonly privateQueues = new Map<Subscription, string>();
  private readonly ensured = new Map<string, Promise<void>>();
  private chain: Promise<unknown> = DONE;
  private closing = false;
  private seq = 0;

  constructor(
    url: string,
    private readonly host: DomainHost,
  ) {
    this.url = url;
  }

  /** Subscriptions with a running consumer. */
  get receiving(): number {
    return this.consumers.size;
  }

  /** The connection, made on first use. @throws the connect error (ConnectionLost, AccessRefused, Timeout...). */
  connection(): Promise<Connection> {
    if (this.closing) return Promise.reject(new MessengerInterrupted(`the connection to ${this.describe()} was closed by stop()`));
    if (!this.conn) {
      const p = this.connect();
      this.conn = p;
      p.catch(() => {
        if (this.conn === p) this.conn = null;
      });
    }
    return this.conn;
  }

  private async connect(): Promise<Connection> {
    const h = this.host;
    const co = h.connectionOptions;
    const tls = this.url.toLowerCase().startsWith('amqps:') ? await h.tls() : undefined;
    const conn = await Connection.connect({
      ...co,
      url: this.url,
      ...(tls ? { ssl: tls } : {}),
      clientProperties: { ...co.clientProperties, connection_name: h.name },
    });
    conn.on('disconnected', () => h.lost(this));
    conn.on('close', (err) => {
      this.conn = null;
      this.outCh = null;
      this.inCh = null;
      this.consumers.clear();
      this.ensured.clear();
      h.lost(this);
      if (!this.closing) h.closed(this, err);
    });
    if (this.closing) await conn.close().catch(() => undefined);
    return conn;
  }

  private outChannel(): Promise<Channel> {
    if (!this.outCh) {
      const p = (async () => {
        const ch = await (await this.connection()).channel();
        await ch.confirmSelect();
        ch.once('close', () => {
          if (this.outCh === p) this.outCh = null;
        });
        return ch;
      })();
      this.outCh = p;
      p.catch(() => {
        if (this.outCh === p) this.outCh = null;
      });
    }
    return this.outCh;
  }

  private inChannel(): Promise<Channel> {
    if (!this.inCh) {
      const p = (async () => {
        const ch = await (await this.connection()).channel();
        ch.on('channelError', () => this.host.lost(this));
        ch.once('close', () => {
          if (this.inCh === p) this.inCh = null;
          this.consumers.clear();
          this.host.lost(this);
        });
        return ch;
      })();
      this.inCh = p;
      p.catch(() => {
        if (this.inCh === p) this.inCh = null;
      });
    }
    return this.inCh;
  }

  /** Runs `f` on a channel of its own, closed afterwards. */
  private async onTempChannel(f: (ch: Channel) => Promise<unknown>): Promise<void> {
    const ch = await (await this.connection()).channel();
    try {
      await f(ch);
    } finally {
      void ch.close().catch(() => undefined);
    }
  }

  /**
   * Makes sure a node can be used, once per connection: an exchange exists (passive declare), a
   * queue is declared when the Messenger declares queues, a consumed queue exists.
   * @throws NotFound with a message saying what is missing.
   */
  private ensure(node: AddressNode, consuming: boolean): Promise<void> {
    let key: string;
    let work: (ch: Channel) => Promise<unknown>;
    const declare = this.host.declare;
    if (node.kind === 'queue') {
      if (declare) {
        key = `declare:${node.queue}`;
        work = (ch) => ch.queueDeclare(node.queue, declare);
      } else if (consuming) {
        key = `queue:${node.queue}`;
        work = (ch) => ch.queueDeclare(node.queue, { passive: true });
      } else return DONE;
    } else {
      if (node.exchange === '') return DONE;
      key = `exchange:${node.exchange}`;
      work = (ch) => ch.exchangeDeclare(node.exchange, 'direct', { passive: true });
    }
    let p = this.ensured.get(key);
    if (!p) {
      p = this.onTempChannel(work).catch((err: unknown) => {
        this.ensured.delete(key);
        if (err instanceof NotFound) {
          const what = node.kind === 'queue' ? `queue '${node.queue}'` : `exchange '${node.exchange}'`;
          throw new NotFound(
            `${what} does not exist on ${this.describe()}: the Messenger declares nothing unless its declare option says so (${err.message})`,
            { replyCode: 404, replyText: err.replyText, cause: err },
          );
        }
        throw err;
      });
      this.ensured.set(key, p);
    }
    return p;
  }

  /**
   * Publishes `msg` (confirm mode) to `exchange`/`routingKey` after `ensure(node)`; `sending` is
   * called just before the message is handed to the channel.
   * @throws PublishNacked; PublishReturned (NoRoute); NotFound for a missing exchange (nothing
   *   published); Timeout or PublishBufferFull (nothing published); the channel's or connection's error.
   */
  async publish(msg: Message<unknown>, node: AddressNode, exchange: string, routingKey: string, sending: () => void): Promise<void> {
    await this.connection();
    await this.ensure(node, false);
    const ch = await this.outChannel();
    sending();
    await ch.basicPublish(msg, { exchange, routingKey, mandatory: this.host.mandatory });
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f, f);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The queue `sub` consumes: its queue, or for an exchange a private queue bound to it (exclusive to this connection). */
  private async queueOf(sub: Subscription, ch: Channel): Promise<string> {
    const node = sub.node;
    if (node.kind === 'queue') return node.queue;
    let q = this.privateQueues.get(sub);
    if (q === undefined) {
      q = `amqpts.messenger.${this.host.name.slice(0, 160)}.${process.pid}.${++this.seq}`;
      await ch.queueDeclare(q, { exclusive: true });
      await ch.queueBind(q, { exchange: node.exchange, routingKey: node.routingKey ?? '#' });
      this.privateQueues.set(sub, q);
    }
    return q;
  }

  /**
   * Runs a consumer for each of `subs` with the prefetch `prefetch(sub)` gives (a running one
   * with another prefetch is restarted), then flushes (see the file header). A subscription that
   * cannot be consumed is reported to the host and the others go on; the first error is thrown.
   * @throws NotFound for a missing queue or exchange; AccessRefused (403), ResourceLocked (405); Timeout.
   */
  receive(subs: readonly Subscription[], prefetch: (sub: Subscription) => number, timeout: number | undefined): Promise<void> {
    const work = this.serial(async () => {
      const ch = await this.inChannel();
      let last = 0;
      let failure: unknown;
      for (const sub of subs) {
        const want = Math.max(1, Math.min(65535, prefetch(sub)));
        const running = this.consumers.get(sub);
        if (running?.prefetch === want) {
          last = want;
          continue;
        }
        try {
          if (running) {
            this.consumers.delete(sub);
            await ch.basicCancel(running.tag);
          }
          await this.ensure(sub.node, true);
          const queue = await this.queueOf(sub, ch);
          await ch.basicQos({ prefetchCount: want });
          const tag: string = await ch.basicConsume(queue, {
            callback: (m) => this.host.delivered(this, sub, m),
            onCancel: () => {
              if (this.consumers.get(sub)?.tag === tag) this.consumers.delete(sub);
            },
          });
          this.consumers.set(sub, { tag, prefetch: want });
          last = want;
        } catch (err) {
          failure ??= err;
          this.host.subscriptionFailed(sub, err);
        }
      }
      if (last > 0 && ch.isOpen) await ch.basicQos({ prefetchCount: last }); // the flush
      if (failure !== undefined) throw failure;
    });
    return withDeadline(work, { timeout }, `recv from ${this.describe()}`);
  }

  /** Cancels every consumer (deliveries already sent still arrive). */
  stopReceiving(): Promise<void> {
    return this.serial(async () => {
      if (this.consumers.size === 0 || !this.inCh) return;
      const ch = await this.inCh;
      for (const [sub, c] of [...this.consumers]) {
        this.consumers.delete(sub);
        if (ch.isOpen) await ch.basicCancel(c.tag);
      }
    });
  }

  /** Forgets `sub` (its consumer is cancelled). */
  drop(sub: Subscription): Promise<void> {
    return this.serial(async () => {
      const c = this.consumers.get(sub);
      this.consumers.delete(sub);
      if (c && this.inCh) {
        const ch = await this.inCh;
        if (ch.isOpen) await ch.basicCancel(c.tag);
      }
    });
  }

  /** Closes the connection (pending publishes reject, unsettled deliveries go back to the broker). */
  async close(timeout: number | undefined): Promise<void> {
    this.closing = true;
    const p = this.conn;
    if (!p) return;
    const conn = await p.catch(() => null);
    if (conn) await conn.close({ timeout }).catch(() => undefined);
  }

  /** The broker without credentials, for messages. */
  describe(): string {
    return this.url.replace(/^(amqps?:\/\/)[^@/]*@/i, '$1');
  }
}
