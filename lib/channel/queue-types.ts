/**
 * Typed queue declarations: the options `queueDeclare` takes for RabbitMQ's queue types (classic,
 * quorum, stream) and the one pure function that checks them, together with durable / exclusive /
 * autoDelete, and turns them into `x-...` arguments merged with the raw `arguments`.
 *
 * The rules are RabbitMQ's (checked against 3.10.8, which answers each with 406
 * PRECONDITION_FAILED): quorum and stream queues must be durable, not exclusive, not auto-delete
 * and not server-named; each argument belongs to the types that support it (e.g. `maxLength` is
 * not a stream argument, `deliveryLimit` is quorum-only, `maxAge` stream-only). Breaking one is an
 * ArgumentError before anything is sent, naming the option and the type. Raw arguments pass
 * through; a raw `x-queue-type` counts as the type, and a raw argument a typed option also sets
 * must agree with it. A passive declare only checks that the queue exists (the broker ignores the
 * rest), so the combination rules do not apply to it.
 */
import { ArgumentError } from '../errors.js';
import type { FieldTable, FieldValue } from '../protocol/primitives.js';

/** A RabbitMQ queue type. */
export type QueueType = 'classic' | 'quorum' | 'stream';

/** What a full queue does with a new message: drop the oldest, or refuse the publish (nack in confirm mode). */
export type QueueOverflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** Where a replicated queue's leader is placed: on the declaring client's node, or the least loaded one. */
export type QueueLeaderLocator = 'client-local' | 'balanced';

/** A stream retention age: a positive whole number of Y (years), M (months), D (days), h, m or s, e.g. `'7D'`. */
export type MaxAgeString = `${number}${'Y' | 'M' | 'D' | 'h' | 'm' | 's'}`;

/** Queue-type options of `queueDeclare` (each maps to one `x-` argument). */
export interface TypedQueueOptions {
  /**
   * The queue type (`x-queue-type`). Quorum and stream queues are replicated across the cluster;
   * they must be `durable: true`, and cannot be exclusive, auto-delete or server-named.
   */
  type?: QueueType;
  /** At most this many ready messages (`x-max-length`; classic and quorum). A non-negative integer. */
  maxLength?: number;
  /** At most this many bytes of message bodies (`x-max-length-bytes`; every type, a stream's retention). */
  maxLengthBytes?: number;
  /**
   * What happens when `maxLength`/`maxLengthBytes` is reached (`x-overflow`; classic and quorum,
   * default drop-head). Quorum queues do not implement `reject-publish-dlx`.
   */
  overflow?: QueueOverflow;
  /** Per-queue message TTL in ms (`x-message-ttl`; classic and quorum). A non-negative integer. */
  messageTtl?: number;
  /** Delete the queue after this many ms unused (`x-expires`; classic and quorum). A positive integer. */
  expires?: number;
  /** Exchange that receives dead-lettered messages (`x-dead-letter-exchange`; classic and quorum). */
  deadLetterExchange?: string;
  /** Routing key for dead-lettered messages (`x-dead-letter-routing-key`); needs `deadLetterExchange`. */
  deadLetterRoutingKey?: string;
  /**
   * Quorum only (`x-delivery-limit`): a message redelivered more than this many times is dropped,
   * or dead-lettered when the queue has a dead-letter exchange. A non-negative integer.
   */
  deliveryLimit?: number;
  /** Only one consumer receives at a time; the next takes over when it goes (`x-single-active-consumer`; classic and quorum). */
  singleActiveConsumer?: boolean;
  /** Stream only (`x-max-age`): retention by age, in ms (a whole number of seconds) or as `'7D'`, `'12h'`... */
  maxAge?: number | MaxAgeString;
  /** Stream only (`x-stream-max-segment-size-bytes`): size of a segment file, 1 to 3 000 000 000. */
  streamMaxSegmentSizeBytes?: number;
  /** Quorum and stream (`x-queue-leader-locator`): where the leader goes. */
  queueLeaderLocator?: QueueLeaderLocator;
  /**
   * Quorum and stream: how many nodes hold a replica at first (`x-quorum-initial-group-size`,
   * `x-initial-cluster-size`; default: every node, capped by the broker at the cluster size). A positive integer.
   */
  initialClusterSize?: number;
}

