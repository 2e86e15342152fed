/**
 * Inbound content assembly for one channel: a state machine
 * `method (deliver | get-ok | return) -> header -> body frames until body-size bytes`.
 *
 * Every body is copied once into a buffer of its own, allocated at its final size: the bytes a
 * frame arrives in belong to the socket's landing buffer, valid only while the read is handled. A frame of
 * the wrong type mid-content is UNEXPECTED_FRAME (505), as is a body longer than announced.
 *
 * Body frames come either whole (`bodyFrame`) or, when the frame parser streams a frame split
 * across socket chunks, as pieces (`bodyPiece`): views of the socket chunks that are copied
 * straight into the body buffer, so each body byte is copied once in userland. Better still,
 * `target()` hands out the part of the body buffer the next bytes belong in, so the socket can
 * read them there: such a piece arrives as a view of the body buffer itself and is not copied.
 */
import { FrameError, UnexpectedFrame } from '../errors.js';
import type { Method } from '../protocol/generated/methods.js';
import { decodeProperties, type BasicProperties } from '../protocol/generated/properties.js';
import { Reader } from '../protocol/primitives.js';

const EMPTY = Buffer.alloc(0);
/** Reused for every content header (decoding is synchronous and never re-entrant). */
const headerReader = new Reader(EMPTY);

/** @internal Called with a complete content-bearing method. */
export type ContentHandler = (method: Method, properties: BasicProperties, body: Buffer) => void;

/** @internal See the file header. */
export class ContentAssembler {
  private method: Method | null = null;
  private props: BasicProperties | null = null;
  private bodySize = 0;
  private received = 0;
  private body: Buffer | null = null;

  /**
   * @param maxSize - the largest body a content header may announce; a larger one is a FrameError
   *   before anything is allocated (the connection option `maxMessageSize`).
   * @param alloc - allocates the buffer a body split over frames is assembled in (the channel
   *   recycles buffers for some consumers); `Buffer.allocUnsafe` by default.
   */
  constructor(
    private readonly channelId: number,
    private readonly onComplete: ContentHandler,
    private readonly maxSize: number,
    private readonly alloc: (size: number, method: Method) => Buffer = (size) => Buffer.allocUnsafe(size),
  ) {}

  /** True between a content-bearing method and its last body frame. */
  get busy(): boolean {
    return this.method !== null;
  }

  /** Starts content for `method`. */
  start(method: Method): void {
    if (this.method) throw this.unexpected(`method ${method.name} arrived in the middle of a message's content`);
    this.method = method;
    this.props = null;
  }

  /** Handles a content header frame, its payload at `buf[start..end)` (all of `buf` by default). */
  header(buf: Buffer, start = 0, end = buf.length): void {
    const method = this.method;
    if (!method || this.props) throw this.unexpected('content header frame without a preceding content method');
    const r = headerReader;
    r.buf = buf;
    r.pos = start;
    r.end = end;
    r.u16(); // class id
    r.u16(); // weight
    const size = r.u64(); // FrameError beyond 2^53 - 1
    if (size > this.maxSize) {
      throw new FrameError(
        `FRAME_ERROR - a content header on channel ${this.channelId} announces a body of ${size} bytes, above maxMessageSize (${this.maxSize} bytes)`,
        { replyCode: 501, channelId: this.channelId },
      );
    }
    this.props = decodeProperties(r);
    this.bodySize = size;
    this.received = 0;
    this.body = null;
    if (size === 0) this.finish(EMPTY);
  }

  /** Handles a content body frame, its payload at `buf[start..end)` (all of `buf` by default); copied. */
  bodyFrame(buf: Buffer, start = 0, end = buf.length): void {
    if (!this.method || !this.props) throw this.unexpected('content body frame without a content header');
    const len = end - start;
    if (this.received + len > this.bodySize) throw this.unexpected(`content body exceeds its announced size of ${this.bodySize} bytes`);
    this.body ??= this.alloc(this.bodySize, this.method);
    buf.copy(this.body, this.received, start, end);
    this.received += len;
    if (this.received === this.bodySize) this.finish(this.body);
  }

  /**
   * Handles the next piece of a body frame streamed by the frame parser. `frameDone` marks the
   * frame's last piece (its end octet verified); the content completes only at a frame end.
   * `payload` is copied, never kept.
   */
  bodyPiece(payload: Buffer, frameDone: boolean): void {
    if (!this.method || !this.props) throw this.unexpected('content body frame without a content header');
    const len = payload.length;
    const received = this.received + len;
    if (received > this.bodySize) throw this.unexpected(`content body exceeds its announced size of ${this.bodySize} bytes`);
    if (len > 0) {
      const body = (this.body ??= this.alloc(this.bodySize, this.method));
      // read straight into place by the socket (see target()): nothing to copy
      const inPlace = payload.buffer === body.buffer && payload.byteOffset === body.byteOffset + this.received;
      if (!inPlace) payload.copy(body, this.received);
    }
    this.received = received;
    if (frameDone && received === this.bodySize) this.finish(this.body ?? EMPTY);
  }

  /** Body bytes of the message in progress still to come (0 when there is none). */
  get remaining(): number {
    return this.props ? this.bodySize - this.received : 0;
  }

  /**
   * The body buffer's room for the next `n` bytes, for the socket to read into directly; null
   * unless a body is in progress with at least `n` bytes to come.
   */
  target(n: number): Buffer | null {
    if (!this.props || n <= 0 || this.received + n > this.bodySize) return null;
    this.body ??= this.alloc(this.bodySize, this.method as Method);
    return this.body.subarray(this.received, this.received + n);
  }

  /** Drops any partial content (channel closed or reopened). */
  reset(): void {
    this.method = null;
    this.props = null;
    this.body = null;
  }

  private finish(body: Buffer): void {
    const method = this.method as Method;
    const props = this.props as BasicProperties;
    this.reset();
    this.onComplete(method, props, body);
  }

  private unexpected(text: string): UnexpectedFrame {
    return new UnexpectedFrame(`505 UNEXPECTED_FRAME: ${text} (channel ${this.channelId})`, {
      replyCode: 505,
      replyText: `UNEXPECTED_FRAME - ${text}`,
      channelId: this.channelId,
    });
  }
}
