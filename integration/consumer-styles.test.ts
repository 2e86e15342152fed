// The consuming styles besides a plain basicConsume callback: an AbstractConsumer subclass, async
// iteration with ch.consume(), the `concurrency` limit, failing callbacks, and amqpy's
// drainEvents/loop worker style.
import { describe, expect, jest, test } from '@jest/globals';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbstractConsumer, ConsumerCancelled, Message, NotFound, Timeout, type AMQPError, type Channel } from '../lib/index.js';
import { eventually, expectCount, privateQueue, rejectionOf, suite } from './harness.js';

const s = suite();

/** Consumer count of `queue` as the broker reports it. */
async function consumerCount(ch: Channel, queue: string): Promise<number> {
  return (await ch.queueDeclare(queue, { passive: true })).consumerCount;
}

async function publishAll(ch: Channel, queue: string, bodies: string[]): Promise<void> {
  for (const b of bodies) await ch.basicPublish(new Message(b), { routingKey: queue });
}

const range = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Collects what reaches run() (async, acks after a tick) and what reaches cancelCallback(). */
class Collector extends AbstractConsumer {
  got: Message[] = [];
  cancelled: AMQPError[] = [];
  override async run(msg: Message): Promise<void> {
    await sleep(1);
    this.got.push(msg);
    msg.ack();
  }
  override cancelCallback(err: AMQPError): void {
    this.cancelled.push(err);
  }
}

describe('AbstractConsumer', () => {
  test('declare() returns the tag, async run() gets every message in order, cancel() stops deliveries', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-ac'));
    await ch.queueDeclare(q);
    const c = new Collector(ch, q);
    expect(c.active).toBe(false);
    const tag = await c.declare();
    expect(tag).toMatch(/^amq\.ctag-/);
    expect(c.consumerTag).toBe(tag);
    expect(c.active).toBe(true);
    const pub = await conn.channel();
    await publishAll(pub, q, range(20));
    await eventually(() => c.got.length === 20);
    expect(c.got.map((m) => m.body)).toEqual(range(20));
    expect(c.got.every((m) => m.deliveryInfo?.consumerTag === tag)).toBe(true);
    expect(c.messageCount).toBe(20);
    await c.cancel();
    expect(c.active).toBe(false);
    await eventually(async () => (await consumerCount(pub, q)) === 0);
    await publishAll(pub, q, ['late1', 'late2']);
    await sleep(300);
    expect(c.got.length).toBe(20);
    expect(c.messageCount).toBe(20);
    await expectCount(pub, q, 2);
    expect(c.cancelled).toEqual([]); // a client cancel is not a server cancel
    await c.cancel(); // a second cancel does nothing
  });

  test('cancelCallback receives ConsumerCancelled when the queue is deleted under the consumer', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-ac-del'));
    await ch.queueDeclare(q);
    const c = new Collector(ch, q);
    await c.declare();
    await (await conn.channel()).queueDelete(q);
    await eventually(() => c.cancelled.length === 1);
    expect(c.cancelled[0]).toBeInstanceOf(ConsumerCancelled);
    expect(c.cancelled[0]?.message).toContain(c.consumerTag);
    expect(c.active).toBe(false);
    expect(ch.isOpen).toBe(true);
  });

  test('the same object keeps consuming after a channel error on its channel (same tag, next messages reach run())', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-ac-reopen'));
    await ch.queueDeclare(q);
    const c = new Collector(ch, q);
    const tag = await c.declare();
    const pub = await conn.channel();
    await publishAll(pub, q, ['before']);
    await eventually(() => c.got.length === 1);
    const reopened = once(ch, 'reopen');
    const errors: AMQPError[] = [];
    ch.on('channelError', (e) => {
      errors.push(e);
    });
    expect(await rejectionOf(ch.queueDeclare(s.name('missing'), { passive: true }))).toBeInstanceOf(NotFound);
    await reopened;
    expect(errors.map((e) => e.replyCode)).toEqual([404]);
    expect(c.active).toBe(true);
    expect(c.consumerTag).toBe(tag);
    await publishAll(pub, q, ['after1', 'after2']);
    await eventually(() => c.got.length === 3);
    expect(c.got.map((m) => [m.body, m.deliveryInfo?.consumerTag])).toEqual([
      ['before', tag],
      ['after1', tag],
      ['after2', tag],
    ]);
    expect(c.messageCount).toBe(3);
    expect(c.cancelled).toEqual([]);
    expect(await consumerCount(pub, q)).toBe(1);
    await expectCount(pub, q, 0); // run() acked all of them, the post-reopen ones too
  });
});

