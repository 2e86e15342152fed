/**
 * The serving side of request/response: `rpcServer` consumes a queue, runs a handler per request
 * (at most `concurrency` at once) and publishes its result to the request's `replyTo` with the
 * request's correlation id, then acks the request. `serveRequests` is the same for management
 * style nodes (`mgmtRequest`'s other end): the handler returns `{ statusCode, statusDescription,
 * body }` and the reply carries the status in application headers.
 *
 * A request is acked only after its reply was handed to the broker, so a server that dies
 * mid-call leaves the request unacked: the broker requeues it for another server instance (the
 * caller, who cannot see the server die, gets its reply from that instance or `Timeout` at its
 * deadline). A handler that throws still answers: with `RPC_ERROR_HEADER` (rpcServer, the caller
 * gets RpcRemoteError) or status 500 (serveRequests).
 */
import {
  type AMQPError,
  ArgumentError,
  type BasicProperties,
  Channel,
  Connection,
  type FieldTable,
  Message,
  type MessageBody,
  type QueueDeclareOptions,
} from '../core.js';
import { RPC_ERROR_HEADER } from './client.js';
import { checkInteger, checkMillis, type DeadlineOptions } from './deadline.js';

/** What an rpcServer handler may return: a Message, a body (bytes, string or JSON value), or nothing (an empty reply). */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing (void) answers with an empty reply
export type RpcReply = Message<unknown> | MessageBody | undefined | void;

/** An rpcServer handler: the request in, the reply out (may be async). A throw answers with an error reply. */
export type RpcHandler = (request: Message) => RpcReply | Promise<RpcReply>;

/** Options of `rpcServer` and `serveRequests`. */
export interface RpcServerOptions extends DeadlineOptions {
  /** Handlers running at once (default 1). */
  concurrency?: number;
  /**
   * Unacked requests the broker may hand this server (per-consumer basic.qos). Default: `concurrency`
   * on a channel the server opens; a Channel you pass keeps its prefetch unless you give one.
   */
  prefetch?: number;
  /** Declare the queue first (`true`: plain queue.declare; or its options). Default: use it as it is. */
  declare?: boolean | QueueDeclareOptions;
  /** Milliseconds for each setup call (declare, qos, consume) and for `close()` (default: the connection's callTimeout). */
  timeout?: number;
  /** Told about every handler failure (the caller is answered with an error reply anyway). */
  onError?: (err: unknown, request: Message) => void;
}

/** Counters of an RpcServer. */
export interface RpcServerStats {
  /** Requests received. */
  requests: number;
  /** Replies published. */
  replies: number;
  /** Handler failures (each answered with an error reply). */
  failures: number;
  /** Requests without `replyTo` (handled, not answered). */
  unanswerable: number;
  /** Requests whose reply or ack could not be sent (channel gone): the broker redelivers them. */
  errors: number;
}

/** How a handler failure is answered. */
type ErrorReply = (err: unknown) => Message<unknown>;

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function toReply(value: RpcReply): Message<unknown> {
  if (value instanceof Message) return value;
  return new Message<unknown>(value === undefined ? Buffer.alloc(0) : value);
}

/** See the file header. Created by `rpcServer()` or `serveRequests()`. */
export class RpcServer {
  /** The queue served. */
  readonly queue: string;
  /** The channel the server consumes and replies on. */
  readonly channel: Channel;
  /** Counters. */
  readonly stats: RpcServerStats = { requests: 0, replies: 0, failures: 0, unanswerable: 0, errors: 0 };
  /**
   * Resolves when the server has stopped: after `close()` (with undefined), or when its consumer
   * ended without it, because the broker cancelled it or its channel closed for good (with that
   * error). Never rejects.
   */
  readonly ended: Promise<AMQPError | undefined>;
  private end: (err: AMQPError | undefined) => void = () => undefined;
  private tag = '';
  private running = 0;
  private closing: Promise<void> | null = null;
  private idle: Array<() => void> = [];

  private constructor(
    queue: string,
    channel: Channel,
    private readonly ownsChannel: boolean,
    private readonly handler: RpcHandler,
    private readonly errorReply: ErrorReply,
    private readonly onError: ((err: unknown, request: Message) => void) | undefined,
  ) {
    this.queue = queue;
    this.channel = channel;
    this.ended = new Promise((resolve) => {
      this.end = resolve;
    });
  }

