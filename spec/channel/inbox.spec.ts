import { describe, it, expect, jest } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import { BodyPool, RECYCLE_MIN } from '../../lib/channel/inbox.js';
import { Message } from '../../lib/message.js';
import { holdWritten, releaseWritten, WRITE_SLAB_SIZE } from '../../lib/transport/buffers.js';
import { connectFake, installGuards, type FakeBroker } from '../support/fake-broker.js';
import { seededBytes } from '../support/prng.js';

installGuards();

const KiB = 1024;

/**
 * Runs `f` and counts the body-sized buffers it allocates (at least `min` bytes). A given-back
 * buffer moves to a new ArrayBuffer (its old one is detached), so reuse shows as allocations
 * that did not happen, and as bytes that carried over.
 */
async function allocations<T>(min: number, f: () => T | Promise<T>): Promise<{ value: T; count: number }> {
  const slow = jest.spyOn(Buffer, 'allocUnsafeSlow');
  try {
    const value = await f();
    return { value, count: bodySized(slow.mock.calls, min) };
  } finally {
    slow.mockRestore();
  }
}

/** Allocations of at least `min` bytes, the connection's write slabs excepted. */
const bodySized = (calls: Array<[number]>, min: number): number => calls.filter(([n]) => n >= min && n !== WRITE_SLAB_SIZE).length;

const MARK = Buffer.from('0123456789abcdef');

describe('BodyPool', () => {
  it('lends a buffer of the exact size and lends the same memory again once it is given back', async () => {
    const pool = new BodyPool();
    const a = pool.take(300 * KiB);
    expect(a.length).toBe(300 * KiB);
    MARK.copy(a);
    pool.give(a);
    expect(pool.size).toBeGreaterThanOrEqual(300 * KiB);
    const { value: b, count } = await allocations(RECYCLE_MIN, () => pool.take(290 * KiB));
    expect(count).toBe(0);
    expect(b.length).toBe(290 * KiB);
    expect(b.subarray(0, MARK.length)).toEqual(MARK); // the same memory, moved
    expect(pool.size).toBe(0);
  });

  it('detaches the given-back body: the body and every view of it read as empty afterwards', () => {
    const pool = new BodyPool();
    const a = pool.take(100 * KiB);
    const view = a.subarray(10, 20);
    const u8 = new Uint8Array(a.buffer, a.byteOffset, 64);
    pool.give(a);
    expect(a.length).toBe(0);
    expect(view.length).toBe(0);
    expect(u8.length).toBe(0);
    expect(a.buffer.byteLength).toBe(0);
    expect(pool.size).toBeGreaterThanOrEqual(100 * KiB);
  });

  it('never lends one buffer twice: a second give, a buffer it did not lend and strings are ignored', async () => {
    const pool = new BodyPool();
    const a = pool.take(100 * KiB);
    pool.give(a);
    pool.give(a);
    const foreign = Buffer.alloc(200 * KiB);
    pool.give(foreign);
    pool.give('text');
    expect(foreign.length).toBe(200 * KiB); // not detached: the pool never lent it
    const { count } = await allocations(RECYCLE_MIN, () => [pool.take(100 * KiB), pool.take(100 * KiB)]);
    expect(count).toBe(1); // one of the two is a's memory, the other is new
    expect(pool.size).toBe(0);
  });

  it('leaves a body whose zero-copy write is still in flight to the garbage collector, intact', () => {
    const pool = new BodyPool();
    const a = pool.take(200 * KiB);
    const part = a.subarray(0, 128 * KiB); // what a publish of the body queues
    holdWritten(part);
    pool.give(a);
    expect(a.length).toBe(200 * KiB);
    expect(pool.size).toBe(0);
    releaseWritten(part);
    const b = pool.take(200 * KiB);
    pool.give(b); // nothing in flight now: recycled as usual
    expect(b.length).toBe(0);
    expect(pool.size).toBeGreaterThanOrEqual(200 * KiB);
  });

  it('does not lend a buffer much larger than the body, and keeps at most 64 MiB free', async () => {
    const pool = new BodyPool();
    const big = pool.take(4096 * KiB);
    pool.give(big);
    expect((await allocations(RECYCLE_MIN, () => pool.take(RECYCLE_MIN))).count).toBe(1);
    const many = Array.from({ length: 80 }, () => pool.take(1024 * KiB));
    for (const m of many) pool.give(m);
    expect(pool.size).toBeLessThanOrEqual(64 * 1024 * KiB);
    expect(pool.size).toBeGreaterThan(60 * 1024 * KiB);
  });
});

// ---------------------------------------------------------------------------------------------
// Through a connection (fake broker): recycleBodiesAfterCallback on a consumer

