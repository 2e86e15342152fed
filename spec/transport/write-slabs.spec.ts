// Outbound slabs: a TCP transport reuses slabs once the socket has written them out (warm pages,
// no page faults); every byte still goes out exactly once and in order.
import { describe, expect, it, jest } from '@jest/globals';
import { Duplex } from 'node:stream';

import { ConnectionLost } from '../../lib/errors.js';
import type { Writer } from '../../lib/protocol/primitives.js';
import { HEARTBEAT_FRAME } from '../../lib/protocol/frame.js';
import { isBeingWritten, POOL_IDLE_MS, SMALL_SLAB_SIZE, WriteSlabPool, writeSlabs } from '../../lib/transport/buffers.js';
import { SocketReader } from '../../lib/transport/socket.js';
import { Transport } from '../../lib/transport/transport.js';
import { ticker } from '../../lib/util/ticker.js';

const SLAB = 256 * 1024;

function setup(tcp: boolean) {
  const got: Buffer[] = [];
  // a silent peer that copies what it is given as soon as it is given it (slabs get reused)
  const sock = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      got.push(Buffer.from(chunk));
      cb();
    },
  });
  const t = new Transport(sock, { onFrame: () => {}, onClose: () => {} }, 131072, tcp ? new SocketReader() : null);
  return { t, got };
}

/** Encodes `n` records of 4 KiB, each filled with its index, through send(). */
function encode(t: Transport, from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    t.send(4096, (w) => {
      w.buf.fill(i & 0xff, w.pos, w.pos + 4096);
      w.pos += 4096;
    });
  }
}

/** The transport's current outgoing slab (private state, observed by this white-box spec). */
const slab = (t: Transport): ArrayBufferLike => (t as unknown as { out: Writer }).out.buf.buffer;