describe('async iteration: ch.consume()', () => {
  test('receives in order; break cancels the consumer on the broker', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-iter'));
    await ch.queueDeclare(q);
    await publishAll(ch, q, range(10));
    const got: string[] = [];
    const it = ch.consume(q, { prefetch: 5 });
    for await (const msg of it) {
      got.push(String(msg.body));
      msg.ack();
      if (got.length === 10) break;
    }
    expect(got).toEqual(range(10));
    expect(it.consumerTag).toMatch(/^amq\.ctag-/);
    const other = await conn.channel();
    await eventually(async () => (await consumerCount(other, q)) === 0, { what: 'consumer count 0' });
    await publishAll(other, q, ['unconsumed']);
    await expectCount(other, q, 1);
    expect(ch.isOpen).toBe(true);
  });

  test('prefetch 3 without acks: only 3 arrive until one is acked', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    await publishAll(ch, q, range(10));
    await expectCount(ch, q, 10);
    const it = ch.consume(q, { prefetch: 3 });
    const held: Message[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await it.next();
      expect(r.done).toBe(false);
      held.push(r.value as Message);
    }
    expect(held.map((m) => m.body)).toEqual(['m0', 'm1', 'm2']);
    const fourth = it.next();
    const raced = await Promise.race([fourth, sleep(300).then(() => 'nothing')]);
    expect(raced).toBe('nothing');
    await expectCount(ch, q, 7); // 3 unacked out, 7 ready
    held[0]!.ack();
    const r4 = await fourth;
    expect((r4.value as Message).body).toBe('m3');
    await it.return();
    expect((await it.next()).done).toBe(true);
  });

  test('deleting the queue under the iterator ends the loop with ConsumerCancelled, never a null message', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-iter-del'));
    await ch.queueDeclare(q);
    await publishAll(ch, q, ['one', 'two']);
    const seen: unknown[] = [];
    const admin = await conn.channel();
    const loop = (async () => {
      for await (const msg of ch.consume(q, { prefetch: 10 })) {
        seen.push(msg);
        msg.ack();
        if (seen.length === 2) void admin.queueDelete(q);
      }
    })();
    const err = await rejectionOf(loop);
    expect(err).toBeInstanceOf(ConsumerCancelled);
    expect(seen.length).toBe(2);
    for (const m of seen) expect(m).toBeInstanceOf(Message);
    expect((seen as Message[]).map((m) => m.body)).toEqual(['one', 'two']);
    expect(ch.isOpen).toBe(true);
  });

  test('break requeues the deliveries prefetched into the iterator but not yet yielded', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-iter-buf'));
    await ch.queueDeclare(q);
    await publishAll(ch, q, range(10));
    await expectCount(ch, q, 10);
    for await (const msg of ch.consume(q, { prefetch: 5 })) {
      expect(msg.body).toBe('m0');
      msg.ack();
      await sleep(200); // m1..m5 are delivered into the iterator's buffer meanwhile
      break;
    }
    const other = await conn.channel();
    await eventually(async () => (await consumerCount(other, q)) === 0);
    // The consumer is gone and the loop took only m0: the other nine must be ready again, not
    // held unacked by a channel nobody reads (they would stay so until the channel closes).
    await expectCount(other, q, 9);
    expect(ch.isOpen).toBe(true);
  });

  test('return() while the first next() is still starting settles that next() and leaves no consumer', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-iter-early'));
    await ch.queueDeclare(q);
    const it = ch.consume(q, { prefetch: 5 });
    const first = it.next(); // starts consuming (basic.qos, basic.consume)
    await it.return();
    expect(await Promise.race([first, sleep(1000).then(() => 'still pending')])).toEqual({ value: undefined, done: true });
    const other = await conn.channel();
    await eventually(async () => (await consumerCount(other, q)) === 0, { timeoutMs: 2000, what: 'no consumer left' });
    await publishAll(other, q, ['kept']);
    await expectCount(other, q, 1);
  });
});

