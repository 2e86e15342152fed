/**
 * Incremental AMQP 0-9-1 frame parser: turns socket chunks into frames.
 *
 * Pure (no I/O, no timers). Frames that lie wholly inside a pushed chunk are delivered as a range
 * of that chunk (zero-copy, no view allocated); the parser never keeps a reference to a chunk. A frame
 * split across chunks is reassembled in a buffer allocated once for the whole frame (its size
 * is known from the header), so large bodies cost one copy, not a quadratic one. The only
 * reused buffer is an 8-byte scratch for a header split across chunks: payloads handed to the
 * handler are never overwritten later, so callers may keep them (e.g. body frames of a
 * message being assembled).
 *
 * Streaming mode (an `onBodyPart` handler given to the constructor): a BODY frame (type 3) split
 * across chunks is not reassembled at all. Each slice of its payload is handed to `onBodyPart` as
 * a zero-copy view of the chunk it arrived in, as soon as it arrives; the last call of a frame has
 * `frameDone` set and comes only after the end octet was checked. So a consumer that copies the
 * pieces into a message buffer copies each body byte once. Whole frames, and all other frame
 * types, still go to `onFrame` exactly as without the hook.
 *
 * See `frame.ts` for the frame layout.
 */
import { constants as bufferConstants } from 'node:buffer';

import { ArgumentError, FrameError } from '../errors.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEADER_SIZE, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_OVERHEAD } from './frame.js';

/**
 * Receives each parsed frame.
 *
 * @param type - Frame type: 1 method, 2 header, 3 body, 8 heartbeat.
 * @param channel - Channel number (0 for connection-level frames and heartbeats).
 * @param buf - Holds the frame payload (without header and end octet) at `buf[start..end)`: a
 *   chunk passed to {@link FrameParser.push}, or the parser's own copy of a frame that was split
 *   across chunks. Never reused or overwritten by the parser. Passing a range rather than a view
 *   spares the two typed arrays per message that method and header frames, decoded in place,
 *   would never use.
 */
export type FrameHandler = (type: number, channel: number, buf: Buffer, start: number, end: number) => void;

/**
 * Receives the payload of a BODY frame split across chunks, piece by piece (streaming mode).
 *
 * @param channel - Channel number of the frame.
 * @param piece - The next bytes of the frame's payload: a view of a pushed chunk, never copied,
 *   reused or overwritten by the parser. Pieces of a frame are contiguous and in order; their
 *   concatenation is the payload. A piece may be empty only when `frameDone` is set (the payload
 *   ended at the end of a chunk and the end octet came in the next one).
 * @param frameDone - True for the last piece of the frame, reported after the frame's end octet
 *   was verified; exactly once per frame.
 */
export type BodyPartHandler = (channel: number, piece: Buffer, frameDone: boolean) => void;

/** Reply code of `FrameError` (AMQP `frame-error`). */
const FRAME_ERROR_CODE = 501;
/** Largest value of the u32 size field. */
const MAX_U32 = 0xffffffff;
/** `'A'`, the first byte of a protocol header. */
const ASCII_A = 0x41;
/** Length of a protocol header (`'AMQP' x y z w`). */
const PROTOCOL_HEADER_SIZE = 8;
/** The bytes `'AMQP'`. */
const AMQP_MAGIC: readonly number[] = [0x41, 0x4d, 0x51, 0x50];
const EMPTY: Buffer = Buffer.alloc(0);

/** Parser states. */
const IDLE = 0; // at a frame boundary, nothing buffered
const PARTIAL_HEADER = 1; // 1..7 header bytes (8 for a possible protocol header) in `scratch`
const PARTIAL_BODY = 2; // header parsed; payload + end octet being copied into `body`
const STREAM_BODY = 3; // header of a split body frame parsed; payload streamed to `onBodyPart`

function frameError(message: string): FrameError {
  return new FrameError(message, { replyCode: FRAME_ERROR_CODE });
}

