/**
 * Container (Proton's `proton.reactor.Container`): makes connections, senders, receivers,
 * transactions and timer tasks, and runs the loop that hands their events to handlers.
 *
 * `run()` starts the loop: onReactorInit (or onStart) first, then events as they happen. It
 * resolves when nothing is left (no connection, timer task or injector) and every event has
 * been handled, or after `stop()`. `doWork(timeout)` is the pull-style alternative: it handles
 * the events that are ready, waiting up to `timeout` ms for one, and resolves false once nothing
 * is left. Before either, events wait. `listen()` is not supported: a broker client does not
 * accept connections.
 *
 * Handler errors: a handler that throws or rejects (other than Reject / Release from onMessage)
 * releases the message it was handling, then reaches `onError` of the same handlers if they have
 * one, else the container's 'handlerError' event if it has listeners; otherwise the container
 * stops and `run()` (or `doWork()`) rejects with the HandlerError, as Proton's run() raises.
 * Nothing is ever an unhandled rejection, and the container never emits 'error'.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ArgumentError, formatNode, parseAddress } from '../core.js';
import { ContainerConnection } from './connection.js';
import { type ConnectOptions, brokerUrl, resolveConnect } from './connect-options.js';
import { Dispatcher, Lane } from './dispatcher.js';
import { HandlerError, ListenNotSupported, Reject, Release, messageOf } from './errors.js';
import { type ApplicationEvent, Event, type EventContext, methodFor } from './event.js';
import { type Handler, handlesTransactions } from './handlers.js';
import { EventInjector } from './injector.js';
import { ProtonSession, Terminus } from './link.js';
import { type LinkOption, applyOptions } from './options.js';
import { Receiver } from './receiver.js';
import { Sender } from './sender.js';
import { Task } from './task.js';
import { Transaction } from './transaction.js';

declare module './model.js' {
  interface Reactor {
    /** The Container class (see model.ts). */
    Container: Container;
  }
}

/** Options of the Container constructor. */
export interface ContainerOptions {
  /** The container id (default a random UUID); durable subscription queues are named after it. */
  id?: string;
}

/** Events a Container emits (never 'error'). */
export interface ContainerEvents {
  /** A handler failed and none of its handlers has onError (see the file header). */
  handlerError: [err: HandlerError, event: Event];
}

/** Options of `createSender` (Proton's keyword arguments). */
export interface SenderOptions {
  /** The link name (default a random UUID). */
  name?: string;
  /** The link's handler, any object (default: its connection's, else the container's). */
  handler?: Handler | object;
  /** A link option or a list of them. */
  options?: LinkOption | readonly LinkOption[];
  /** The source address (informational). */
  source?: string;
  /** Delivery tags: a function giving the next one (default: a counter). */
  tags?: () => string;
  /** Most messages in flight at once, the sender's largest credit (default 1000). */
  window?: number;
}

/** Options of `createReceiver` (Proton's keyword arguments). */
export interface ReceiverOptions {
  /** The link name (default a random UUID); a DurableSubscription's queue is named after it. */
  name?: string;
  /** Receive from a server-named exclusive queue (its name: `receiver.remoteSource.address`). */
  dynamic?: boolean;
  /** The link's handler, any object (default: its connection's, else the container's). */
  handler?: Handler | object;
  /** A link option or a list of them. */
  options?: LinkOption | readonly LinkOption[];
  /** The target address (informational). */
  target?: string;
}

/** Options of `declareTransaction`. */
export interface TransactionOptions {
  /** The handler of the transaction's events, any object (default: the connection's, else the container's). */
  handler?: Handler | object;
  /** Proton's settle_before_discharge (no effect on 0.9.1; see Transaction). */
  settleBeforeDischarge?: boolean;
}

type Callable = (this: unknown, ...args: unknown[]) => unknown;

function isOptions(a: unknown): a is ContainerOptions {
  if (a === null || typeof a !== 'object') return false;
  const proto = Object.getPrototypeOf(a) as unknown;
  return (proto === Object.prototype || proto === null) && Object.keys(a).every((k) => k === 'id');
}

/** See the file header. */
export class Container extends EventEmitter<ContainerEvents> {
  /** The container id. */
  readonly id: string;
  /** The container's handlers. */
  readonly handlers: readonly Handler[];
  /** @internal The container's event lane (start, timers, application events). */
  readonly lane = new Lane();
  private readonly dispatcher = new Dispatcher(() => this.check());
  private readonly retained = new Set<object>();
  private initialized = false;
  private stopping = false;
  private fatal: HandlerError | null = null;
  private done: { resolve: () => void; reject: (e: unknown) => void } | null = null;

