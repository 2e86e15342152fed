/**
 * Consuming RabbitMQ streams over AMQP 0.9.1: the `offset` (and `filter`) consumer options, and
 * where a stream consumer resumes after its channel reopens or its connection recovers.
 *
 * `offset` becomes the consumer argument `x-stream-offset`: `'first'`, `'last'`, `'next'` as
 * strings, a number as an absolute offset (int64), a Date as a timestamp (seconds; the broker
 * starts at the first chunk written at or after it). RabbitMQ refuses a stream consumer without a
 * per-consumer prefetch (406) and one with `noAck` (540, which closes the whole connection), so
 * both are refused here first, with an ArgumentError.
 *
 * Every delivery from a stream carries its offset in the header `x-stream-offset`
 * (`Message.streamOffset`). The channel notes the last offset it handed to each stream consumer;
 * when the consumer is restored it asks for `last + 1`, so the consumer sees no offset twice and
 * skips none. A consumer that had received nothing yet is restored with its original offset;
 * `'next'`, `'last'` (and the default, which is `'next'`) become the time the consumer started,
 * rounded down to the second, so messages written meanwhile are not skipped (messages of that
 * same second may come in addition).
 *
 * Stream filtering (`filter`, `x-stream-filter`) exists from RabbitMQ 3.13: older servers (by the
 * version in their connection.start properties) get NotSupportedByServer before anything is sent.
 */
import { ArgumentError, NotSupportedByServer } from '../errors.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import { Field, type FieldTable, type FieldValue } from '../protocol/primitives.js';

/** Where a stream consumer starts: the first or last chunk, the next message, an offset, or a time. */
export type StreamOffset = 'first' | 'last' | 'next' | number | Date;

/** The stream options of `basicConsume` and `consume()`. */
export interface StreamConsumeOptions {
  /**
   * Stream queues only: where to start reading (`x-stream-offset`). `'first'`: the oldest message
   * kept; `'last'`: the last chunk written; `'next'` (the broker's default): only new messages; a
   * number: that offset (0 is the first message ever written); a Date: the first chunk written at
   * or after that time (to the second). Needs a prefetch (basicQos with prefetchCount, or
   * consume()'s `prefetch`) and acks (not `noAck`). After a reconnect the consumer resumes after
   * the last offset it delivered.
   */
  offset?: StreamOffset;
  /**
   * Stream queues, RabbitMQ 3.13 and later: only chunks holding messages published with one of
   * these `x-stream-filter-value` headers are delivered (`x-stream-filter`). The broker filters
   * by chunk, so check the header of each message you receive too. Refused on older brokers.
   */
  filter?: string | string[];
  /** With `filter`: also deliver messages published without a filter value (`x-stream-match-unfiltered`). */
  matchUnfiltered?: boolean;
}

/** What the channel knows when a consumer starts. */
export interface StreamConsumeContext {
  /** A per-consumer prefetch (basic.qos, global false, prefetchCount > 0) is set on the channel. */
  prefetch: boolean;
  /** The consumer does not ack (noAck). */
  noAck: boolean;
  /** The queue was declared on this connection as a stream. */
  streamQueue: boolean;
  /** The server's connection.start properties (product, version). */
  serverProperties: FieldTable;
}

const NAMED = ['first', 'last', 'next'];

