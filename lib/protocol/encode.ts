/**
 * Encoding whole frames into a Writer, and the content (header + body) framing rules.
 *
 * ```
 * method frame:  01 | channel u16 | size u32 | class u16 method u16 args... | CE
 * header frame:  02 | channel u16 | size u32 | class u16 | weight u16 (0) | body-size u64 | flags u16 | props... | CE
 * body frame:    03 | channel u16 | size u32 | body bytes (at most frameMax - 8)     | CE
 * ```
 *
 * A publish (method + header + every body frame) is encoded as one unit so no other channel's frame
 * can be interleaved inside it. Bodies up to COPY_LIMIT are copied into the writer (cheapest for
 * small messages); larger ones are handed over zero-copy through `external`.
 */
import { UnencodableValue } from '../errors.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_METHOD } from './frame.js';
import { encodeBasicPublish, encodeMethod, type MethodInit, type MethodName } from './generated/methods.js';
import { encodeProperties, type BasicProperties } from './generated/properties.js';
import type { Writer } from './primitives.js';

/** Bodies larger than this are not copied into the write buffer. */
export const COPY_LIMIT = 64 * 1024;
const BASIC_CLASS = 60;

/** @internal Starts a frame: writes type and channel, reserves the size; returns the size offset. */
function beginFrame(w: Writer, type: number, channel: number): number {
  w.ensure(7);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = type;
  buf[p++] = channel >>> 8;
  buf[p++] = channel & 0xff;
  w.pos = p + 4;
  return p;
}

/** @internal Ends a frame started by beginFrame: fills in the size, writes the end octet. */
function endFrame(w: Writer, sizePos: number, frameMax: number, what: string): void {
  const size = w.pos - sizePos - 4;
  if (frameMax > 0 && size + 8 > frameMax) {
    throw new UnencodableValue(`${what}: frame of ${size + 8} bytes exceeds the negotiated frame_max ${frameMax}`);
  }
  w.buf.writeUInt32BE(size, sizePos);
  w.ensure(1);
  w.buf[w.pos++] = FRAME_END;
}

/**
 * Encodes one method frame. Throws UnencodableValue (an ArgumentError) (leaving `w.pos` wherever it got to: callers
 * rewind) when an argument cannot be encoded or the frame exceeds frameMax.
 */
export function encodeMethodFrame<N extends MethodName>(w: Writer, channel: number, name: N, args: MethodInit[N], frameMax: number): void {
  const sizePos = beginFrame(w, FRAME_METHOD, channel);
  encodeMethod(w, name, args);
  endFrame(w, sizePos, frameMax, name);
}

/**
 * The last basic.publish method frame a channel encoded, by exchange, routing key and flags: a
 * publish loop to one destination then copies ~30 bytes instead of encoding two strings.
 */
export class PublishFrameCache {
  /** @internal */ channel = -1;
  /** @internal */ exchange = '';
  /** @internal */ routingKey = '';
  /** @internal */ mandatory = false;
  /** @internal */ immediate = false;
  /** @internal */ bytes: Buffer | null = null;

  /** @internal Remembers the encoded frame (copied: the writer's buffer gets reused). */
  store(channel: number, p: PublishFrameArgs, frame: Buffer): void {
    this.channel = channel;
    this.exchange = p.exchange;
    this.routingKey = p.routingKey;
    this.mandatory = p.mandatory;
    this.immediate = p.immediate;
    this.bytes = Buffer.from(frame);
  }
}

/** Method ids of the three delivery acknowledgements (class basic, 60). */
export const ACK_METHOD = { ack: 80, reject: 90, nack: 120 } as const;

/**
 * Encodes basic.ack / basic.nack / basic.reject straight into `w` (the consume hot path: 21 bytes,
 * no generic dispatch). `bits`: ack: multiple = 1; nack: multiple = 1, requeue = 2; reject: requeue = 1.
 * @throws UnencodableValue (an ArgumentError) for a delivery tag that is not a non-negative safe integer.
 */