function expectRecords(got: Buffer[], n: number): void {
  const all = Buffer.concat(got);
  expect(all.length).toBe(n * 4096);
  for (let i = 0; i < n; i++) {
    const rec = all.subarray(i * 4096, (i + 1) * 4096);
    expect(rec.every((b) => b === (i & 0xff))).toBe(true);
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('outbound slab reuse', () => {
  it('TCP: slabs written out in one batch come back for later batches; the bytes are exact', async () => {
    const { t, got } = setup(true);
    const seen = new Set<ArrayBufferLike>();
    let reused = 0;
    let total = 0;
    for (let batch = 0; batch < 6; batch++) {
      // 200 records of 4 KiB = 800 KiB per tick: several slabs per batch
      for (let k = 0; k < 200; k++) {
        const before = slab(t);
        encode(t, total, 1);
        total++;
        const now = slab(t);
        if (now !== before) {
          if (seen.has(now)) reused++;
          seen.add(now);
        }
      }
      await t.written();
      await settle();
    }
    expect(reused).toBeGreaterThan(10);
    expect(seen.size).toBeLessThanOrEqual(8); // 3-4 slabs per batch, recycled: not 20+
    await settle();
    expectRecords(got, total);
    t.close();
  });

  it('other streams (TLS, user sockets) never reuse a slab: the stream may still hold the bytes', async () => {
    const { t, got } = setup(false);
    const seen = new Set<ArrayBufferLike>([slab(t)]);
    let switches = 0;
    for (let batch = 0; batch < 3; batch++) {
      for (let k = 0; k < 200; k++) {
        const before = slab(t);
        encode(t, batch * 200 + k, 1);
        if (slab(t) !== before) {
          switches++;
          expect(seen.has(slab(t))).toBe(false);
          seen.add(slab(t));
        }
      }
      await t.written();
      await settle();
    }
    expect(switches).toBeGreaterThanOrEqual((600 * 4096) / SLAB - 1);
    expectRecords(got, 600);
    t.close();
  });
});

describe('zero-copy parts in flight (isBeingWritten)', () => {
  /** A socket that holds each write until `release()` calls it back, as a slow TCP socket does. */
  function holdingSocket() {
    const pending: Array<() => void> = [];
    const sock = new Duplex({
      read() {},
      write(_chunk: Buffer, _enc, cb) {
        pending.push(cb);
      },
      writev(_chunks, cb) {
        pending.push(cb);
      },
    });
    const t = new Transport(sock, { onFrame: () => {}, onClose: () => {} }, 131072, new SocketReader());
    const release = (): void => {
      for (const cb of pending.splice(0)) cb();
    };
    return { t, release };
  }
  const external = (body: Buffer) => (w: Writer, ext: (b: Buffer) => void) => {
    w.buf[w.pos++] = 1;
    ext(body.subarray(0, 100_000));
    ext(body.subarray(100_000));
  };

  it('a body handed over zero-copy counts as being written until the socket calls the write back', async () => {
    const { t, release } = holdingSocket();
    const body = Buffer.allocUnsafeSlow(200_000);
    t.send(16, external(body));
    expect(isBeingWritten(body.buffer)).toBe(true);
    await settle(); // flushed: now in the socket
    expect(isBeingWritten(body.buffer)).toBe(true);
    release();
    await settle();
    expect(isBeingWritten(body.buffer)).toBe(false);
    t.close();
  });

  it('parts of a failed encode and parts a dead transport never wrote are released', async () => {
    const { t } = holdingSocket();
    const failed = Buffer.allocUnsafeSlow(200_000);
    expect(() =>
      t.send(16, (w, ext) => {
        external(failed)(w, ext);
        throw new Error('encoder failed');
      }),
    ).toThrow('encoder failed');
    expect(isBeingWritten(failed.buffer)).toBe(false);
    const unsent = Buffer.allocUnsafeSlow(200_000);
    t.send(16, external(unsent));
    t.fail(new ConnectionLost('gone'));
    expect(isBeingWritten(unsent.buffer)).toBe(false);
  });
});

describe('write memory of quiet connections', () => {
  it('a heartbeat of a quiet connection takes no slab: the constant frame is written as it is', async () => {
    const { t, got } = setup(true);
    const takes = [jest.spyOn(writeSlabs, 'take'), jest.spyOn(writeSlabs, 'takeFirst')];
    try {
      t.startHeartbeat(1000);
      t.tick(Date.now() + 600); // half an interval without a write: a heartbeat is due
      expect(Buffer.concat(got)).toEqual(HEARTBEAT_FRAME);
      for (const take of takes) expect(take).not.toHaveBeenCalled();
      expect((t as unknown as { hints: { bytesOut: number } }).hints.bytesOut).toBe(HEARTBEAT_FRAME.length); // conn.stats() counts it
      await settle();
    } finally {
      for (const take of takes) take.mockRestore();
      t.close();
    }
  });

  it('with no large slab free, a quiet connection starts its batch in a small slab; a large batch still gets large ones', async () => {
    const borrowed: Buffer[] = [];
    while (writeSlabs.size > 0) borrowed.push(writeSlabs.take()); // the pool holds no large slab now
    try {
      const { t, got } = setup(true);
      t.send(16, (w) => {
        w.buf.fill(7, w.pos, w.pos + 16);
        w.pos += 16;
      });
      expect(slab(t).byteLength).toBe(SMALL_SLAB_SIZE);
      encode(t, 0, 100); // 400 KiB more in the same batch: large slabs from here on
      expect(slab(t).byteLength).toBe(SLAB);
      await t.written();
      await settle();
      expect(Buffer.concat(got).length).toBe(16 + 100 * 4096);
      t.close();
    } finally {
      for (const b of borrowed) writeSlabs.give(b);
    }
  });

  it('the pool lets its free slabs go once no slab was taken for POOL_IDLE_MS', () => {
    const pool = new WriteSlabPool();
    pool.give(pool.take());
    pool.give(pool.takeFirst());
    expect([pool.size, pool.smallSize]).toEqual([1, 0]); // takeFirst took the free large one
    pool.give(Buffer.allocUnsafeSlow(SMALL_SLAB_SIZE));
    expect([pool.size, pool.smallSize]).toEqual([1, 1]);
    pool.give(Buffer.allocUnsafeSlow(1000)); // a foreign size is never pooled
    expect([pool.size, pool.smallSize]).toEqual([1, 1]);
    const now = Date.now();
    pool.tick(now + POOL_IDLE_MS - 100);
    expect([pool.size, pool.smallSize]).toEqual([1, 1]);
    pool.tick(now + POOL_IDLE_MS + 100);
    expect([pool.size, pool.smallSize]).toEqual([0, 0]);
  });

  it('when its last transport goes, the pool lets its slabs go and leaves no timer', () => {
    const pool = new WriteSlabPool();
    const add = jest.spyOn(ticker, 'add');
    const remove = jest.spyOn(ticker, 'remove');
    try {
      pool.attach();
      pool.attach();
      pool.give(pool.take());
      expect(add).toHaveBeenCalledWith(POOL_IDLE_MS, pool); // the idle check runs while slabs are held
      pool.detach();
      expect(pool.size).toBe(1);
      expect(remove).not.toHaveBeenCalled();
      pool.detach();
      expect(pool.size).toBe(0);
      expect(remove).toHaveBeenCalledWith(POOL_IDLE_MS, pool);
    } finally {
      add.mockRestore();
      remove.mockRestore();
    }
  });
});