  /**
   * Serves `queue` with `handler`: see `rpcServer()`.
   * @throws as `rpcServer()`.
   */
  static serve(target: Connection | Channel, queue: string, handler: RpcHandler, opts: RpcServerOptions = {}): Promise<RpcServer> {
    return RpcServer.setup(
      target,
      queue,
      handler,
      opts,
      (err) => new Message('', { applicationHeaders: { [RPC_ERROR_HEADER]: describe(err) } }),
    );
  }

  /**
   * Implements management node `node` with `handler`: see `serveRequests()`.
   * @throws as `serveRequests()`.
   */
  static async serveRequests(
    target: Connection | Channel,
    node: string,
    handler: ManagementHandler,
    opts: ServeRequestsOptions = {},
  ): Promise<RpcServer> {
    const m = managementHandler(handler, opts);
    return RpcServer.setup(target, node, m.handler, opts, m.errorReply);
  }

  /** Validates, opens, declares, sets the prefetch and starts consuming. */
  private static async setup(
    target: Connection | Channel,
    queue: string,
    handler: RpcHandler,
    opts: RpcServerOptions,
    errorReply: ErrorReply,
  ): Promise<RpcServer> {
    if (!(target instanceof Connection) && !(target instanceof Channel))
      throw new ArgumentError('rpcServer: the target must be a Connection or a Channel');
    if (typeof queue !== 'string' || queue === '') throw new ArgumentError('rpcServer: the queue must be a non-empty string');
    if (typeof handler !== 'function') throw new ArgumentError('rpcServer: the handler must be a function');
    checkInteger(opts.concurrency, 'rpcServer: concurrency', 1, 65535);
    checkInteger(opts.prefetch, 'rpcServer: prefetch', 1, 65535);
    checkMillis(opts.timeout, 'rpcServer: timeout');
    if (opts.onError !== undefined && typeof opts.onError !== 'function') throw new ArgumentError('rpcServer: onError must be a function');
    const timeout = opts.timeout;
    const own = target instanceof Connection;
    const ch = own ? await target.channel(undefined, { timeout }) : target;
    const server = new RpcServer(queue, ch, own, handler, errorReply, opts.onError);
    try {
      const d = opts.declare;
      if (d) await ch.queueDeclare(queue, d === true ? { timeout } : { ...d, timeout });
      const concurrency = opts.concurrency ?? 1;
      // a channel the caller passed keeps its prefetch unless `prefetch` is given
      if (own || opts.prefetch !== undefined) await ch.basicQos({ prefetchCount: opts.prefetch ?? concurrency, timeout });
      server.tag = await ch.basicConsume(queue, {
        callback: (m) => server.handle(m),
        onCancel: (err) => server.end(err),
        concurrency,
        timeout,
      });
    } catch (err) {
      if (own) await ch.close().catch(() => undefined);
      throw err;
    }
    return server;
  }

  /** The consumer tag. */
  get consumerTag(): string {
    return this.tag;
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.running;
  }

  private async handle(req: Message): Promise<void> {
    if (this.closing) {
      // prefetched before the cancel: give it back for another server instance
      try {
        req.reject({ requeue: true });
      } catch {
        this.stats.errors++;
      }
      return;
    }
    this.stats.requests++;
    this.running++;
    try {
      let reply: Message<unknown>;
      try {
        reply = toReply(await this.handler(req));
      } catch (err) {
        this.stats.failures++;
        this.onError?.(err, req);
        reply = this.errorReply(err);
      }
      const replyTo = req.properties.replyTo;
      if (replyTo) {
        const props: BasicProperties = { ...reply.properties, correlationId: req.properties.correlationId };
        await this.channel.basicPublish(new Message<unknown>(reply.body, props), { routingKey: replyTo });
        this.stats.replies++;
      } else this.stats.unanswerable++;
      req.ack();
    } catch {
      this.stats.errors++;
    } finally {
      this.running--;
      if (this.running === 0) for (const f of this.idle.splice(0)) f();
    }
  }

  /**
   * Stops serving: cancels the consumer (requests prefetched but not started go back to the
   * queue), waits up to `timeout` ms (default 5000) for running handlers, then closes a channel
   * the server opened. Calling it again returns the same promise.
   */
  close(opts: { timeout?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(opts.timeout ?? 5000);
    return this.closing;
  }

  private async shutdown(timeout: number): Promise<void> {
    checkMillis(timeout, 'RpcServer.close: timeout');
    if (this.channel.isOpen) await this.channel.basicCancel(this.tag, { timeout }).catch(() => undefined);
    if (this.running > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeout);
        this.idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.ownsChannel) await this.channel.close({ timeout }).catch((_err: AMQPError) => undefined);
    this.end(undefined);
  }
}