export function encodeDeliveryAck(w: Writer, channel: number, methodId: number, deliveryTag: number, bits: number): void {
  if (!Number.isSafeInteger(deliveryTag) || deliveryTag < 0) {
    throw new UnencodableValue(`delivery tag must be a non-negative integer, got ${String(deliveryTag)}`);
  }
  w.ensure(21);
  const b = w.buf;
  let p = w.pos;
  b[p++] = FRAME_METHOD;
  b[p++] = channel >>> 8;
  b[p++] = channel & 0xff;
  b[p++] = 0;
  b[p++] = 0;
  b[p++] = 0;
  b[p++] = 13;
  b[p++] = 0;
  b[p++] = BASIC_CLASS;
  b[p++] = 0;
  b[p++] = methodId;
  b.writeUInt32BE(Math.floor(deliveryTag / 0x100000000), p);
  b.writeUInt32BE(deliveryTag >>> 0, p + 4);
  p += 8;
  b[p++] = bits;
  b[p++] = FRAME_END;
  w.pos = p;
}

/** The parts of a basic.publish a caller supplies. */
export interface PublishFrameArgs {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
  properties: BasicProperties;
  body: Buffer;
}

/**
 * Encodes basic.publish + content header + body frames. Bodies above COPY_LIMIT are passed to
 * `external(bytes)` slice by slice (each call must be queued after what is in `w`).
 */
export function encodePublish(
  w: Writer,
  channel: number,
  p: PublishFrameArgs,
  frameMax: number,
  external: (b: Buffer) => void,
  cache?: PublishFrameCache,
): void {
  if (
    cache &&
    cache.exchange === p.exchange &&
    cache.routingKey === p.routingKey &&
    cache.mandatory === p.mandatory &&
    cache.immediate === p.immediate &&
    cache.channel === channel &&
    cache.bytes !== null
  ) {
    const bytes = cache.bytes;
    w.ensure(bytes.length);
    bytes.copy(w.buf, w.pos);
    w.pos += bytes.length;
  } else {
    const methodStart = w.pos;
    const sizePos = beginFrame(w, FRAME_METHOD, channel);
    encodeBasicPublish(w, { exchange: p.exchange, routingKey: p.routingKey, mandatory: p.mandatory, immediate: p.immediate });
    endFrame(w, sizePos, frameMax, 'basic.publish');
    if (cache) cache.store(channel, p, w.buf.subarray(methodStart, w.pos));
  }

  const body = p.body;
  const bodySize = body.length;
  const sizePos = beginFrame(w, FRAME_HEADER, channel);
  w.ensure(12);
  const buf = w.buf;
  let q = w.pos;
  buf[q++] = 0;
  buf[q++] = BASIC_CLASS;
  buf[q++] = 0;
  buf[q++] = 0;
  buf.writeUInt32BE(Math.floor(bodySize / 0x100000000), q);
  buf.writeUInt32BE(bodySize >>> 0, q + 4);
  w.pos = q + 8;
  encodeProperties(w, p.properties);
  endFrame(w, sizePos, frameMax, 'content header');

  if (bodySize === 0) return;
  const maxPayload = frameMax > 0 ? frameMax - 8 : bodySize;
  const copy = bodySize <= COPY_LIMIT;
  if (copy) w.ensure(bodySize + 8 * Math.ceil(bodySize / maxPayload));
  for (let off = 0; off < bodySize; off += maxPayload) {
    const end = Math.min(off + maxPayload, bodySize);
    const len = end - off;
    w.ensure(8);
    const b = w.buf;
    let r = w.pos;
    b[r++] = FRAME_BODY;
    b[r++] = channel >>> 8;
    b[r++] = channel & 0xff;
    b.writeUInt32BE(len, r);
    w.pos = r + 4;
    if (copy) {
      body.copy(w.buf, w.pos, off, end);
      w.pos += len;
    } else {
      external(body.subarray(off, end));
    }
    w.ensure(1);
    w.buf[w.pos++] = FRAME_END;
  }
}