function hex(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    out += (i > start ? ' ' : '') + (bytes[i] ?? 0).toString(16).padStart(2, '0');
  }
  return out;
}

/**
 * Describes a frame starting with a byte that is not a frame type (`avail` bytes of it
 * available from `pos`): either the server's protocol header or garbage. Returns `undefined`
 * when the bytes so far could still be a protocol header that is not complete yet.
 */
function badStart(bytes: Uint8Array, pos: number, avail: number): FrameError | undefined {
  const type = bytes[pos] ?? 0;
  if (type === ASCII_A) {
    const n = Math.min(avail, AMQP_MAGIC.length);
    let magic = true;
    for (let i = 1; i < n; i++) {
      if (bytes[pos + i] !== AMQP_MAGIC[i]) {
        magic = false;
        break;
      }
    }
    if (magic) {
      if (avail < PROTOCOL_HEADER_SIZE) return undefined;
      return protocolHeaderError(bytes, pos);
    }
  }
  const shown = Math.min(avail, PROTOCOL_HEADER_SIZE);
  return frameError(
    `unknown frame type ${type} (0x${type.toString(16).padStart(2, '0')}) at a frame boundary; ` +
      `next bytes: ${hex(bytes, pos, pos + shown)}`,
  );
}

function protocolHeaderError(bytes: Uint8Array, pos: number): FrameError {
  const id = bytes[pos + 4] ?? 0;
  const a = bytes[pos + 5] ?? 0;
  const b = bytes[pos + 6] ?? 0;
  const c = bytes[pos + 7] ?? 0;
  // Pre-0-9-1 headers were 'AMQP' 1 1 major minor (e.g. 1 1 8 0 for AMQP 0-8);
  // 0-9-1 and 1.0 use 'AMQP' id major minor revision.
  const version = id === 1 && a === 1 ? `AMQP ${b}-${c}` : `AMQP ${a}-${b}-${c}${id === 0 ? '' : ` (protocol id ${id})`}`;
  return frameError(
    `the server rejected our AMQP 0-9-1 protocol header and answered with its own: it speaks ${version} ` +
      `(bytes: ${hex(bytes, pos, pos + PROTOCOL_HEADER_SIZE)})`,
  );
}

function isFrameType(type: number): boolean {
  return type === FRAME_BODY || type === FRAME_METHOD || type === FRAME_HEADER || type === FRAME_HEARTBEAT;
}

/**
 * Splits an AMQP byte stream into frames.
 *
 * Feed it every chunk read from the socket with {@link FrameParser.push}; it calls the handler
 * once per complete frame, in order, for any split of the stream. Malformed input throws a
 * {@link FrameError} (reply code 501): unknown frame type, bad end octet, a frame larger than
 * {@link FrameParser.frameMax}, a heartbeat on a channel other than 0 or with a payload, or the
 * server's protocol header (it rejected our version). After any throw, including one from the
 * handler, the parser is poisoned: each further `push` throws the same error until
 * {@link FrameParser.reset}.
 */
export class FrameParser {
  private readonly onFrame: FrameHandler;
  private readonly onBodyPart: BodyPartHandler | undefined;
  private max = 0;
  private maxPayload = MAX_U32;

  private state = IDLE;
  /** Holds the bytes of a header split across chunks (8 to detect a protocol header). */
  private readonly scratch: Buffer = Buffer.alloc(PROTOCOL_HEADER_SIZE);
  private scratchLen = 0;
  /** Reassembly buffer of the current split frame: payload + end octet. */
  private body: Buffer = EMPTY;
  private bodyFilled = 0;
  /** STREAM_BODY: payload bytes of the current frame not yet delivered (the end octet follows). */
  private streamLeft = 0;
  private type = 0;
  private channel = 0;
  private size = 0;

