/**
 * The typed queue options of `declare queue` (and the queue `perf` creates), turned into
 * queue.declare flags and x-arguments, with the rules RabbitMQ enforces checked first, so a wrong
 * combination is a UsageError before anything is sent rather than a 406 from the broker.
 */
import type { FieldTable, QueueDeclareOptions } from '../core.js';
import { UsageError } from './errors.js';
import { type KeyValue, toTable } from './parse.js';

/** Queue types RabbitMQ offers over AMQP 0.9.1. */
export const QUEUE_TYPES = ['classic', 'quorum', 'stream'] as const;
/** A queue type. */
export type QueueType = (typeof QUEUE_TYPES)[number];
/** Values of x-overflow. */
export const OVERFLOW = ['drop-head', 'reject-publish', 'reject-publish-dlx'] as const;

/** The typed queue options, as the command line gives them. */
export interface QueueOptionsInput {
  /** x-queue-type (default: the broker's, classic). */
  type?: QueueType | undefined;
  /** Survive a broker restart (always, for quorum queues and streams). */
  durable?: boolean | undefined;
  /** Delete the queue when its last consumer goes (classic queues). */
  autoDelete?: boolean | undefined;
  /** x-max-length (messages). */
  maxLength?: number | undefined;
  /** x-max-length-bytes. */
  maxLengthBytes?: number | undefined;
  /** x-message-ttl (ms). */
  messageTtl?: number | undefined;
  /** x-expires (ms unused before the queue is deleted). */
  expires?: number | undefined;
  /** x-dead-letter-exchange. */
  deadLetterExchange?: string | undefined;
  /** x-dead-letter-routing-key. */
  deadLetterRoutingKey?: string | undefined;
  /** x-max-priority (classic queues). */
  maxPriority?: number | undefined;
  /** x-overflow. */
  overflow?: (typeof OVERFLOW)[number] | undefined;
  /** x-single-active-consumer. */
  singleActiveConsumer?: boolean | undefined;
  /** x-delivery-limit (quorum queues). */
  deliveryLimit?: number | undefined;
  /** x-max-age (streams), e.g. `7D`. */
  maxAge?: string | undefined;
  /** Any other x-argument (`--arg k=v`); they win over the typed ones. */
  args?: readonly KeyValue[] | undefined;
}

function only(o: QueueOptionsInput, type: QueueType, option: string, set: boolean): void {
  if (set && (o.type ?? 'classic') !== type) throw new UsageError(`${option} is for ${type} queues only`);
}

/**
 * The queue.declare options (durable, autoDelete, arguments) for typed queue options. Quorum
 * queues and streams are always durable.
 * @throws UsageError for an option the queue type does not have, auto-delete on a quorum queue
 *   or stream, --no-durable on one, or a malformed --max-age.
 */
export function queueDeclareOptions(o: QueueOptionsInput): QueueDeclareOptions {
  const type = o.type ?? 'classic';
  only(o, 'classic', '--max-priority', o.maxPriority !== undefined);
  only(o, 'quorum', '--delivery-limit', o.deliveryLimit !== undefined);
  only(o, 'stream', '--max-age', o.maxAge !== undefined);
  if (type !== 'classic') {
    if (o.autoDelete) throw new UsageError(`a ${type} queue cannot be auto-delete`);
    if (o.durable === false) throw new UsageError(`a ${type} queue is always durable: drop --no-durable`);
  }
  if (type === 'stream' && o.overflow !== undefined)
    throw new UsageError('streams have no --overflow: they keep everything up to their retention');
  if (type === 'quorum' && o.overflow === 'reject-publish-dlx')
    throw new UsageError('quorum queues do not support --overflow reject-publish-dlx');
  if (o.maxAge !== undefined && !/^\d+[YMDhms]$/.test(o.maxAge))
    throw new UsageError(`--max-age must be a number and a unit (Y, M, D, h, m, s), e.g. 7D; got '${o.maxAge}'`);
  const a: FieldTable = {};
  if (o.type !== undefined) a['x-queue-type'] = o.type;
  if (o.maxLength !== undefined) a['x-max-length'] = o.maxLength;
  if (o.maxLengthBytes !== undefined) a['x-max-length-bytes'] = o.maxLengthBytes;
  if (o.messageTtl !== undefined) a['x-message-ttl'] = o.messageTtl;
  if (o.expires !== undefined) a['x-expires'] = o.expires;
  if (o.deadLetterExchange !== undefined) a['x-dead-letter-exchange'] = o.deadLetterExchange;
  if (o.deadLetterRoutingKey !== undefined) a['x-dead-letter-routing-key'] = o.deadLetterRoutingKey;
  if (o.maxPriority !== undefined) a['x-max-priority'] = o.maxPriority;
  if (o.overflow !== undefined) a['x-overflow'] = o.overflow;
  if (o.singleActiveConsumer) a['x-single-active-consumer'] = true;
  if (o.deliveryLimit !== undefined) a['x-delivery-limit'] = o.deliveryLimit;
  if (o.maxAge !== undefined) a['x-max-age'] = o.maxAge;
  Object.assign(a, toTable(o.args ?? []));
  return { durable: type !== 'classic' || (o.durable ?? false), autoDelete: o.autoDelete ?? false, arguments: a };
}