describe('concurrency', () => {
  async function runConsumer(concurrency: number | undefined): Promise<{ max: number; starts: string[]; done: number }> {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    await ch.basicQos({ prefetchCount: 20 });
    const N = 20;
    let inFlight = 0;
    let max = 0;
    let done = 0;
    const starts: string[] = [];
    await ch.basicConsume(q, {
      ...(concurrency !== undefined ? { concurrency } : {}),
      callback: async (m) => {
        starts.push(String(m.body));
        max = Math.max(max, ++inFlight);
        await sleep(50);
        inFlight--;
        done++;
        m.ack();
      },
    });
    // publish all at once, so that the prefetch window (20) holds them together
    await Promise.all(range(N).map((b) => ch.basicPublish(new Message(b), { routingKey: q })));
    await eventually(() => done === N, { what: `${N} callbacks done` });
    await expectCount(ch, q, 0);
    return { max, starts, done };
  }

  test('concurrency 2 with prefetch 20: at most 2 async callbacks run at once, started in delivery order', async () => {
    const t0 = Date.now();
    const r = await runConsumer(2);
    expect(r.max).toBe(2);
    expect(r.starts).toEqual(range(20));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450); // 20 x 50 ms / 2
  });

  test('without concurrency, many callbacks run at once (still started in delivery order)', async () => {
    const r = await runConsumer(undefined);
    expect(r.max).toBeGreaterThan(5);
    expect(r.starts).toEqual(range(20));
  });
});

describe('failing callbacks', () => {
  const syncThrow = (): void => {
    throw new Error('sync boom');
  };
  const asyncReject = async (): Promise<void> => {
    await sleep(5);
    throw new Error('async boom');
  };
  test.each([
    ['a throwing sync callback', syncThrow, 'sync boom', undefined],
    ['a rejecting async callback', asyncReject, 'async boom', undefined],
    ['a throwing sync callback with concurrency 1', syncThrow, 'sync boom', 1],
    ['a rejecting async callback with concurrency 1', asyncReject, 'async boom', 1],
  ])("%s: 'callbackError' gets (err, msg); the message stays unacked and is redelivered", async (_what, callback, text, concurrency) => {
    const { conn, ch } = await s.open();
    const q = await privateQueue(ch);
    const consumerCh = await conn.channel();
    const errors: Array<[unknown, Message]> = [];
    consumerCh.on('callbackError', (err, msg) => {
      errors.push([err, msg]);
    });
    await consumerCh.basicConsume(q, { callback, ...(concurrency !== undefined ? { concurrency } : {}) });
    await ch.basicPublish(new Message('poison'), { routingKey: q });
    await eventually(() => errors.length === 1);
    expect((errors[0]![0] as Error).message).toBe(text);
    expect(errors[0]![1].body).toBe('poison');
    expect(errors[0]![1].deliveryInfo?.redelivered).toBe(false);
    // the process, the connection and both channels survive
    expect(conn.state).toBe('open');
    expect(consumerCh.isOpen).toBe(true);
    await expectCount(ch, q, 0); // delivered, unacked
    await consumerCh.close();
    await expectCount(ch, q, 1); // closing the channel requeued it: it was never acked
    const again = await ch.basicGet(q, { noAck: true });
    expect([again?.body, again?.deliveryInfo?.redelivered]).toEqual(['poison', true]);
  });
});

