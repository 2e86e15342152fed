/**
 * Process-wide socket memory, shared by every connection so that memory follows traffic, not the
 * number of connections: an idle connection holds no read or write buffer.
 *
 * Reads (plain TCP, Node's `onread` mode) land in one shared buffer: libuv reads into it and calls
 * back synchronously, and the transport copies what it keeps of a chunk (split frames, message
 * bodies) before the callback returns, so any connection can use the same landing buffer next.
 * Large bodies are read straight into their own buffers instead.
 *
 * Writes are encoded into slabs taken from a shared pool while a connection has something to send,
 * and given back once the socket has written them and nothing new was encoded: written slabs come
 * back warm (no page faults for fresh memory), and the pool keeps at most `WRITE_POOL_MAX` free
 * slabs, leaving the rest to the garbage collector after a burst. A quiet connection starts a batch
 * in a small slab when the pool has no large one, so many connections writing a little at the same
 * moment (acks, a round of replies) take 16 KiB each, not 256 KiB. Once the process has taken no
 * slab for `POOL_IDLE_MS` (1 s), the pool lets its free slabs go: an idle process holds no write memory.
 * When the last TCP transport closes, the pool lets them go at once and its check stops: a process
 * whose connections are all closed has no timer of amqpts left.
 */
import { type Tickable, ticker } from '../util/ticker.js';

/** Bytes of one read (Node's own read size). */
export const MAX_READ = 64 * 1024;
/** Size of a write slab. */
export const WRITE_SLAB_SIZE = 256 * 1024;
/** Size of a small write slab (the first slab of a quiet connection's batch when no large one is free). */
export const SMALL_SLAB_SIZE = 16 * 1024;
/** Free write slabs the process keeps for reuse (4 MiB). */
const WRITE_POOL_MAX = 16;
/** Free small slabs the process keeps for reuse (1 MiB). */
const SMALL_POOL_MAX = 64;
/** Free slabs are let go once no slab was taken for this long. */
export const POOL_IDLE_MS = 1000;

/**
 * The buffer every plain TCP connection of the process reads into (see socket.ts). A chunk read
 * into it is valid only until the read callback returns: whoever keeps bytes copies them.
 */
export const landing: Buffer = Buffer.allocUnsafeSlow(MAX_READ);

/** See the file header: write slabs shared by the connections of the process. */
export class WriteSlabPool implements Tickable {
  private readonly free: Buffer[] = [];
  private readonly freeSmall: Buffer[] = [];
  private lastTake = 0;
  private watching = false;
  private users = 0;

  /** A TCP transport starts using the pool. */
  attach(): void {
    this.users++;
  }

  /** A TCP transport is gone; the last one takes the free slabs and the pool's check with it. */
  detach(): void {
    if (this.users > 0 && --this.users === 0) this.release();
  }

  /** A large slab: a written-out one when there is one (warm pages), else a new one. */
  take(): Buffer {
    this.lastTake = Date.now();
    return this.free.pop() ?? Buffer.allocUnsafeSlow(WRITE_SLAB_SIZE);
  }

  /** The first slab of a quiet connection's batch: a free large one if any, else a small one. */
  takeFirst(): Buffer {
    this.lastTake = Date.now();
    return this.free.pop() ?? this.freeSmall.pop() ?? Buffer.allocUnsafeSlow(SMALL_SLAB_SIZE);
  }

  /** Gives back a slab nothing refers to any more (its bytes were written by a TCP socket). */
  give(slab: Buffer): void {
    if (slab.length === WRITE_SLAB_SIZE) {
      if (this.free.length < WRITE_POOL_MAX) this.free.push(slab);
    } else if (slab.length === SMALL_SLAB_SIZE) {
      if (this.freeSmall.length < SMALL_POOL_MAX) this.freeSmall.push(slab);
    } else return;
    if (!this.watching) {
      this.watching = true;
      ticker.add(POOL_IDLE_MS, this);
    }
  }

  /** The ticker's check: after POOL_IDLE_MS without a take, the free slabs go to the garbage collector. */
  tick(now: number): void {
    if (now - this.lastTake >= POOL_IDLE_MS) this.release();
  }

  /** Lets every free slab go and stops the idle check. */
  private release(): void {
    this.free.length = 0;
    this.freeSmall.length = 0;
    if (this.watching) ticker.remove(POOL_IDLE_MS, this);
    this.watching = false;
  }

  /** Free large slabs held. */
  get size(): number {
    return this.free.length;
  }

  /** Free small slabs held. */
  get smallSize(): number {
    return this.freeSmall.length;
  }
}

/** The process's write slab pool. */
export const writeSlabs = new WriteSlabPool();

/**
 * Memory of zero-copy writes the sockets have not called back yet, counted per queued part. A
 * recycled message body (lib/channel/inbox.ts) that a callback forwarded in a publish is still
 * being written: the body pool checks here and leaves such a buffer to the garbage collector
 * instead of reading the next delivery into it.
 */
const beingWritten = new Map<ArrayBufferLike, number>();

/** Notes that `part` (a zero-copy slice) is queued for writing. */
export function holdWritten(part: Buffer): void {
  const ab = part.buffer;
  beingWritten.set(ab, (beingWritten.get(ab) ?? 0) + 1);
}

/** The socket called back the write of `part` (or it was dropped unwritten). */
export function releaseWritten(part: Buffer): void {
  const ab = part.buffer;
  const n = (beingWritten.get(ab) ?? 1) - 1;
  if (n > 0) beingWritten.set(ab, n);
  else beingWritten.delete(ab);
}

/** Whether some zero-copy write of this memory is still queued or in flight. */
export function isBeingWritten(ab: ArrayBufferLike): boolean {
  return beingWritten.has(ab);
}