/** What queueArguments() checks besides the typed options (queueDeclare's own flags). */
export interface QueueFlags {
  /** Only check that the queue exists (`passive`); a missing queue is a NotFound (404) from the server. */
  passive?: boolean;
  /** The queue survives a broker restart. Quorum queues and streams are always durable. */
  durable?: boolean;
  /** Only this connection may use the queue, and it goes when the connection closes; classic queues only. */
  exclusive?: boolean;
  /** The queue is deleted when its last consumer goes; classic queues only. */
  autoDelete?: boolean;
  /** Raw queue arguments (`x-...`), passed through beside the typed options, which must not contradict them. */
  arguments?: FieldTable;
}

type Check = (v: unknown) => string | null;
const ALL: readonly QueueType[] = ['classic', 'quorum', 'stream'];
const CLASSIC_QUORUM: readonly QueueType[] = ['classic', 'quorum'];
const REPLICATED: readonly QueueType[] = ['quorum', 'stream'];

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? null
      : `must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`;
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.map((x) => `'${x}'`).join(', ')}`;
const str: Check = (v) => (typeof v === 'string' ? null : 'must be a string');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be a boolean');
const age: Check = (v) =>
  typeof v === 'number'
    ? Number.isInteger(v) && v >= 1000 && v % 1000 === 0
      ? null
      : 'must be a whole number of seconds, in ms (e.g. 3600000 for 1h)'
    : typeof v === 'string' && /^[1-9]\d*[YMDhms]$/.test(v)
      ? null
      : "must be ms or a positive whole number followed by Y, M, D, h, m or s (e.g. '7D')";

/** Typed option -> its argument, value check and the types that accept it. */
const OPTIONS: Record<Exclude<keyof TypedQueueOptions, 'type'>, { arg: string; check: Check; types: readonly QueueType[] }> = {
  maxLength: { arg: 'x-max-length', check: int(0), types: CLASSIC_QUORUM },
  maxLengthBytes: { arg: 'x-max-length-bytes', check: int(0), types: ALL },
  overflow: { arg: 'x-overflow', check: oneOf('drop-head', 'reject-publish', 'reject-publish-dlx'), types: CLASSIC_QUORUM },
  messageTtl: { arg: 'x-message-ttl', check: int(0), types: CLASSIC_QUORUM },
  expires: { arg: 'x-expires', check: int(1), types: CLASSIC_QUORUM },
  deadLetterExchange: { arg: 'x-dead-letter-exchange', check: str, types: CLASSIC_QUORUM },
  deadLetterRoutingKey: { arg: 'x-dead-letter-routing-key', check: str, types: CLASSIC_QUORUM },
  deliveryLimit: { arg: 'x-delivery-limit', check: int(0), types: ['quorum'] },
  singleActiveConsumer: { arg: 'x-single-active-consumer', check: bool, types: CLASSIC_QUORUM },
  maxAge: { arg: 'x-max-age', check: age, types: ['stream'] },
  streamMaxSegmentSizeBytes: { arg: 'x-stream-max-segment-size-bytes', check: int(1, 3_000_000_000), types: ['stream'] },
  queueLeaderLocator: { arg: 'x-queue-leader-locator', check: oneOf('client-local', 'balanced'), types: REPLICATED },
  initialClusterSize: { arg: 'x-quorum-initial-group-size', check: int(1), types: REPLICATED },
};

/** Arguments that only some types accept (whether set typed or raw), and which. */
const ARG_TYPES: Record<string, readonly QueueType[]> = {
  ...Object.fromEntries(Object.values(OPTIONS).map((o) => [o.arg, o.types])),
  'x-initial-cluster-size': ['stream'],
  'x-quorum-initial-group-size': ['quorum'],
  'x-max-priority': ['classic'],
  'x-queue-mode': ['classic'],
  'x-queue-master-locator': ['classic'],
};

const text = (v: FieldValue | undefined): string | undefined =>
  typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;

function same(a: FieldValue | undefined, b: FieldValue): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') return String(a) === String(b);
  return a === b || (text(a) !== undefined && text(a) === text(b));
}

/**
 * Checks a queue declaration's typed options against its type and flags and returns its
 * arguments: the raw `arguments` plus one `x-` argument per typed option. Pure: sends nothing.
 * @throws ArgumentError for an unknown type, a bad option value, an option the type does not
 *   support, a raw argument that contradicts a typed option, or flags the type does not allow
 *   (quorum/stream: not durable, exclusive, auto-delete, or a server-named `''` queue).
 */
export function queueArguments(queue: string, opts: TypedQueueOptions & QueueFlags): FieldTable {
  const raw = opts.arguments ?? {};
  const out: FieldTable = { ...raw };
  const fail = (why: string): never => {
    throw new ArgumentError(`queueDeclare('${queue}'): ${why}`);
  };
  const rawType = text(raw['x-queue-type']);
  if (opts.type !== undefined) {
    if (!(ALL as readonly unknown[]).includes(opts.type)) fail(`type must be 'classic', 'quorum' or 'stream', got ${String(opts.type)}`);
    if (raw['x-queue-type'] !== undefined && rawType !== opts.type)
      fail(`type '${opts.type}' contradicts arguments['x-queue-type'] = ${String(rawType ?? raw['x-queue-type'])}`);
    out['x-queue-type'] = opts.type;
  }
  const type = (opts.type ?? rawType) as QueueType | undefined;
  const known = type !== undefined && (ALL as readonly string[]).includes(type);
  for (const [key, spec] of Object.entries(OPTIONS) as Array<[keyof typeof OPTIONS, (typeof OPTIONS)[keyof typeof OPTIONS]]>) {
    const v = opts[key];
    if (v === undefined) continue;
    const bad = spec.check(v);
    if (bad) fail(`${key} ${bad}, got ${typeof v === 'string' ? `'${v}'` : String(v)}`);
    const types = spec.types.map((t) => `'${t}'`).join(' or ');
    if (!known) fail(`${key} depends on the queue type: set type (${types})`);
    if (!opts.passive && !spec.types.includes(type as QueueType)) fail(`${key} is not supported by ${type} queues (only ${types})`);
    const arg = key === 'initialClusterSize' && type === 'stream' ? 'x-initial-cluster-size' : spec.arg;
    const value: FieldValue = typeof v === 'number' && key === 'maxAge' ? `${v / 1000}s` : (v as FieldValue);
    if (raw[arg] !== undefined && !same(raw[arg], value)) fail(`${key} contradicts arguments['${arg}']`);
    out[arg] = value;
  }
  if (opts.passive || !known) return out;
  const t = type as QueueType;
  for (const [arg, types] of Object.entries(ARG_TYPES)) {
    if (raw[arg] !== undefined && !types.includes(t))
      fail(`arguments['${arg}'] is not supported by ${t} queues (only ${types.join(', ')})`);
  }
  if (t === 'quorum' && text(out['x-overflow']) === 'reject-publish-dlx')
    fail(
      "overflow 'reject-publish-dlx' is not implemented by quorum queues (RabbitMQ would use drop-head): use 'reject-publish' or 'drop-head'",
    );
  if (out['x-dead-letter-routing-key'] !== undefined && out['x-dead-letter-exchange'] === undefined)
    fail('deadLetterRoutingKey needs deadLetterExchange');
  if (t !== 'classic') {
    const what = `${t} queues`;
    if (queue === '') fail(`${what} cannot be server-named: give the queue a name`);
    if (opts.durable !== true) fail(`${what} must be durable: pass durable: true`);
    if (opts.exclusive) fail(`${what} cannot be exclusive`);
    if (opts.autoDelete) fail(`${what} cannot be auto-delete`);
  }
  return out;
}
