/**
 * Transport: owns the socket, turns inbound bytes into frames (FrameParser) and outbound frames
 * into as few socket writes as possible.
 *
 * Writing. `send(size, encode)` is the one way in: `encode` writes frames straight into the
 * outgoing slab (a Writer) and may hand large bodies over zero-copy; if it throws, nothing it wrote
 * is kept. Everything sent in one tick is flushed once, on `process.nextTick`, as a single
 * `socket.write()` of a slab slice (zero copies after encoding); with zero-copy bodies the batch
 * goes out corked (one writev). Slabs come from the process-wide pool (buffers.ts) and go back to
 * it once a plain TCP socket has written them and nothing new was encoded: an idle connection
 * holds no write buffer. Other streams (TLS, user-supplied) may keep referring to what they were
 * given, so their slabs are only dropped, never reused.
 * Flushed slab bytes are never rewritten: the next batch continues after them, and a new slab is
 * taken when the current one is nearly full, so the socket can keep references to old slices.
 *
 * Backpressure is a promise: `written()` resolves once the current batch is in the socket, and
 * after `'drain'` if the socket's buffer was full; it rejects when the transport dies.
 *
 * Reading hints: whether a read may pause to batch the next one (see `onData`) depends on counters
 * the channels keep up to date in a `ReadHints` object, read here on every read, never asked for.
 *
 * Heartbeats: `startHeartbeat(ms)` sends a heartbeat frame when we have written nothing for half
 * an interval and declares the peer dead (HeartbeatTimeout) when it has sent nothing for two.
 */
import type { Duplex } from 'node:stream';
import { AMQPError, ConnectionLost, FrameError, HeartbeatTimeout } from '../errors.js';
import { FrameParser } from '../protocol/frame-parser.js';
import { HEARTBEAT_FRAME } from '../protocol/frame.js';
import { Writer } from '../protocol/primitives.js';
import { deferred, type Deferred } from '../util/wait.js';
import { type Tickable, ticker } from '../util/ticker.js';
import { holdWritten, MAX_READ, releaseWritten, SMALL_SLAB_SIZE, WRITE_SLAB_SIZE, writeSlabs } from './buffers.js';
import type { SocketReader } from './socket.js';

const SLAB_SIZE = WRITE_SLAB_SIZE;
/** The empty buffer of a transport that holds no slab. */
const NO_SLAB = Buffer.alloc(0);
const NOOP = (): void => {};
const SLAB_MIN_FREE = 16 * 1024;
/** Whole frames in one read from which the peer counts as streaming (about five deliveries). */
const STREAM_FRAMES = 16;
/**
 * A read this large is never followed by a pause: it (nearly) filled the read buffer, so more is
 * already waiting in the kernel and the next read cannot be much larger; pausing would only cap
 * the throughput at one buffer per pause (4 KiB deliveries at ~12k msg/s with a 64 KiB buffer).
 */
const PAUSE_MAX_READ = MAX_READ / 2;
/** Body bytes from which a direct read into the message buffer is worth an extra small read. */
const DIRECT_READ_MIN = 16 * 1024;
/** A frame's end octet plus the next frame's header. */
const FRAME_GAP = 8;

/**
 * Counters the connection's channels keep for the transport (see `Transport.onData`): how many
 * channels stream publisher confirms (hundreds of publishes outstanding), and how many consume into
 * a window small enough that a reading pause would cost throughput.
 */
export interface ReadHints {
  /** Channels with a stream of confirms coming: reads pause even when they bring few frames. */
  streaming: number;
  /** Channels consuming into a small window (prefetch under 100): reads never pause. */
  latencyBound: number;
  /** Bytes read so far: kept by the transport, read by `conn.stats()`. */
  bytesIn: number;
  /** Bytes written so far: kept by the transport, read by `conn.stats()`. */
  bytesOut: number;
}

/** Encodes frames into the transport's outgoing buffer; may pass large buffers to `external` (zero-copy). */
export type Encoder = (w: Writer, external: (b: Buffer) => void) => void;