const deliver = (tag: number) => ({ consumerTag: 'ct', deliveryTag: tag, redelivered: false, exchange: '', routingKey: 'q' });
const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function setup(): Promise<{ broker: FakeBroker; ch: Channel }> {
  const { broker, conn } = await connectFake({}, { frameMax: 131072 });
  const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
  return { broker, ch };
}

async function consume(
  ch: Channel,
  broker: FakeBroker,
  recycleBodiesAfterCallback: boolean,
  callback: (m: Message) => void | Promise<void>,
): Promise<void> {
  const c = ch.basicConsume('q', { consumerTag: 'ct', recycleBodiesAfterCallback, callback });
  await broker.expect('basic.consume', 1);
  broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
  await c;
}

const bodies = (n: number, size: number): Buffer[] => Array.from({ length: n }, (_, i) => seededBytes(size, 7 + i));

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await tick();
  expect(cond()).toBe(true);
}

describe('recycleBodiesAfterCallback', () => {
  it('a synchronous callback gets byte-exact bodies, and later deliveries reuse the memory of earlier ones', async () => {
    const { broker, ch } = await setup();
    const sent = bodies(4, 300 * KiB);
    const kept: Buffer[] = [];
    let ok = 0;
    await consume(ch, broker, true, (m) => {
      const b = m.body as Buffer;
      if (b.equals(sent[kept.length] as Buffer)) ok++;
      kept.push(b);
    });
    const { count } = await allocations(300 * KiB, async () => {
      for (let i = 0; i < 4; i++) {
        broker.sendContent(1, 'basic.deliver', deliver(i + 1), {}, sent[i] as Buffer);
        await until(() => kept.length === i + 1); // one at a time: each body is back before the next arrives
      }
    });
    expect(ok).toBe(4);
    expect(count).toBe(1);
    // kept past their callbacks (a misuse): empty, never another message's bytes
    expect(kept.map((b) => b.length)).toEqual([0, 0, 0, 0]);
  });

  it('a callback may forward its body in a publish without awaiting it: the published bytes stay exact', async () => {
    const { broker, ch } = await setup();
    const sent = bodies(3, 300 * KiB);
    let n = 0;
    await consume(ch, broker, true, (m) => {
      n++;
      void ch.basicPublish(new Message(m.body as Buffer), { routingKey: 'fwd' }); // not awaited
    });
    for (let i = 0; i < 3; i++) broker.sendContent(1, 'basic.deliver', deliver(i + 1), {}, sent[i] as Buffer);
    for (let i = 0; i < 3; i++) {
      const p = await broker.expect('basic.publish', 1);
      expect(p.args.routingKey).toBe('fwd');
      expect(p.body?.equals(sent[i] as Buffer)).toBe(true);
    }
    expect(n).toBe(3);
  });

  it('an async callback keeps its body until its promise settles; a throwing one gives it back too', async () => {
    const { broker, ch } = await setup();
    const sent = bodies(4, 300 * KiB);
    const seen: Array<{ body: Buffer; intact: boolean }> = [];
    const errors: unknown[] = [];
    ch.on('callbackError', (err) => errors.push(err));
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await consume(ch, broker, true, async (m) => {
      const i = seen.length;
      const b = m.body as Buffer;
      const entry = { body: b, intact: false };
      seen.push(entry);
      if (i === 0) await held; // the first callback is still running while the second delivery arrives
      entry.intact = b.equals(sent[i] as Buffer);
      if (i === 2) throw new Error('boom');
    });
    const { count } = await allocations(300 * KiB, async () => {
      broker.sendContent(1, 'basic.deliver', deliver(1), {}, sent[0] as Buffer);
      await until(() => seen.length === 1);
      broker.sendContent(1, 'basic.deliver', deliver(2), {}, sent[1] as Buffer);
      await until(() => seen.length === 2);
      expect(seen[0]?.body.length).toBe(300 * KiB); // still lent while its callback awaits
      release();
      await until(() => seen[0]?.intact === true);
      broker.sendContent(1, 'basic.deliver', deliver(3), {}, sent[2] as Buffer);
      await until(() => errors.length === 1);
      broker.sendContent(1, 'basic.deliver', deliver(4), {}, sent[3] as Buffer);
      await until(() => seen.length === 4);
      await until(() => seen[3]?.intact === true);
    });
    expect(seen.map((s) => s.intact)).toEqual([true, true, true, true]);
    // the second body could not use the first's memory (still lent); later ones reuse freed buffers
    expect(count).toBe(2);
    expect(seen.map((s) => s.body.length)).toEqual([0, 0, 0, 0]); // all given back, the throwing one too
    expect((errors[0] as Error).message).toBe('boom');
  });

  it('a lent body decoded to a string (autoDecode) goes back at once and the next delivery reuses its memory', async () => {
    const { broker, ch } = await setup();
    const text = 'x'.repeat(300 * KiB);
    const textBytes = Buffer.from(text); // encoded before the spy starts counting
    const [bin] = bodies(1, 300 * KiB);
    const got: Array<string | Buffer> = [];
    let binIntact = false;
    await consume(ch, broker, true, (m) => {
      got.push(m.body as string | Buffer);
      if (Buffer.isBuffer(m.body)) binIntact = m.body.equals(bin as Buffer);
    });
    const slow = jest.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      broker.sendContent(1, 'basic.deliver', deliver(1), { contentEncoding: 'utf-8' }, textBytes);
      await until(() => got.length === 1);
      broker.sendContent(1, 'basic.deliver', deliver(2), {}, bin as Buffer);
      await until(() => got.length === 2);
      const pooled = bodySized(slow.mock.calls, 300 * KiB);
      expect(pooled).toBe(1); // the text body's buffer served the binary one
    } finally {
      slow.mockRestore();
    }
    expect(got[0]).toBe(text);
    expect(binIntact).toBe(true);
  });

  it('with a concurrency limit, queued callbacks keep their bodies and finished ones give them back', async () => {
    const { broker, ch } = await setup();
    const sent = bodies(4, 300 * KiB);
    const seen: Array<{ body: Buffer; intact: boolean }> = [];
    const c = ch.basicConsume('q', {
      consumerTag: 'ct',
      recycleBodiesAfterCallback: true,
      concurrency: 1,
      callback: async (m) => {
        const i = seen.length;
        const b = m.body as Buffer;
        const entry = { body: b, intact: false };
        seen.push(entry);
        await tick(20); // later deliveries arrive and wait in the limiter meanwhile
        entry.intact = b.equals(sent[i] as Buffer);
      },
    });
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
    await c;
    const { count } = await allocations(300 * KiB, async () => {
      for (let i = 0; i < 3; i++) broker.sendContent(1, 'basic.deliver', deliver(i + 1), {}, sent[i] as Buffer);
      await until(() => seen.length === 3 && seen[2]?.intact === true);
      await tick(5);
      broker.sendContent(1, 'basic.deliver', deliver(4), {}, sent[3] as Buffer);
      await until(() => seen[3]?.intact === true);
    });
    expect(seen.map((x) => x.intact)).toEqual([true, true, true, true]);
    // three bodies were lent at once (two waiting in the limiter); the fourth reused one of them
    expect(count).toBe(3);
  });

  it('without recycleBodiesAfterCallback every body is its own buffer and stays intact after later deliveries', async () => {
    const { broker, ch } = await setup();
    const sent = bodies(3, 300 * KiB);
    const got: Buffer[] = [];
    await consume(ch, broker, false, (m) => {
      got.push(m.body as Buffer);
    });
    for (let i = 0; i < 3; i++) {
      broker.sendContent(1, 'basic.deliver', deliver(i + 1), {}, sent[i] as Buffer);
      await until(() => got.length === i + 1);
    }
    expect(new Set(got.map((b) => b.buffer)).size).toBe(3);
    expect(got.every((b, i) => b.equals(sent[i] as Buffer))).toBe(true);
  });
});

