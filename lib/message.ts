/**
 * Message: a body plus the 14 basic properties, and, for a received message, where it came from
 * (`deliveryInfo`) and the channel that can acknowledge it. Mirrors amqpy's `Message`.
 *
 * Bodies: bytes (Buffer or Uint8Array), a string (encoded in its `contentEncoding`, UTF-8 by
 * default; see charset.ts for the labels), or any other JSON value (sent as `application/json`).
 */
import { ArgumentError } from './errors.js';
import { checkEncodable, decodeText, encodeText } from './charset.js';
import type { BasicProperties } from './protocol/generated/properties.js';
import type { FieldTable } from './protocol/primitives.js';

/** A JSON value: what a body other than bytes or a string may be. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The body types a message can be built from. */
export type MessageBody = Buffer | Uint8Array | string | JsonValue;

/** Where a received message came from (basic.deliver, basic.get-ok or basic.return). */
export interface DeliveryInfo {
  /** Consumer tag (deliveries to a consumer only). */
  consumerTag?: string;
  /** Delivery tag on its channel; 0 for returned messages. */
  deliveryTag: number;
  /** Whether the broker delivered it before (deliveries only). */
  redelivered: boolean;
  /** Exchange it was published to. */
  exchange: string;
  /** Routing key it was published with. */
  routingKey: string;
  /** Messages left in the queue (basic.get only). */
  messageCount?: number;
  /** Reply code of a returned message (basic.return only), e.g. 312 NO_ROUTE. */
  replyCode?: number;
  /** Reply text of a returned message (basic.return only). */
  replyText?: string;
}

/**
 * The channel a received message arrived on, as the message sees it (a `Channel` implements
 * it): its id, and acknowledging deliveries by tag or by message.
 */
export interface MessageChannel {
  /** The channel number. */
  readonly channelId: number;
  /** True while the channel can be used. */
  readonly isOpen: boolean;
  /** Acknowledges a delivery (basic.ack). */
  basicAck(delivery: number | Message<unknown>, opts?: { multiple?: boolean }): void;
  /** Negatively acknowledges a delivery (basic.nack). */
  basicNack(delivery: number | Message<unknown>, opts?: { multiple?: boolean; requeue?: boolean }): void;
  /** Rejects a delivery (basic.reject). */
  basicReject(delivery: number | Message<unknown>, opts?: { requeue?: boolean }): void;
}

/** How a received message reaches back to its channel (one per channel generation; not public). */
export interface DeliveryContext {
  /** The public channel. */
  readonly channel: MessageChannel;
  /** Sends basic.ack / nack / reject for `msg`; StaleDelivery when the context is no longer current. */
  settle(msg: Message<unknown>, how: 'ack' | 'nack' | 'reject', multiple: boolean, requeue: boolean): void;
}

/** Key of a received message's delivery context. Not exported from the package. */
export const CONTEXT: unique symbol = Symbol('amqpts.deliveryContext');

const JSON_TYPE = 'application/json';

/** An integer header value (decoded int64s beyond 2^53 come as bigints) as a number; else undefined. */
function intHeader(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function isBytes(body: unknown): body is Uint8Array {
  return body instanceof Uint8Array;
}

/** Validates a JSON body (finite numbers, plain objects and arrays, no cycles); returns its text. */
function jsonText(body: unknown): string {
  const t = typeof body;
  if (t === 'bigint' || t === 'function' || t === 'symbol' || t === 'undefined' || (t === 'number' && !Number.isFinite(body))) {
    throw new ArgumentError(`Message body must be bytes, a string or a JSON value, got ${t === 'number' ? String(body) : t}`);
  }
  try {
    return JSON.stringify(body, (_k, v: unknown) => {
      if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol' || (typeof v === 'number' && !Number.isFinite(v))) {
        throw new ArgumentError(`a JSON body cannot hold ${typeof v === 'number' ? String(v) : `a ${typeof v}`}`);
      }
      return v;
    });
  } catch (err) {
    if (err instanceof ArgumentError) throw new ArgumentError(`Message body is not a JSON value: ${err.message}`);
    throw new ArgumentError(`Message body is not a JSON value: ${String(err)}`, { cause: err });
  }
}