function textOf(v: FieldValue | undefined): string | undefined {
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

/** The server's [major, minor] from connection.start, when it is a RabbitMQ that says. */
function rabbitVersion(props: FieldTable): [number, number] | undefined {
  if (textOf(props['product']) !== 'RabbitMQ') return undefined;
  const m = /^(\d+)\.(\d+)/.exec(textOf(props['version']) ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The `x-stream-offset` value of `offset`. @throws ArgumentError for anything but the five forms. */
function offsetValue(offset: unknown): FieldValue {
  if (typeof offset === 'string' && NAMED.includes(offset)) return offset;
  if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) return Field.int64(offset);
  if (offset instanceof Date && !Number.isNaN(offset.getTime())) return Field.timestamp(Math.floor(offset.getTime() / 1000));
  throw new ArgumentError(
    `basicConsume: offset must be 'first', 'last', 'next', a non-negative integer or a valid Date, got ${offset instanceof Date ? 'an invalid Date' : String(offset)}`,
  );
}

/**
 * Checks the stream options of a consumer and returns its arguments with `x-stream-offset`
 * (and the filter arguments) added. Consumers that are not stream consumers (no stream option,
 * no raw `x-stream-offset`, queue not known as a stream) get their arguments back unchanged.
 * @throws ArgumentError for a bad offset or filter, an offset also given as a raw argument, or a
 *   stream consumer without prefetch or with noAck; NotSupportedByServer for `filter` on a
 *   server older than RabbitMQ 3.13.
 */
export function streamConsumeArguments(opts: StreamConsumeOptions & { arguments?: FieldTable }, ctx: StreamConsumeContext): FieldTable {
  const raw = opts.arguments ?? {};
  const stream = opts.offset !== undefined || opts.filter !== undefined || raw['x-stream-offset'] !== undefined || ctx.streamQueue;
  if (!stream) {
    if (opts.matchUnfiltered !== undefined) throw new ArgumentError('basicConsume: matchUnfiltered needs filter');
    return raw;
  }
  const out: FieldTable = { ...raw };
  if (opts.offset !== undefined) {
    if (raw['x-stream-offset'] !== undefined)
      throw new ArgumentError("basicConsume: give offset or arguments['x-stream-offset'], not both");
    out['x-stream-offset'] = offsetValue(opts.offset);
  }
  if (opts.filter !== undefined) {
    const values = typeof opts.filter === 'string' ? [opts.filter] : opts.filter;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string' && v !== ''))
      throw new ArgumentError('basicConsume: filter must be a non-empty string or a non-empty array of them');
    const v = rabbitVersion(ctx.serverProperties);
    if (!v || v[0] < 3 || (v[0] === 3 && v[1] < 13)) {
      const server =
        `${textOf(ctx.serverProperties['product']) ?? 'unknown server'} ${textOf(ctx.serverProperties['version']) ?? ''}`.trim();
      throw new NotSupportedByServer(`basicConsume: stream filtering (filter) needs RabbitMQ 3.13 or later; this server is ${server}`, {
        feature: 'stream filtering',
        server,
      });
    }
    out['x-stream-filter'] = values.length === 1 ? (values[0] as string) : values;
    if (opts.matchUnfiltered !== undefined) {
      if (typeof opts.matchUnfiltered !== 'boolean') throw new ArgumentError('basicConsume: matchUnfiltered must be a boolean');
      out['x-stream-match-unfiltered'] = opts.matchUnfiltered;
    }
  } else if (opts.matchUnfiltered !== undefined) throw new ArgumentError('basicConsume: matchUnfiltered needs filter');
  if (ctx.noAck)
    throw new ArgumentError(
      'basicConsume: stream consumers must ack (RabbitMQ refuses noAck on a stream with 540, closing the connection)',
    );
  if (!ctx.prefetch)
    throw new ArgumentError(
      'basicConsume: stream consumers need a prefetch: call basicQos({ prefetchCount }) first, or pass prefetch to consume()',
    );
  return out;
}

/** A stream consumer's progress: the last offset delivered to it, and when it started. */
interface Position {
  last: number | undefined;
  startedAt: number;
}

const positions = new WeakMap<object, Position>();

/**
 * Records that `consumer` (a channel's consumer entry, with the arguments streamConsumeArguments
 * returned) is starting now, if it is a stream consumer; call it before sending basic.consume.
 */
export function streamConsumerStarting(consumer: { arguments: FieldTable }, streamQueue: boolean): void {
  const a = consumer.arguments;
  if (streamQueue || a['x-stream-offset'] !== undefined || a['x-stream-filter'] !== undefined) {
    positions.set(consumer, { last: undefined, startedAt: Date.now() });
  }
}

/**
 * Notes a delivery to `consumer`: a stream's delivery (its `x-stream-offset` header) advances the
 * consumer's position. Anything else is ignored. Hot path: one property read for other messages.
 */
export function noteDelivery(consumer: object, props: BasicProperties): void {
  const o = props.applicationHeaders?.['x-stream-offset'];
  if (typeof o !== 'number') return;
  const p = positions.get(consumer);
  if (p) p.last = o;
  else positions.set(consumer, { last: o, startedAt: Date.now() });
}

/** The arguments to restore `consumer` with: after its last delivered offset, or from when it started. */
export function resumeArguments(consumer: { arguments: FieldTable }): FieldTable {
  const p = positions.get(consumer);
  if (!p) return consumer.arguments;
  if (p.last !== undefined) return { ...consumer.arguments, 'x-stream-offset': Field.int64(p.last + 1) };
  const original =
    textOf(consumer.arguments['x-stream-offset']) ?? (consumer.arguments['x-stream-offset'] === undefined ? 'next' : undefined);
  if (original === 'next' || original === 'last') {
    return { ...consumer.arguments, 'x-stream-offset': Field.timestamp(Math.floor(p.startedAt / 1000)) };
  }
  return consumer.arguments;
}

/** The last stream offset delivered to `consumer`, if any (for tests and diagnostics). */
export function lastDeliveredOffset(consumer: object): number | undefined {
  return positions.get(consumer)?.last;
}