describe('recycleBodiesAfterCallback with the consume() iterator', () => {
  it('a yielded body stays intact until the loop asks for the next message, then its memory is reused', async () => {
    const { broker, ch } = await setup();
    const sent = bodies(3, 300 * KiB);
    const slow = jest.spyOn(Buffer, 'allocUnsafeSlow');
    const it = ch.consume('q', { consumerTag: 'ct', recycleBodiesAfterCallback: true });
    const first = it.next();
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
    broker.sendContent(1, 'basic.deliver', deliver(1), {}, sent[0] as Buffer);
    const m1 = (await first).value as Message;
    // a second delivery arrives while the loop still holds the first: it cannot take its memory
    broker.sendContent(1, 'basic.deliver', deliver(2), {}, sent[1] as Buffer);
    await tick(50);
    const b1 = m1.body as Buffer;
    expect(b1.equals(sent[0] as Buffer)).toBe(true);
    const m2 = (await it.next()).value as Message; // gives the first body back
    const b2 = m2.body as Buffer;
    expect(b1.length).toBe(0); // given back: detached
    expect(b2.equals(sent[1] as Buffer)).toBe(true);
    const third = it.next(); // gives the second back
    broker.sendContent(1, 'basic.deliver', deliver(3), {}, sent[2] as Buffer);
    const b3 = ((await third).value as Message).body as Buffer;
    expect(b3.equals(sent[2] as Buffer)).toBe(true);
    expect(b2.length).toBe(0);
    const allocated = bodySized(slow.mock.calls, 300 * KiB);
    slow.mockRestore();
    expect(allocated).toBe(2); // the third body reused memory given back
    const done = it.return();
    await broker.expect('basic.cancel', 1);
    broker.send(1, 'basic.cancel-ok', { consumerTag: 'ct' });
    await expect(done).resolves.toEqual({ value: undefined, done: true });
  });
});