/**
 * An AMQP message. `B` is the body's type: `Buffer | string` for received messages and by
 * default, or the JSON type a message was built from.
 */
export class Message<B = Buffer | string> {
  /**
   * The body: a Buffer, a string when it was built from one or decoded on receipt (channel option
   * `autoDecode`, on by default, decodes bodies whose `contentEncoding` is a text encoding amqpts
   * knows and whose bytes are valid in it; others stay Buffers, byte for byte), or the JSON value
   * it was built from.
   */
  body: B;
  /** The basic properties. */
  properties: BasicProperties;
  /** Where a received message came from; undefined on a message built to be sent. */
  deliveryInfo: DeliveryInfo | undefined;
  /**
   * An address (Proton and Messenger style: `amqp://host/queue`, `/exchanges/x/key`); amqpts'
   * channel API does not read it, the higher layers route by it.
   */
  address: string | undefined;
  /** @internal Set on received messages: the channel generation that can acknowledge it. */
  [CONTEXT]: DeliveryContext | undefined;

  /**
   * @param body - bytes, a string (encoded in `contentEncoding`, which defaults to `utf-8`), or any
   *   other JSON value (sent as JSON text, `contentType` defaulting to `application/json`).
   * @param properties - any of the 14 basic properties, e.g. `{ contentType, applicationHeaders,
   *   deliveryMode: 2 }`.
   * @throws ArgumentError when the body is none of those, or a string body's `contentEncoding` is
   *   a label amqpts cannot encode.
   */
  constructor(body?: B, properties: BasicProperties = {}) {
    const b: unknown = body === undefined ? '' : body;
    if (typeof b === 'string') {
      checkEncodable(properties.contentEncoding);
      this.properties = properties.contentEncoding === undefined ? { ...properties, contentEncoding: 'utf-8' } : properties;
    } else if (isBytes(b)) {
      this.properties = properties;
    } else {
      jsonText(b);
      this.properties = {
        ...properties,
        contentType: properties.contentType ?? JSON_TYPE,
        contentEncoding: properties.contentEncoding ?? 'utf-8',
      };
    }
    this.body = (isBytes(b) && !Buffer.isBuffer(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : b) as B;
    this.deliveryInfo = undefined;
    this.address = undefined;
    this[CONTEXT] = undefined;
  }

  /** @internal Builds a received message; decodes the body to a string when asked and possible. */
  static received(
    body: Buffer,
    properties: BasicProperties,
    info: DeliveryInfo,
    autoDecode: boolean,
    ctx: DeliveryContext | undefined,
  ): Message {
    const m = new Message<Buffer | string>(body, properties); // one construction path: one object shape
    const label = properties.contentEncoding;
    if (autoDecode && label !== undefined) m.body = decodeText(body, label) ?? body;
    m.deliveryInfo = info;
    m[CONTEXT] = ctx;
    return m;
  }

  /**
   * The body as bytes: bytes as they are, a string encoded in its `contentEncoding` (UTF-8 by
   * default), a JSON value as its JSON text in UTF-8.
   * @throws ArgumentError when a string cannot be encoded in its `contentEncoding`.
   */
  get bodyBuffer(): Buffer {
    const b: unknown = this.body;
    if (Buffer.isBuffer(b)) return b;
    if (typeof b === 'string') return encodeText(b, this.properties.contentEncoding);
    if (isBytes(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    return Buffer.from(jsonText(b), 'utf8');
  }

  /**
   * The body parsed as JSON (bytes decoded by their `contentEncoding`, UTF-8 by default); a
   * body built from a JSON value is returned as it is.
   * @throws ArgumentError when the body is not valid JSON.
   */
  json<T = JsonValue>(): T {
    const b: unknown = this.body;
    if (!isBytes(b) && typeof b !== 'string') return b as T;
    const label = this.properties.contentEncoding;
    const text =
      typeof b === 'string' ? b : ((label === undefined ? null : decodeText(Buffer.from(b), label)) ?? Buffer.from(b).toString('utf8'));
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new ArgumentError(`the message body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** The `applicationHeaders` property (amqpy's `application_headers`). */
  get applicationHeaders(): FieldTable | undefined {
    return this.properties.applicationHeaders;
  }

  /**
   * Proton's `subject`, carried on 0.9.1 as the application header `subject`. Setting it copies
   * the headers table (a table shared with another message is never changed).
   */
  get subject(): string | undefined {
    const s = this.properties.applicationHeaders?.['subject'];
    return typeof s === 'string' ? s : Buffer.isBuffer(s) ? s.toString('utf8') : undefined;
  }

  /**
   * Sets (or, with undefined, removes) the `subject` application header, on a copy of the headers table.
   * @throws ArgumentError for a value that is neither a string nor undefined.
   */
  set subject(value: string | undefined) {
    if (value !== undefined && typeof value !== 'string') throw new ArgumentError(`subject must be a string, got ${typeof value}`);
    const headers: FieldTable = { ...this.properties.applicationHeaders };
    if (value === undefined) delete headers['subject'];
    else headers['subject'] = value;
    this.properties = { ...this.properties, applicationHeaders: headers };
  }

  /**
   * The offset of a message received from a stream queue (RabbitMQ's `x-stream-offset` header):
   * 0 for the first message ever written to the stream. Undefined for other messages.
   */
  get streamOffset(): number | undefined {
    return intHeader(this.properties.applicationHeaders?.['x-stream-offset']);
  }

  /**
   * How many times a quorum queue has delivered this message before (RabbitMQ's
   * `x-delivery-count` header, set from the first redelivery on): undefined on a first delivery
   * and for other queue types. A queue's `deliveryLimit` caps it.
   */
  get deliveryCount(): number | undefined {
    return intHeader(this.properties.applicationHeaders?.['x-delivery-count']);
  }

  /** The channel a received message arrived on; undefined for a message built to be sent. */
  get channel(): MessageChannel | undefined {
    return this[CONTEXT]?.channel;
  }

  /** The delivery tag of a received message. @throws ArgumentError for a message that was not received. */
  get deliveryTag(): number {
    if (!this.deliveryInfo) throw new ArgumentError('this message was not received from the broker: it has no delivery tag');
    return this.deliveryInfo.deliveryTag;
  }

  private context(what: string): DeliveryContext {
    const ctx = this[CONTEXT];
    if (!ctx || !this.deliveryInfo || this.deliveryInfo.deliveryTag === 0) {
      throw new ArgumentError(`cannot ${what} a message that was not delivered by the broker`);
    }
    return ctx;
  }

  /**
   * Acknowledges this delivery (basic.ack); with `multiple`, every earlier unacked one too.
   * @throws StaleDelivery when its channel has closed or reopened since delivery (never sent);
   *   ArgumentError for a message the broker did not deliver (built to be sent, or returned).
   *   The broker answers a tag it does not know (already settled, or consumed with noAck) with a
   *   channel close, PreconditionFailed (406).
   */
  ack(options: { multiple?: boolean } = {}): void {
    this.context('ack').settle(this, 'ack', options.multiple ?? false, false);
  }

  /**
   * Negatively acknowledges this delivery (basic.nack, a RabbitMQ extension); requeued by default.
   * @throws StaleDelivery when its channel has closed or reopened since delivery (never sent);
   *   ArgumentError for a message the broker did not deliver. An unknown tag: as `ack()`.
   */
  nack(options: { multiple?: boolean; requeue?: boolean } = {}): void {
    this.context('nack').settle(this, 'nack', options.multiple ?? false, options.requeue ?? true);
  }

  /**
   * Rejects this delivery (basic.reject); requeued by default.
   * @throws StaleDelivery when its channel has closed or reopened since delivery (never sent);
   *   ArgumentError for a message the broker did not deliver. An unknown tag: as `ack()`.
   */
  reject(options: { requeue?: boolean } = {}): void {
    this.context('reject').settle(this, 'reject', false, options.requeue ?? true);
  }
}