/** @internal Callbacks from the transport to its connection. */
export interface TransportHandlers {
  /** A complete frame, its payload at `buf[start..end)`; `buf` may be a socket chunk: copy to keep. */
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void;
  /**
   * Optional: a piece of a body frame split across socket chunks (FrameParser streaming mode);
   * such frames then never reach `onFrame`. `piece` is a view into a socket chunk; `frameDone`
   * marks the frame's last piece, after its end octet was checked.
   */
  onBodyPart?(channel: number, piece: Buffer, frameDone: boolean): void;
  /** Called exactly once when the transport is gone; `err` is undefined for a clean close. */
  onClose(err: AMQPError | undefined): void;
  /** Called before the transport fails on malformed bytes or a frame the connection rejected. */
  onProtocolError?(err: AMQPError): void;
  /** Where the next `n` body bytes of `channel` belong, to read them there (no copy); or null. */
  bodyTarget?(channel: number, n: number): Buffer | null;
  /** Body bytes still to come for the message `channel` is receiving. */
  bodyRemaining?(channel: number): number;
}

/** The nextTick callback that flushes a transport (no closure per transport). */
function flushTransport(t: Transport): void {
  t.flush();
}

/** The end of a read-batching pause (no closure per transport). */
function resumeTransport(t: Transport): void {
  t.resumeReading();
}

/** @internal See the file header. */
export class Transport implements Tickable {
  /** Where `send()` encodes outbound frames. */
  private readonly out: Writer;
  /** Maximum frame size; applies to inbound frames too. */
  private readonly parser: FrameParser;
  private start = 0;
  private parts: Buffer[] = [];
  /** Zero-copy parts queued since the last flush (noted in buffers.ts until written). */
  private held: Buffer[] | null = null;
  /** Full slabs the pending batch still writes from; pooled after the write (TCP only). */
  private retired: Buffer[] = [];
  /** Flushes whose last write the socket has not called back yet. */
  private writing = 0;
  private readonly writtenCb = (): void => this.afterWrite();
  private scheduled = false;
  private batch: Deferred<void> | null = null;
  private drainWaiters: Deferred<void>[] = [];
  private blockedOnDrain = false;
  /** Negotiated heartbeat interval in ms (0: none), and what the last check saw of the peer. */
  private heartbeatMs = 0;
  private heartbeatChunks = 0;
  private heartbeatReadAt = 0;
  private chunksRead = 0;
  private lastWriteAt = Date.now();
  private dead: AMQPError | null = null;
  private closedCleanly = false;
  private readonly externalCb = (b: Buffer): void => this.appendExternal(b);
  private coalesceTimer: NodeJS.Timeout | undefined;
  /** Read coalescing pause in ms (0: off); see `onData`. */
  coalesceMs = 0;