  /**
   * @param args - handlers (any objects: the `on...` methods they have are called; `Handler`
   *   lists the known ones), optionally followed by `{ id }`.
   * @throws ArgumentError for a handler that is not an object or an empty id.
   */
  constructor(...args: Array<Handler | ContainerOptions | object>) {
    super();
    const last = args[args.length - 1];
    const opts: ContainerOptions = args.length > 0 && isOptions(last) ? (args.pop() as ContainerOptions) : {};
    for (const h of args)
      if (h === null || typeof h !== 'object') throw new ArgumentError(`Container: a handler must be an object, got ${String(h)}`);
    if (opts.id !== undefined && (typeof opts.id !== 'string' || opts.id === ''))
      throw new ArgumentError('Container: id must be a non-empty string');
    this.id = opts.id ?? randomUUID();
    this.handlers = args as Handler[];
  }

  /**
   * Starts connecting to a broker and returns the connection at once; onConnectionOpened (or
   * onTransportError...) follows. With no url, urls or address, connect.json is read.
   * @throws ArgumentError / AddressError for bad options; ConfigError for a bad connect.json.
   */
  connect(url?: string | ConnectOptions, options: ConnectOptions = {}): ContainerConnection {
    const input: ConnectOptions = typeof url === 'string' ? { ...options, url } : { ...url, ...options };
    if (input.handler !== undefined && (input.handler === null || typeof input.handler !== 'object'))
      throw new ArgumentError('connect: handler must be an object');
    return this.startConnection(new ContainerConnection(this, resolveConnect(input), input.handler as Handler | undefined));
  }

  private startConnection(conn: ContainerConnection): ContainerConnection {
    if (this.stopping) throw new ArgumentError('the container is stopping: no new connections');
    this.retain(conn);
    conn.start();
    return conn;
  }

