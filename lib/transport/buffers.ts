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
 * slabs, leaving the rest to the garbage collector after a burst.
 */

/** Bytes of one read (Node's own read size). */
export const MAX_READ = 64 * 1024;
/** Size of a write slab. */
export const WRITE_SLAB_SIZE = 256 * 1024;
/** Free write slabs the process keeps for reuse (4 MiB). */
const WRITE_POOL_MAX = 16;

/**
 * The buffer every plain TCP connection of the process reads into (see socket.ts). A chunk read
 * into it is valid only until the read callback returns: whoever keeps bytes copies them.
 */
export const landing: Buffer = Buffer.allocUnsafeSlow(MAX_READ);

/** See the file header: write slabs shared by the connections of the process. */
export class WriteSlabPool {
  private readonly free: Buffer[] = [];

  /** A slab: a written-out one when there is one (warm pages), else a new one. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(WRITE_SLAB_SIZE);
  }

  /** Gives back a slab nothing refers to any more (its bytes were written by a TCP socket). */
  give(slab: Buffer): void {
    if (slab.length === WRITE_SLAB_SIZE && this.free.length < WRITE_POOL_MAX) this.free.push(slab);
  }

  /** Free slabs held. */
  get size(): number {
    return this.free.length;
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