  private failed = false;
  private failure: unknown = undefined;
  private parsing = false;
  /** Frames handed to `onFrame` so far (a cheap counter the transport reads per chunk). */
  frames = 0;
  /** Bumped by `reset()`, so a parse loop notices a reset made by the handler. */
  private epoch = 0;

  /**
   * @param onFrame - Called synchronously for each complete frame.
   * @param frameMax - Largest accepted frame in bytes, header and end octet included; 0 for no
   *   limit other than the u32 size field. Defaults to 131072 (RabbitMQ's default).
   * @param onBodyPart - Optional: enables streaming mode for BODY frames split across chunks
   *   (see {@link BodyPartHandler}); such frames then never reach `onFrame`.
   * @throws ArgumentError if `frameMax` is not 0 or an integer from 8 to 2^32 - 1.
   */
  constructor(onFrame: FrameHandler, frameMax = 131072, onBodyPart?: BodyPartHandler) {
    this.onFrame = onFrame;
    this.onBodyPart = onBodyPart;
    this.frameMax = frameMax;
  }

  /**
   * Largest accepted frame in bytes (header + payload + end octet); 0 means no limit other
   * than the u32 size field. Set it to the negotiated `frame_max` after `connection.tune`;
   * the new limit applies to frames whose header has not been parsed yet.
   *
   * @throws ArgumentError (on set) if the value is not 0 or an integer from 8 to 2^32 - 1.
   */
  get frameMax(): number {
    return this.max;
  }

  set frameMax(value: number) {
    if (!Number.isInteger(value) || (value !== 0 && (value < FRAME_OVERHEAD || value > MAX_U32))) {
      throw new ArgumentError(`frameMax must be 0 or an integer from ${FRAME_OVERHEAD} to ${MAX_U32}, got ${value}`);
    }
    this.max = value;
    this.maxPayload = value === 0 ? MAX_U32 : value - FRAME_OVERHEAD;
  }

  /**
   * Bytes of the incomplete frame received so far (the part of a frame split across chunks).
   * In streaming mode this includes payload pieces already handed to `onBodyPart`.
   */
  get buffered(): number {
    if (this.state === PARTIAL_HEADER) return this.scratchLen;
    if (this.state === PARTIAL_BODY) return FRAME_HEADER_SIZE + this.bodyFilled;
    if (this.state === STREAM_BODY) return FRAME_HEADER_SIZE + this.size - this.streamLeft;
    return 0;
  }

  /** While a split body frame is being streamed, the channel it is for; else -1. */
  get streamChannel(): number {
    return this.state === STREAM_BODY ? this.channel : -1;
  }

  /** Payload bytes of the streamed body frame still to come (0: only its end octet is missing). */
  get streamRemaining(): number {
    return this.state === STREAM_BODY ? this.streamLeft : 0;
  }

  /**
   * Drops any partial frame and clears a poisoned state, e.g. before reusing the parser for a
   * new connection. When called from the handler, the rest of the chunk being parsed is
   * discarded.
   */
  reset(): void {
    this.state = IDLE;
    this.scratchLen = 0;
    this.body = EMPTY;
    this.bodyFilled = 0;
    this.streamLeft = 0;
    this.failed = false;
    this.failure = undefined;
    this.epoch++;
  }