/**
 * Serves `queue`: each request goes to `handler` and its result (a Message, a body, or nothing) is
 * published to the request's `replyTo` with its correlation id; then the request is acked. A
 * handler that throws answers with `RPC_ERROR_HEADER` set to its message (the caller's
 * `rpcCall` rejects with RpcRemoteError). On a Connection the server opens a channel of its own.
 * @throws ArgumentError for bad arguments (before anything is sent); NotFound (404) for a missing
 *   queue; AccessRefused (403) or ResourceLocked (405); Timeout; the channel's or connection's error.
 */
export function rpcServer(
  target: Connection | Channel,
  queue: string,
  handler: RpcHandler,
  opts: RpcServerOptions = {},
): Promise<RpcServer> {
  return RpcServer.serve(target, queue, handler, opts);
}

/** What a `serveRequests` handler answers. */
export interface ManagementResponse {
  /** The status code (2xx is success; anything else makes `mgmtRequest` reject with ManagementError). */
  statusCode: number;
  /** A description of the status. */
  statusDescription?: string;
  /** The response body (default: empty). */
  body?: MessageBody;
  /** Further properties of the response (its application headers are kept, the status added). */
  properties?: BasicProperties;
}

/** A `serveRequests` handler. The request's `operation` and `type` application headers say what is asked. */
export type ManagementHandler = (request: Message) => ManagementResponse | Promise<ManagementResponse>;

/** Options of `serveRequests`. */
export interface ServeRequestsOptions extends RpcServerOptions {
  /** Application header that carries the status code (default `statusCode`). */
  statusCodeField?: string;
  /** Application header that carries the description (default `statusDescription`). */
  descriptionField?: string;
}

/** The rpcServer handler and error reply of a management node (see serveRequests). */
function managementHandler(handler: ManagementHandler, opts: ServeRequestsOptions): { handler: RpcHandler; errorReply: ErrorReply } {
  const codeField = opts.statusCodeField ?? 'statusCode';
  const descField = opts.descriptionField ?? 'statusDescription';
  for (const [k, v] of [
    ['statusCodeField', codeField],
    ['descriptionField', descField],
  ] as const) {
    if (typeof v !== 'string' || v === '') throw new ArgumentError(`serveRequests: ${k} must be a non-empty string`);
  }
  if (typeof handler !== 'function') throw new ArgumentError('serveRequests: the handler must be a function');
  const status = (code: number, description: string | undefined, r?: ManagementResponse): Message<unknown> => {
    const headers: FieldTable = { ...r?.properties?.applicationHeaders, [codeField]: code };
    if (description !== undefined) headers[descField] = description;
    return new Message<unknown>(r?.body ?? Buffer.alloc(0), { ...r?.properties, applicationHeaders: headers });
  };
  return {
    handler: async (req) => {
      const r = await handler(req);
      const code: unknown = r?.statusCode;
      if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 999) {
        throw new ArgumentError(`the handler answered without a valid statusCode (got ${String(code)})`);
      }
      if (r.statusDescription !== undefined && typeof r.statusDescription !== 'string') {
        throw new ArgumentError('the handler answered with a statusDescription that is not a string');
      }
      return status(code, r.statusDescription, r);
    },
    errorReply: (err) => status(500, describe(err)),
  };
}

/**
 * Implements a management-style node (what `Session.mgmtRequest` calls; RabbitMQ has no
 * `$management` node on 0.9.1): serves queue `node`, answering each request with the handler's
 * `{ statusCode, statusDescription, body }`, the status in the application headers
 * `statusCodeField` and `descriptionField`. A handler that throws, or answers without an integer
 * status from 100 to 999, answers status 500 with the error as description.
 * @throws as `rpcServer`; ArgumentError for a header name that is not a non-empty string.
 */
export function serveRequests(
  target: Connection | Channel,
  node: string,
  handler: ManagementHandler,
  opts: ServeRequestsOptions = {},
): Promise<RpcServer> {
  return RpcServer.serveRequests(target, node, handler, opts);
}