describe('drainEvents and loop', () => {
  test('a drainEvents worker loop consumes N messages; an idle drainEvents rejects with Timeout', async () => {
    const { conn, ch } = await s.open();
    const q = await privateQueue(ch);
    const N = 50;
    await publishAll(ch, q, range(N));
    let n = 0;
    const got: string[] = [];
    await ch.basicConsume(q, {
      noAck: true,
      callback: (m) => {
        got.push(String(m.body));
        n++;
      },
    });
    while (n < N) await conn.drainEvents({ timeout: 2000 });
    expect(got).toEqual(range(N));
    const t0 = Date.now();
    const err = await rejectionOf(conn.drainEvents({ timeout: 200 }));
    expect(err).toBeInstanceOf(Timeout);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    // an event after the timed-out call still wakes the next one
    const next = conn.drainEvents({ timeout: 2000 });
    await ch.basicPublish(new Message('late'), { routingKey: q });
    await next;
    expect(got.at(-1)).toBe('late');
    expect(conn.state).toBe('open');
  });

  test('loop() dispatches deliveries and resolves after close()', async () => {
    const { conn, ch } = await s.open();
    const q = await privateQueue(ch);
    const got: string[] = [];
    await ch.basicConsume(q, {
      noAck: true,
      callback: (m) => {
        got.push(String(m.body));
      },
    });
    const looping = conn.loop();
    let ended = false;
    void looping.then(
      () => {
        ended = true;
      },
      () => {
        ended = true;
      },
    );
    await publishAll(ch, q, range(5));
    await eventually(() => got.length === 5);
    await sleep(50);
    expect(ended).toBe(false);
    await conn.close();
    await expect(looping).resolves.toBeUndefined();
  });
});

describe('recycleBodiesAfterCallback', () => {
  /** Body buffers allocated while `slow` watched: the pool rounds a 300 KiB body up to 320 KiB. */
  const bodyBuffers = (slow: { mock: { calls: unknown[][] } }): number => slow.mock.calls.filter(([n]) => n === 320 * 1024).length;
  /** `n` bodies of `size` bytes, each filled from its own seed so a mix-up shows. */
  const makeBodies = (n: number, size: number): Buffer[] =>
    Array.from({ length: n }, (_, i) => {
      const b = Buffer.allocUnsafe(size);
      for (let j = 0; j < size; j += 4) b.writeUInt32LE(((j + 1) * 2654435761 + i * 40503) >>> 0, j);
      return b;
    });

  test('large bodies arrive byte-exact, later ones in recycled memory; an async callback keeps its body until it settles', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    await ch.basicQos({ prefetchCount: 4 });
    const sent = makeBodies(12, 300 * 1024);
    for (const b of sent) await ch.basicPublish(new Message(b), { routingKey: q });
    const kept: Buffer[] = [];
    const intact: boolean[] = [];
    const slow = jest.spyOn(Buffer, 'allocUnsafeSlow');
    await ch.basicConsume(q, {
      recycleBodiesAfterCallback: true,
      callback: async (m) => {
        const body = m.body as Buffer;
        kept.push(body);
        const i = m.deliveryTag - 1;
        await sleep(5); // other deliveries arrive meanwhile: they must not land in this body
        intact[i] = body.equals(sent[i] as Buffer);
        m.ack();
      },
    });
    await eventually(() => intact.filter(Boolean).length === 12, { what: '12 intact bodies' });
    const allocated = bodyBuffers(slow);
    slow.mockRestore();
    expect(intact).toEqual(Array(12).fill(true));
    // prefetch 4 bounds what is lent at once; 12 deliveries share far fewer buffers
    expect(allocated).toBeGreaterThan(0);
    expect(allocated).toBeLessThanOrEqual(6);
    // bodies kept past their callbacks (a misuse) read as empty: their memory went back
    await eventually(() => kept.every((b) => b.length === 0), { what: 'kept bodies detached' });
    await expectCount(ch, q, 0);
  });

  test('the consume() iterator lends each body until the loop moves on', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    const sent = makeBodies(10, 300 * 1024);
    for (const b of sent) await ch.basicPublish(new Message(b), { routingKey: q });
    const intact: boolean[] = [];
    const slow = jest.spyOn(Buffer, 'allocUnsafeSlow');
    for await (const m of ch.consume(q, { prefetch: 3, recycleBodiesAfterCallback: true })) {
      const body = m.body as Buffer;
      await sleep(5); // the next deliveries arrive meanwhile (prefetch 3) and are buffered
      intact.push(body.equals(sent[intact.length] as Buffer));
      m.ack();
      if (intact.length === 10) break;
    }
    const allocated = bodyBuffers(slow);
    slow.mockRestore();
    expect(intact).toEqual(Array(10).fill(true));
    expect(allocated).toBeGreaterThan(0);
    expect(allocated).toBeLessThanOrEqual(5);
    await expectCount(ch, q, 0);
  });
});