  /**
   * Parses a chunk of the byte stream, calling the handler for each frame it completes.
   *
   * @param chunk - The next bytes from the socket. Not modified, and not referenced after
   *   return except through the payloads handed to the handler.
   * @throws FrameError on malformed input; afterwards every call throws the same error.
   * @throws Whatever the handler throws; afterwards every call throws that error.
   */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failure;
    if (this.parsing) {
      throw new Error('FrameParser.push() must not be called from its own frame handler');
    }
    this.parsing = true;
    try {
      this.parse(chunk);
    } catch (err) {
      this.failed = true;
      this.failure = err;
      this.body = EMPTY;
      throw err;
    } finally {
      this.parsing = false;
    }
  }

  private parse(chunk: Buffer): void {
    const len = chunk.length;
    const epoch = this.epoch;
    let pos = 0;

    if (this.state !== IDLE) {
      const state = this.state;
      pos =
        state === PARTIAL_HEADER ? this.resumeHeader(chunk) : state === PARTIAL_BODY ? this.resumeBody(chunk) : this.resumeStream(chunk);
      if (pos >= len || this.epoch !== epoch) return;
    }

    // Fast path: frames lying wholly inside the chunk, delivered as ranges of it. (`maxPayload`
    // is read per frame: the handler may change frameMax, e.g. on connection.tune.)
    const onFrame = this.onFrame;
    while (len - pos >= FRAME_HEADER_SIZE) {
      const type = chunk[pos]!;
      if (!isFrameType(type)) {
        const err = badStart(chunk, pos, len - pos);
        if (err !== undefined) throw err;
        break; // a protocol header still missing its last byte
      }
      const channel = (chunk[pos + 1]! << 8) | chunk[pos + 2]!;
      const size = chunk[pos + 3]! * 0x1000000 + ((chunk[pos + 4]! << 16) | (chunk[pos + 5]! << 8) | chunk[pos + 6]!);
      if (size > this.maxPayload || (type === FRAME_HEARTBEAT && (channel | size) !== 0)) {
        throw this.headerError(type, channel, size);
      }
      const start = pos + FRAME_HEADER_SIZE;
      const end = start + size;
      if (end >= len) break; // payload or end octet still to come
      if (chunk[end] !== FRAME_END) throw this.endError(chunk[end]!, type, channel, size);
      pos = end + 1;
      this.frames++;
      onFrame(type, channel, chunk, start, end);
      if (this.epoch !== epoch) return;
    }

    if (pos < len) this.stash(chunk, pos);
  }

  /** Keeps the incomplete frame starting at `pos` (the rest of the chunk). */
  private stash(chunk: Buffer, pos: number): void {
    const len = chunk.length;
    const avail = len - pos;
    const type = chunk[pos]!;
    if (avail < FRAME_HEADER_SIZE || !isFrameType(type)) {
      // Header incomplete (or a protocol header missing its last byte): check what we can now.
      if (!isFrameType(type)) {
        const err = badStart(chunk, pos, avail);
        if (err !== undefined) throw err;
      }
      chunk.copy(this.scratch, 0, pos, len);
      this.scratchLen = avail;
      this.state = PARTIAL_HEADER;
      return;
    }
    // Header complete and already checked by the fast path; payload incomplete.
    this.type = type;
    this.channel = (chunk[pos + 1]! << 8) | chunk[pos + 2]!;
    this.size = chunk.readUInt32BE(pos + 3);
    this.startBody(chunk, pos + FRAME_HEADER_SIZE);
  }

  /**
   * Starts the payload of the current split frame at `chunk[from..]` (the end octet is not in
   * `chunk`): streams it when it is a body frame and streaming is on, else allocates the
   * reassembly buffer and copies the rest of the chunk in.
   */
  private startBody(chunk: Buffer, from: number): void {
    const onBodyPart = this.onBodyPart;
    if (onBodyPart !== undefined && this.type === FRAME_BODY) {
      const avail = chunk.length - from; // <= size: the end octet is in a later chunk
      this.streamLeft = this.size - avail;
      this.state = STREAM_BODY;
      if (avail > 0) onBodyPart(this.channel, chunk.subarray(from), false);
      return;
    }
    const total = this.size + 1;
    if (total > bufferConstants.MAX_LENGTH) {
      throw frameError(`frame of ${this.size + FRAME_OVERHEAD} bytes is larger than this process can buffer`);
    }
    const body = Buffer.allocUnsafe(total);
    this.bodyFilled = chunk.copy(body, 0, from);
    this.body = body;
    this.state = PARTIAL_BODY;
  }

  /** Completes a split header from the start of `chunk`; returns the bytes of `chunk` used. */
  private resumeHeader(chunk: Buffer): number {
    const len = chunk.length;
    const scratch = this.scratch;
    const have = this.scratchLen;
    const first = scratch[0]!;
    const need = isFrameType(first) ? FRAME_HEADER_SIZE : PROTOCOL_HEADER_SIZE;
    const take = Math.min(need - have, len);
    chunk.copy(scratch, have, 0, take);
    this.scratchLen = have + take;
    if (!isFrameType(first)) {
      const err = badStart(scratch, 0, this.scratchLen);
      if (err !== undefined) throw err;
      return len; // still a possible protocol header, still incomplete
    }
    if (this.scratchLen < need) return len;

    const type = first;
    const channel = (scratch[1]! << 8) | scratch[2]!;
    const size = scratch.readUInt32BE(3);
    if (size > this.maxPayload || (type === FRAME_HEARTBEAT && (channel | size) !== 0)) {
      throw this.headerError(type, channel, size);
    }
    this.scratchLen = 0;
    const end = take + size;
    if (end < len) {
      // Payload and end octet are all in this chunk: deliver its range.
      if (chunk[end] !== FRAME_END) throw this.endError(chunk[end]!, type, channel, size);
      this.state = IDLE;
      this.onFrame(type, channel, chunk, take, end);
      return end + 1;
    }
    this.type = type;
    this.channel = channel;
    this.size = size;
    this.startBody(chunk, take);
    return len;
  }

  /** Continues copying a split frame from the start of `chunk`; returns the bytes used. */
  private resumeBody(chunk: Buffer): number {
    const len = chunk.length;
    const body = this.body;
    const filled = this.bodyFilled;
    const missing = body.length - filled;
    if (len < missing) {
      chunk.copy(body, filled, 0, len);
      this.bodyFilled = filled + len;
      return len;
    }
    chunk.copy(body, filled, 0, missing);
    const size = this.size;
    if (body[size] !== FRAME_END) throw this.endError(body[size]!, this.type, this.channel, size);
    this.body = EMPTY;
    this.bodyFilled = 0;
    this.state = IDLE;
    this.onFrame(this.type, this.channel, body, 0, size);
    return missing;
  }

  /** Continues streaming a split body frame from the start of `chunk`; returns the bytes used. */
  private resumeStream(chunk: Buffer): number {
    const len = chunk.length;
    const left = this.streamLeft;
    const onBodyPart = this.onBodyPart as BodyPartHandler;
    if (len <= left) {
      // Payload only (possibly up to its last byte); the end octet is in a later chunk.
      if (len === 0) return 0;
      this.streamLeft = left - len;
      onBodyPart(this.channel, chunk, false);
      return len;
    }
    // The end octet is in this chunk: check it before reporting the frame done.
    if (chunk[left] !== FRAME_END) throw this.endError(chunk[left]!, FRAME_BODY, this.channel, this.size);
    this.streamLeft = 0;
    this.state = IDLE;
    onBodyPart(this.channel, left === 0 ? EMPTY : chunk.subarray(0, left), true);
    return left + 1;
  }

  private headerError(type: number, channel: number, size: number): FrameError {
    if (size > this.maxPayload) {
      return frameError(`frame of ${size + FRAME_OVERHEAD} bytes (type ${type}, channel ${channel}) exceeds frame_max ${this.max}`);
    }
    return channel !== 0
      ? frameError(`heartbeat frame on channel ${channel}; heartbeats must use channel 0`)
      : frameError(`heartbeat frame with a ${size}-byte payload; heartbeats must be empty`);
  }

  private endError(octet: number, type: number, channel: number, size: number): FrameError {
    return frameError(
      `bad frame end octet 0x${octet.toString(16).padStart(2, '0')} (expected 0xce) ` +
        `after frame type ${type}, channel ${channel}, size ${size}`,
    );
  }
}
