/**
 * AMQP 0-9-1 framing: the protocol header, frame type constants and frame encoding.
 *
 * After the client sends the 8-byte protocol header (`'AMQP' 0 0 9 1`), both peers exchange
 * frames of this shape (all integers big-endian):
 *
 * ```
 *  0      1         3             7                  7+size     8+size
 *  +------+---------+-------------+------------------+----------+
 *  | type | channel |    size     |     payload      | frame-end|
 *  +------+---------+-------------+------------------+----------+
 *    u8      u16         u32         size octets        0xCE
 *  \________ header (7) _________/
 * ```
 *
 * `type` is one of {@link FRAME_METHOD}, {@link FRAME_HEADER}, {@link FRAME_BODY} or
 * {@link FRAME_HEARTBEAT}; heartbeats travel on channel 0 with an empty payload. The negotiated
 * `frame_max` bounds the whole frame: header + payload + end octet, i.e. `size + 8`
 * ({@link FRAME_OVERHEAD}). A `frame_max` of 0 means no limit other than the u32 size field.
 *
 * If the server does not accept the protocol header it answers with its own protocol header
 * and closes the connection; `FrameParser` reports that as a `FrameError`.
 *
 * The generated protocol module defines the same constants; they are repeated here so the
 * framing layer does not depend on it.
 */

/** The protocol header the client sends first: `'AMQP'` followed by 0, 0, 9, 1 (AMQP 0-9-1). */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** Frame type of a method frame (a class/method id followed by its arguments). */
export const FRAME_METHOD = 1;
/** Frame type of a content header frame (class id, body size, properties). */
export const FRAME_HEADER = 2;
/** Frame type of a content body frame (a slice of the message body). */
export const FRAME_BODY = 3;
/** Frame type of a heartbeat frame (channel 0, empty payload). */
export const FRAME_HEARTBEAT = 8;

/** One of the four AMQP 0-9-1 frame types. */
export type FrameType = typeof FRAME_METHOD | typeof FRAME_HEADER | typeof FRAME_BODY | typeof FRAME_HEARTBEAT;

/** The octet that terminates every frame. */
export const FRAME_END = 0xce;

/**
 * The smallest `frame_max` a peer may negotiate (RabbitMQ's minimum); frames up to this size
 * are always acceptable.
 */
export const FRAME_MIN_SIZE = 8192;

/** Size of the frame header: type (1) + channel (2) + payload size (4). */
export const FRAME_HEADER_SIZE = 7;

/** Bytes a frame adds around its payload: the 7-byte header plus the end octet. */
export const FRAME_OVERHEAD = 8;

/**
 * A complete heartbeat frame on channel 0, ready to write to the socket.
 *
 * Shared: never modify it.
 */
export const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

/**
 * Writes a 7-byte frame header (type, channel, payload size) into `buf` at `offset`.
 *
 * For callers that build frames in place: the payload goes at `offset + 7` and the
 * {@link FRAME_END} octet at `offset + 7 + size`.
 *
 * @param buf - Destination buffer; needs 7 bytes from `offset`.
 * @param offset - Where the header starts.
 * @param type - Frame type (u8), e.g. {@link FRAME_METHOD}.
 * @param channel - Channel number (u16).
 * @param size - Payload size in bytes (u32), excluding header and end octet.
 * @throws RangeError if a value does not fit its field or the header does not fit in `buf`.
 */
export function writeFrameHeader(buf: Buffer, offset: number, type: number, channel: number, size: number): void {
  buf.writeUInt8(type, offset);
  buf.writeUInt16BE(channel, offset + 1);
  buf.writeUInt32BE(size, offset + 3);
}

/**
 * Encodes one complete frame: header, a copy of `payload`, and the end octet.
 *
 * @param type - Frame type (u8), e.g. {@link FRAME_BODY}.
 * @param channel - Channel number (u16).
 * @param payload - Frame payload; copied into the new buffer.
 * @returns A new buffer of `payload.length + 8` bytes.
 * @throws RangeError if `type` or `channel` is out of range for its field.
 */
export function encodeFrame(type: number, channel: number, payload: Uint8Array): Buffer {
  const size = payload.length;
  const buf = Buffer.allocUnsafe(size + FRAME_OVERHEAD);
  writeFrameHeader(buf, 0, type, channel, size);
  buf.set(payload, FRAME_HEADER_SIZE);
  buf[FRAME_HEADER_SIZE + size] = FRAME_END;
  return buf;
}