  constructor(
    private readonly socket: Duplex,
    private readonly handlers: TransportHandlers,
    frameMax: number,
    private readonly reader: SocketReader | null = null,
    private readonly hints: ReadHints = { streaming: 0, latencyBound: 0, bytesIn: 0, bytesOut: 0 },
  ) {
    this.out = new Writer(0);
    this.out.buf = NO_SLAB;
    const onBodyPart = handlers.onBodyPart;
    this.parser = new FrameParser(
      (type, channel, buf, start, end) => handlers.onFrame(type, channel, buf, start, end),
      frameMax,
      onBodyPart === undefined ? undefined : (channel, piece, done) => onBodyPart.call(handlers, channel, piece, done),
    );
    if (reader) {
      writeSlabs.attach();
      reader.sink = (chunk) => this.onData(chunk);
      reader.plan = () => this.planRead();
    } else
      socket.on('data', (chunk: Buffer) => {
        this.onData(chunk);
      });
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err: Error) => {
      this.fail(new ConnectionLost(`socket error: ${err.message}`, { cause: err }));
    });
    socket.on('close', () => {
      this.fail(new ConnectionLost('connection closed by the peer (socket closed)'));
    });
  }

  /** True once the transport has failed or been closed. */
  get isDead(): boolean {
    return this.dead !== null || this.closedCleanly;
  }

  /** The error the transport died of, if any. */
  get error(): AMQPError | null {
    return this.dead;
  }

  /** Sets the negotiated frame_max for inbound frames. */
  setFrameMax(frameMax: number): void {
    this.parser.frameMax = frameMax;
  }

  /**
   * Encodes frames into the outgoing batch: makes room for `size` bytes (more grows the buffer),
   * runs `encode`, and schedules a flush. When `encode` throws, whatever it wrote (zero-copy parts
   * included) is dropped and the error propagates: nothing of a failed encode reaches the socket.
   * @throws ConnectionLost (or the transport's error) when the transport is dead.
   */
  send(size: number, encode: Encoder): void {
    if (this.isDead) throw this.dead ?? new ConnectionLost('the connection is closed');
    this.reserve(size);
    const out = this.out;
    const pos = out.pos;
    const start = this.start;
    const parts = this.parts.length;
    const held = this.held?.length ?? 0;
    try {
      encode(out, this.externalCb);
    } catch (err) {
      out.pos = pos;
      this.start = start;
      this.parts.length = parts;
      this.dropHeld(held);
      throw err;
    }
    this.commit();
  }

  /** Makes room for at least `n` more bytes in `out` without copying already-flushed bytes. */
  private reserve(n: number): void {
    const out = this.out;
    if (out.buf.length - out.pos >= n) return;
    const quiet = out.buf === NO_SLAB;
    if (out.pos > this.start) this.parts.push(out.buf.subarray(this.start, out.pos));
    this.retire(out.buf);
    out.buf = n > SLAB_SIZE ? Buffer.allocUnsafe(n) : quiet && n <= SMALL_SLAB_SIZE ? this.firstSlab() : this.freshSlab();
    out.pos = 0;
    this.start = 0;
  }

  /** A slab from the process's pool (a written-out one, warm, when there is one). */
  private freshSlab(): Buffer {
    return writeSlabs.take();
  }

  /** The first slab of a quiet connection's batch: small unless a large one is free (see buffers.ts). */
  private firstSlab(): Buffer {
    return this.reader !== null ? writeSlabs.takeFirst() : Buffer.allocUnsafe(SMALL_SLAB_SIZE);
  }

  /** Leaves a full slab to the current batch; it returns to the pool once the batch is written. */
  private retire(slab: Buffer): void {
    if (this.reader !== null && (slab.length === SLAB_SIZE || slab.length === SMALL_SLAB_SIZE)) this.retired.push(slab);
  }

  /**
   * The socket wrote a flush. Once every flush is written and nothing new is encoded, the
   * connection is quiet: its slab goes back to the pool (TCP), or is dropped (other streams).
   */
  private afterWrite(): void {
    this.writing--;
    if (this.writing > 0 || this.scheduled || this.isDead) return;
    const out = this.out;
    if (out.pos !== this.start || out.buf === NO_SLAB) return;
    if (this.reader !== null) writeSlabs.give(out.buf);
    out.buf = NO_SLAB;
    out.pos = 0;
    this.start = 0;
  }

  /** Schedules a flush of everything encoded into `out` so far. */
  private commit(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushTransport, this);
    }
  }

  /** Queues `buf` after what is in `out`, without copying it. */
  private appendExternal(buf: Buffer): void {
    const out = this.out;
    if (out.pos > this.start) this.parts.push(out.buf.subarray(this.start, out.pos));
    this.start = out.pos;
    this.parts.push(buf);
    (this.held ??= []).push(buf);
    holdWritten(buf);
    this.commit();
  }

  /** Forgets the zero-copy parts queued after the first `keep` (they will not be written). */
  private dropHeld(keep: number): void {
    const held = this.held;
    if (held === null) return;
    for (let i = keep; i < held.length; i++) releaseWritten(held[i] as Buffer);
    held.length = keep;
  }

  /**
   * Resolves once everything committed so far is in the socket (after 'drain' when its buffer is
   * full); rejects with the transport's error if it dies first.
   */
  written(): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    if (!this.scheduled) return this.blockedOnDrain ? this.waitDrain() : Promise.resolve();
    if (!this.batch) {
      this.batch = deferred<void>();
      // one handler per batch (not per publish): a caller that does not await cannot cause an
      // unhandled rejection; callers that await still see the error
      this.batch.promise.catch(NOOP);
    }
    return this.batch.promise;
  }

  /** Writes everything pending now. */
  flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    this.batch = null;
    if (this.isDead) {
      if (batch) batch.reject(this.dead ?? new ConnectionLost('connection closed'));
      return;
    }
    const out = this.out;
    const tail = out.pos > this.start ? out.buf.subarray(this.start, out.pos) : null;
    this.start = out.pos;
    if (out.buf.length - out.pos < SLAB_MIN_FREE && out.buf !== NO_SLAB) {
      // full: the next encode takes a slab (reserve); this one returns to the pool once written
      this.retire(out.buf);
      out.buf = NO_SLAB;
      out.pos = 0;
      this.start = 0;
    }
    let ok = true;
    const parts = this.parts;
    const retired = this.retired;
    const lastWrite = tail ?? parts[parts.length - 1];
    if (lastWrite !== undefined) {
      // the socket calls back once this flush is written: then its slabs may be reused
      let cb = this.writtenCb;
      const held = this.held;
      if (retired.length > 0 || held !== null) {
        this.retired = [];
        this.held = null;
        cb = (): void => {
          if (held !== null) for (const part of held) releaseWritten(part);
          this.recycle(retired);
          this.afterWrite();
        };
      }
      this.writing++;
      let bytes = lastWrite.length;
      if (parts.length === 0) {
        ok = this.socket.write(lastWrite, cb);
      } else {
        this.parts = [];
        const sock = this.socket as Duplex & { cork(): void; uncork(): void };
        sock.cork();
        for (const part of parts) {
          if (part === lastWrite) continue;
          bytes += part.length;
          ok = sock.write(part);
        }
        ok = sock.write(lastWrite, cb);
        sock.uncork();
      }
      this.hints.bytesOut += bytes;
    }
    this.lastWriteAt = Date.now();
    if (!ok) this.blockedOnDrain = true;
    if (batch) {
      if (this.blockedOnDrain) this.drainWaiters.push(batch);
      else batch.resolve();
    }
  }

  /**
   * Returns written slabs to the pool (called back by the socket once the batch that used them
   * is written: a plain TCP socket then holds no reference to them). Reusing their warm pages
   * spares the page faults of fresh memory, which on a VM cost more than the bytes written.
   */
  private recycle(slabs: Buffer[]): void {
    if (this.isDead) return;
    for (const s of slabs) writeSlabs.give(s);
  }

  private waitDrain(): Promise<void> {
    const d = deferred<void>();
    this.drainWaiters.push(d);
    return d.promise;
  }

  private onDrain(): void {
    this.blockedOnDrain = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /**
   * Where the next read goes (reader mode). While a large body streams in, its frames' payloads
   * are read straight into the message's body buffer, so the userland copy of the body
   * disappears. The 8 bytes between two of its frames (end octet, next header) come with the
   * payload before them, or on their own when a read stopped at a payload's end. Anything else:
   * the reader's slab (0).
   */
  private planRead(): Buffer | number {
    const p = this.parser;
    const ch = p.streamChannel;
    if (ch < 0 || this.isDead) return 0;
    const left = p.streamRemaining;
    const h = this.handlers;
    if (left >= DIRECT_READ_MIN) {
      // When more of the body follows this frame, read the gap along with the payload: its 8
      // bytes land where the next frame's payload goes (the parser copies the header out, and
      // that payload overwrites them), which saves one read per frame.
      const more = (h.bodyRemaining?.(ch) ?? 0) - left >= FRAME_GAP;
      return h.bodyTarget?.(ch, more ? left + FRAME_GAP : left) ?? 0;
    }
    if (left === 0 && (h.bodyRemaining?.(ch) ?? 0) >= DIRECT_READ_MIN) return FRAME_GAP;
    return 0;
  }

  /**
   * Parses one read. Returns false to stop reading for `coalesceMs` (reader mode only): when one
   * read carried STREAM_FRAMES or more frames, the peer is streaming faster than we wake up, and
   * a short pause lets the next read take a much larger batch. Each wake-up costs more CPU than
   * the frames it brings (on a VM, most of a small delivery's cost), so this roughly halves the
   * CPU of a busy consumer. Replies to round trips (an RPC answer, a prefetch-1 delivery) come a
   * few frames at a time and are never delayed; nor are streams into a small consumer window.
   * Publisher confirms come a few per read however fast they stream, so while a channel has
   * hundreds of publishes outstanding (`hints.streaming`) any read counts as part of a stream.
   * A read that half filled the read buffer or more is never followed by a pause (PAUSE_MAX_READ).
   */
  private onData(chunk: Buffer): boolean {
    this.chunksRead++;
    this.hints.bytesIn += chunk.length;
    if (this.isDead) return true;
    const before = this.parser.frames;
    try {
      this.parser.push(chunk);
    } catch (err) {
      const e = err instanceof AMQPError ? err : new FrameError(`malformed frame: ${String(err)}`, { replyCode: 501, cause: err });
      if (this.isDead) return true;
      this.handlers.onProtocolError?.(e); // lets the connection send connection.close with the code first
      this.fail(e);
      return true;
    }
    if (!this.pauseAfter(this.parser.frames - before, chunk.length)) return true;
    this.coalesceTimer = setTimeout(resumeTransport, this.coalesceMs, this);
    return false;
  }

  /** Whether a read of `bytes` that brought `frames` whole frames should pause reading (see `onData`). */
  private pauseAfter(frames: number, bytes: number): boolean {
    if (this.coalesceMs <= 0 || this.reader === null || frames === 0 || bytes >= PAUSE_MAX_READ) return false;
    if (this.isDead || this.coalesceTimer !== undefined) return false;
    const h = this.hints;
    return (frames >= STREAM_FRAMES || h.streaming > 0) && h.latencyBound === 0;
  }

  /**
   * Starts heartbeats with the negotiated interval (milliseconds; 0 disables them), checked by the
   * process-wide ticker every quarter interval (see `tick`).
   */
  startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat();
    if (!(intervalMs > 0) || this.isDead) return;
    this.heartbeatMs = intervalMs;
    this.heartbeatChunks = this.chunksRead;
    this.heartbeatReadAt = Date.now();
    ticker.add(this.heartbeatTick(), this);
  }

  private heartbeatTick(): number {
    return Math.max(25, Math.floor(this.heartbeatMs / 4));
  }

  /**
   * A heartbeat check (the ticker calls it): the peer is dead after two intervals without a byte
   * from it (HeartbeatTimeout); we send a heartbeat frame after half an interval without writing.
   */
  tick(now: number): void {
    const interval = this.heartbeatMs;
    if (this.chunksRead !== this.heartbeatChunks) {
      this.heartbeatChunks = this.chunksRead;
      this.heartbeatReadAt = now;
    } else if (now - this.heartbeatReadAt >= 2 * interval) {
      this.fail(
        new HeartbeatTimeout(`no data from the server for ${now - this.heartbeatReadAt} ms (heartbeat ${interval} ms): connection is dead`),
      );
      return;
    }
    if (now - this.lastWriteAt >= interval / 2 && !this.scheduled) {
      if (this.out.buf === NO_SLAB && this.writing === 0) {
        // a quiet connection writes the shared constant frame as it is: no slab for 8 bytes
        this.lastWriteAt = now;
        this.hints.bytesOut += HEARTBEAT_FRAME.length;
        if (!this.socket.write(HEARTBEAT_FRAME)) this.blockedOnDrain = true;
        return;
      }
      this.reserve(HEARTBEAT_FRAME.length);
      this.out.bytes(HEARTBEAT_FRAME);
      this.flush();
    }
  }

  private stopHeartbeat(): void {
    if (this.heartbeatMs > 0) ticker.remove(this.heartbeatTick(), this);
    this.heartbeatMs = 0;
  }

  /** The read-batching pause is over: read again (reader mode). */
  resumeReading(): void {
    this.coalesceTimer = undefined;
    this.reader?.resume();
  }

  /** Kills the transport with `err`: destroys the socket, rejects every pending write. */
  fail(err: AMQPError): void {
    if (this.isDead) return;
    this.dead = err;
    this.teardown();
    this.handlers.onClose(err);
  }

  /** Ends the transport cleanly (after connection.close-ok): flushes, then ends the socket. */
  close(): void {
    if (this.isDead) return;
    if (this.scheduled) this.flush();
    this.closedCleanly = true;
    this.teardown();
    this.handlers.onClose(undefined);
  }

  private teardown(): void {
    this.stopHeartbeat();
    if (this.reader !== null) writeSlabs.detach();
    if (this.coalesceTimer) clearTimeout(this.coalesceTimer);
    this.coalesceTimer = undefined;
    const err = this.dead ?? new ConnectionLost('connection closed');
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w.reject(err);
    if (this.batch && this.dead) {
      this.batch.reject(err);
      this.batch = null;
    }
    this.parts = [];
    this.dropHeld(0);
    this.retired = [];
    this.out.buf = NO_SLAB; // a dead socket may still hold the slab's bytes: never pooled
    this.out.pos = 0;
    this.start = 0;
    if (this.closedCleanly) this.socket.end(() => this.socket.destroy());
    else this.socket.destroy();
  }
}
