/**
 * Message: a body plus the 14 basic properties, and, for a received message, where it came from
 * (`deliveryInfo`) and the channel that can acknowledge it. Mirrors amqpy's `Message`.
 */
import { isUtf8 } from 'node:buffer';
import { ArgumentError } from './errors.js';
import type { BasicProperties } from './protocol/generated/properties.js';
import type { FieldTable } from './protocol/primitives.js';

/** The body types a message can be built from. A string is sent as UTF-8. */
export type MessageBody = Buffer | Uint8Array | string;

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

/** @internal What a Message needs from its channel to acknowledge itself. */
export interface MessageAcker {
  /** @internal */
  ackDelivery(msg: Message, multiple: boolean): void;
  /** @internal */
  nackDelivery(msg: Message, multiple: boolean, requeue: boolean): void;
  /** @internal */
  rejectDelivery(msg: Message, requeue: boolean): void;
}

const TEXT_ENCODINGS = new Set(['utf-8', 'utf8', 'ascii', 'latin1', 'binary', 'utf16le', 'ucs2', 'base64', 'hex']);

/**
 * The body as a string when its contentEncoding is a text encoding Node knows and the bytes are
 * valid in it (a UTF-8-labelled body that is not valid UTF-8 stays a Buffer: decoding would
 * replace bytes and lose them); otherwise the Buffer itself.
 */
function decodeText(body: Buffer, encoding: string | undefined): Buffer | string {
  if (encoding === undefined) return body;
  const enc = encoding.toLowerCase();
  if (!TEXT_ENCODINGS.has(enc)) return body;
  if ((enc === 'utf-8' || enc === 'utf8') && !isUtf8(body)) return body;
  if (enc === 'ascii' && body.some((b) => b > 0x7f)) return body;
  return body.toString(enc as BufferEncoding);
}

/** An AMQP message. */
export class Message {
  /**
   * The body: a Buffer, or a string when it was built from one or decoded on receipt (channel
   * option `autoDecode`, on by default, decodes bodies whose `contentEncoding` is a known text
   * encoding and whose bytes are valid in it; others stay Buffers, byte for byte).
   */
  body: Buffer | string;
  /** The basic properties. */
  properties: BasicProperties;
  /** Set on received messages. */
  deliveryInfo: DeliveryInfo | undefined;
  /** The channel a received message arrived on (an object with ack/nack/reject), else undefined. */
  channel: MessageAcker | undefined;
  /** @internal The channel generation the delivery belongs to (stale after a reopen). */
  generation = 0;

  /**
   * @param body - the body; a string is sent as UTF-8 and sets `contentEncoding` to `utf-8`
   *   unless one is given.
   * @param properties - any of the 14 basic properties, e.g. `{ contentType, applicationHeaders,
   *   deliveryMode: 2 }`.
   * @throws ArgumentError when the body is of another type.
   */
  constructor(body: MessageBody = '', properties: BasicProperties = {}) {
    if (typeof body === 'string') {
      this.body = body;
      this.properties = properties.contentEncoding === undefined ? { ...properties, contentEncoding: 'utf-8' } : properties;
    } else if (Buffer.isBuffer(body)) {
      this.body = body;
      this.properties = properties;
    } else if (body instanceof Uint8Array) {
      this.body = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      this.properties = properties;
    } else {
      throw new ArgumentError(`Message body must be a Buffer, Uint8Array or string, got ${typeof body}`);
    }
    this.deliveryInfo = undefined;
    this.channel = undefined;
  }

  /** @internal Builds a received message; decodes the body to a string when asked and possible. */
  static received(body: Buffer, properties: BasicProperties, info: DeliveryInfo, autoDecode: boolean): Message {
    const m = new Message(body, properties); // one construction path: one object shape
    if (autoDecode && properties.contentEncoding !== undefined) m.body = decodeText(body, properties.contentEncoding);
    m.deliveryInfo = info;
    return m;
  }

  /** The body as bytes (encoding a string body with its `contentEncoding`, UTF-8 by default). */
  get bodyBuffer(): Buffer {
    if (typeof this.body !== 'string') return this.body;
    const enc = this.properties.contentEncoding?.toLowerCase();
    return Buffer.from(this.body, enc !== undefined && TEXT_ENCODINGS.has(enc) ? (enc as BufferEncoding) : 'utf8');
  }

  /** The `applicationHeaders` property (amqpy's `application_headers`). */
  get applicationHeaders(): FieldTable | undefined {
    return this.properties.applicationHeaders;
  }

  /** The delivery tag of a received message. @throws ArgumentError for a message that was not received. */
  get deliveryTag(): number {
    if (!this.deliveryInfo) throw new ArgumentError('this message was not received from the broker: it has no delivery tag');
    return this.deliveryInfo.deliveryTag;
  }

  private acker(what: string): MessageAcker {
    if (!this.channel || !this.deliveryInfo || this.deliveryInfo.deliveryTag === 0) {
      throw new ArgumentError(`cannot ${what} a message that was not delivered by the broker`);
    }
    return this.channel;
  }

  /**
   * Acknowledges this delivery (basic.ack); with `multiple`, every earlier unacked one too.
   * @throws StaleDelivery when its channel has closed or reopened since delivery (never sent).
   * The broker answers an unknown tag with a channel close 406 PRECONDITION_FAILED.
   */
  ack(options: { multiple?: boolean } = {}): void {
    this.acker('ack').ackDelivery(this, options.multiple ?? false);
  }

  /**
   * Negatively acknowledges this delivery (basic.nack, a RabbitMQ extension); requeued by default.
   * @throws StaleDelivery when its channel has closed or reopened since delivery (never sent).
   */
  nack(options: { multiple?: boolean; requeue?: boolean } = {}): void {
    this.acker('nack').nackDelivery(this, options.multiple ?? false, options.requeue ?? true);
  }

  /**
   * Rejects this delivery (basic.reject); requeued by default.
   * @throws StaleDelivery when its channel has closed or reopened since delivery (never sent).
   */
  reject(options: { requeue?: boolean } = {}): void {
    this.acker('reject').rejectDelivery(this, options.requeue ?? true);
  }
}