  /** A connection, or a new one for a URL (with the URL's path as the default address). */
  private context(
    context: ContainerConnection | string,
    what: string,
  ): { conn: ContainerConnection; fresh: boolean; path: string | undefined } {
    if (context instanceof ContainerConnection) return { conn: context, fresh: false, path: undefined };
    if (typeof context !== 'string') throw new ArgumentError(`${what}: the first argument must be a connection or a URL`);
    const node = parseAddress(/^amqps?:\/\//i.test(context) ? context : `amqp://${context}`).node;
    const conn = new ContainerConnection(this, resolveConnect({ url: brokerUrl(context) }), undefined);
    return { conn, fresh: true, path: node ? formatNode(node) : undefined };
  }

  /**
   * Creates a sender to `target` (`/queues/q`, `/exchanges/x[/key]`, a queue name; null or
   * omitted: each message's own address) on a connection, or on a new connection to a URL (whose
   * path is the default target). It attaches when the connection is open.
   * @throws AddressError for a bad address; LinkOptionError; ArgumentError for bad options.
   */
  createSender(context: ContainerConnection | string, target?: string | null, options: SenderOptions = {}): Sender {
    const { conn, fresh, path } = this.context(context, 'createSender');
    const window = options.window ?? 1000;
    if (!Number.isInteger(window) || window < 1)
      throw new ArgumentError(`createSender: window must be a positive integer, got ${String(window)}`);
    const sender = new Sender({
      name: options.name ?? randomUUID(),
      connection: conn,
      handler: options.handler as Handler | undefined,
      source: new Terminus(options.source),
      target: new Terminus(target ?? (target === null ? undefined : path)),
      session: new ProtonSession(conn, false),
      window,
      tags: options.tags,
    });
    applyOptions(sender, options.options);
    sender.validate();
    if (fresh) this.startConnection(conn);
    conn.register(sender);
    return sender;
  }

  /**
   * Creates a receiver from `source` (`/queues/q`, `/exchanges/x[/key]` with Copy,
   * DurableSubscription or a Selector, a queue name), or from a server-named queue with
   * `dynamic: true`, on a connection or a new connection to a URL (whose path is the default source).
   * @throws AddressError for a bad address; LinkOptionError / SelectorError for options the
   *   address cannot honour; ArgumentError for bad options.
   */
  createReceiver(context: ContainerConnection | string, source?: string | null, options: ReceiverOptions = {}): Receiver {
    const { conn, fresh, path } = this.context(context, 'createReceiver');
    const dynamic = options.dynamic ?? false;
    if (dynamic && typeof source === 'string') throw new ArgumentError('createReceiver: a dynamic receiver takes no source address');
    const src = new Terminus(dynamic ? undefined : (source ?? path));
    src.dynamic = dynamic;
    const handler = options.handler as Handler | undefined;
    const handlers = handler ? [handler] : conn.handlers();
    const receiver = new Receiver({
      name: options.name ?? randomUUID(),
      connection: conn,
      handler,
      source: src,
      target: new Terminus(options.target),
      session: handlers.some(handlesTransactions) ? conn.transactionalSession : new ProtonSession(conn, false),
    });
    applyOptions(receiver, options.options);
    receiver.validate();
    if (fresh) this.startConnection(conn);
    conn.register(receiver);
    return receiver;
  }

  /**
   * Declares a transaction on `connection` (once it is open): onTransactionDeclared follows, with
   * the transaction as `e.transaction`, or onTransactionDeclareFailed.
   * @throws ArgumentError for something that is not a connection of this container, or a closed one.
   */
  declareTransaction(connection: ContainerConnection, options: TransactionOptions = {}): Transaction {
    if (!(connection instanceof ContainerConnection) || connection.container !== this) {
      throw new ArgumentError('declareTransaction: the first argument must be a connection of this container');
    }
    const tx = new Transaction(connection, options.handler as Handler | undefined, options.settleBeforeDischarge ?? false);
    connection.declareTransaction(tx);
    return tx;
  }

  /**
   * Schedules `onTimerTask` of `handler` (default: the container's handlers) in `delay` ms.
   * @throws ArgumentError for a delay that is not a non-negative number, or while stopping.
   */
  schedule(delay: number, handler?: Handler | object): Task {
    if (typeof delay !== 'number' || !(delay >= 0) || delay === Infinity)
      throw new ArgumentError(`schedule: delay must be a non-negative number of ms, got ${String(delay)}`);
    if (this.stopping) throw new ArgumentError('schedule: the container is stopping');
    if (handler !== undefined && (handler === null || typeof handler !== 'object'))
      throw new ArgumentError('schedule: handler must be an object');
    const task = new Task(handler as Handler | undefined, delay);
    this.retain(task);
    const timer = setTimeout(() => {
      task.onCancel = undefined;
      this.post(this.lane, async () => {
        if (!task.cancelled) {
          task.fired = true;
          await this.dispatch('timerTask', { task }, handler ? [handler as Handler] : this.handlers);
        }
        this.release(task);
      });
    }, delay);
    task.onCancel = () => {
      clearTimeout(timer);
      this.release(task);
    };
    return task;
  }

  /** Registers an EventInjector: its events are handled on this container's loop until it is closed. */
  selectable(injector: EventInjector): EventInjector {
    if (!(injector instanceof EventInjector)) throw new ArgumentError('selectable: takes an EventInjector');
    if (!injector.closed) this.retain(injector);
    injector.attach(this);
    return injector;
  }

  /** @throws ListenNotSupported always: see the file header. */
  listen(url?: string): never {
    throw new ListenNotSupported(
      `listen(${url === undefined ? '' : JSON.stringify(url)}): amqpts is a client of an AMQP 0.9.1 broker; it connects and cannot accept connections`,
    );
  }

  /**
   * Runs the loop until nothing is left or stop() (see the file header).
   * @throws ArgumentError when already running; HandlerError when a handler failed with no error handler.
   */
  run(): Promise<void> {
    if (this.dispatcher.mode !== 'idle') return Promise.reject(new ArgumentError('run(): the container is already running'));
    this.dispatcher.mode = 'run';
    const p = new Promise<void>((resolve, reject) => (this.done = { resolve, reject }));
    this.init();
    this.dispatcher.pump();
    this.check();
    return p;
  }

  /**
   * Handles the events that are ready (waiting up to `timeout` ms for one when none is); resolves
   * true while the container has work left, false once nothing is left.
   * @throws ArgumentError while run() runs, or for a bad timeout; HandlerError as run() does.
   */
  async doWork(timeout: number): Promise<boolean> {
    if (typeof timeout !== 'number' || !(timeout >= 0))
      throw new ArgumentError(`doWork: timeout must be a non-negative number of ms, got ${String(timeout)}`);
    if (this.dispatcher.mode === 'run') throw new ArgumentError('doWork: the container is running (run())');
    this.dispatcher.mode = 'pull';
    this.init();
    if (this.dispatcher.pendingCount === 0 && this.retained.size > 0) await this.dispatcher.nextPost(timeout);
    this.dispatcher.pump();
    await this.dispatcher.whenQuiet();
    const fatal = this.fatal;
    this.fatal = null;
    if (fatal) throw fatal;
    return this.retained.size > 0 || this.dispatcher.pendingCount > 0;
  }

  /** Stops: cancels timer tasks, closes injectors and connections; run() resolves once they are closed. */
  stop(): void {
    this.stopping = true;
    for (const o of [...this.retained]) {
      if (o instanceof Task) o.cancel();
      else if (o instanceof EventInjector) o.close();
      else if (o instanceof ContainerConnection) o.close();
    }
    this.dispatcher.wake();
    this.check();
  }

  private init(): void {
    if (this.initialized) return;
    this.initialized = true;
    this.dispatcher.post(this.lane, () => this.dispatch('reactorInit', {}, this.handlers), [], true);
  }

  /** Finishes run() once nothing is left and every event has been handled. */
  private check(): void {
    if (!this.initialized || this.retained.size > 0 || !this.dispatcher.idle) return;
    this.stopping = false;
    if (this.dispatcher.mode !== 'run') return;
    this.dispatcher.mode = 'idle';
    this.initialized = false;
    const done = this.done;
    const fatal = this.fatal;
    this.done = null;
    this.fatal = null;
    if (fatal) done?.reject(fatal);
    else done?.resolve();
  }

  /** @internal Keeps run() going while `o` (connection, task, injector) lives. */
  retain(o: object): void {
    this.retained.add(o);
  }

  /** @internal `o` is done. */
  release(o: object): void {
    if (this.retained.delete(o)) this.check();
  }

  /** @internal An injected application event, handled on the loop. */
  inject(e: ApplicationEvent): void {
    const o = e.options;
    const link = o.link ?? o.delivery?.link;
    const conn = o.connection ?? link?.connection;
    const handlers = link ? link.handlers() : conn ? conn.handlers() : this.handlers;
    const ctx: EventContext = { connection: conn, session: o.session ?? link?.session, link, delivery: o.delivery, subject: o.subject };
    this.post(this.lane, () => this.dispatch(e.typename, ctx, handlers));
  }

  /** @internal The injector closed: it is let go after the events it triggered. */
  injectorClosed(injector: EventInjector): void {
    this.post(this.lane, () => this.release(injector));
  }

  /** @internal Queues a job on `lane`, after the earlier jobs of `after`. */
  post(lane: Lane, run: () => unknown, after: readonly Lane[] = []): void {
    this.dispatcher.post(lane, run, after);
  }

  /** @internal Queues event `type` for `handlers` on `lane`. */
  fire(lane: Lane, after: readonly Lane[], type: string, ctx: EventContext, handlers: readonly Handler[]): void {
    this.post(lane, () => this.dispatch(type, ctx, handlers), after);
  }

  /** @internal Calls the handlers of event `type`, routing a failure to the error path; never rejects. */
  async dispatch(type: string, ctx: EventContext, handlers: readonly Handler[]): Promise<void> {
    try {
      await this.invoke(type, ctx, handlers);
    } catch (err) {
      await this.handlerFailed(err, type, ctx, handlers);
    }
  }

  /**
   * @internal Calls each handler's method for `type` (or its onUnhandled); rejects with Reject or
   * Release as thrown, anything else wrapped in a HandlerError naming the method.
   */
  async invoke(type: string, ctx: EventContext, handlers: readonly Handler[]): Promise<void> {
    const event = new Event(type, this, ctx);
    const method = methodFor(type);
    for (const h of handlers) {
      const table = h as Record<string, unknown>;
      let fn = table[method];
      if (type === 'reactorInit' && typeof fn !== 'function') fn = table['onStart'];
      const name = typeof fn === 'function' ? (fn === table[method] ? method : 'onStart') : 'onUnhandled';
      try {
        if (typeof fn === 'function') await (fn as Callable).call(h, event);
        else if (typeof h.onUnhandled === 'function') await h.onUnhandled(method, event);
      } catch (err) {
        if (err instanceof Reject || err instanceof Release || err instanceof HandlerError) throw err;
        throw new HandlerError(`${name} failed: ${messageOf(err)}`, type, { cause: err });
      }
    }
  }

  /** @internal The error path of the file header. */
  async handlerFailed(err: unknown, type: string, ctx: EventContext, handlers: readonly Handler[]): Promise<void> {
    const herr = err instanceof HandlerError ? err : new HandlerError(`${methodFor(type)} failed: ${messageOf(err)}`, type, { cause: err });
    const withOnError = type === 'error' ? [] : handlers.filter((h) => typeof h.onError === 'function');
    try {
      if (withOnError.length > 0) {
        const event = new Event('error', this, { ...ctx, error: herr });
        for (const h of withOnError) await (h.onError as Callable).call(h, event);
        return;
      }
      if (this.listenerCount('handlerError') > 0) {
        this.emit('handlerError', herr, new Event(type, this, ctx));
        return;
      }
    } catch (again) {
      this.failed(new HandlerError(`the error handler failed: ${messageOf(again)} (handling: ${herr.message})`, 'error', { cause: again }));
      return;
    }
    this.failed(herr);
  }

  private failed(err: HandlerError): void {
    this.fatal ??= err;
    this.stop();
  }
}
