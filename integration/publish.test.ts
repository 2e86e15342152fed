// Publishing against the real broker: socket backpressure under a tight publish loop, publisher
// confirms (acks, waitForConfirms, the maxUnconfirmed window, real nacks), mandatory returns,
// a publish to a missing exchange, stale deliveries after a channel error, and multi-frame bodies.
import { describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Message, NoRoute, NotFound, PublishNacked, PublishReturned, StaleDelivery, type Channel } from '../lib/index.js';
import { eventually, expectCount, privateQueue, rejectionOf, suite } from './harness.js';

const s = suite();

/** Outstanding confirms of a channel in confirm mode (the tracker is internal: read it for the test). */
function unconfirmed(ch: Channel): number {
  return ch.unconfirmed;
}

describe('backpressure', () => {
  test('a tight awaited loop of 200 000 x 1 KiB publishes keeps RSS bounded and every publish resolves', async () => {
    const { ch } = await s.open();
    // a bounded queue, so the broker keeps only the tail (no memory alarm), but routes everything
    const q = s.queue(s.name('q-bp'));
    await ch.queueDeclare(q, { arguments: { 'x-max-length': 1000 } });
    const N = 200_000;
    const body = Buffer.alloc(1024, 0x61);
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    let resolved = 0;
    for (let i = 0; i < N; i++) {
      await ch.basicPublish(new Message(body, { messageId: String(i) }), { routingKey: q });
      resolved++;
      if ((i & 4095) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(resolved).toBe(N);
    expect((peak - rss0) / 2 ** 20).toBeLessThan(200);
    // everything went through: the queue holds the last 1000, ending with the last one published
    await expectCount(ch, q, 1000);
    await ch.queuePurge(q);
  }, 60_000);

  test('10 000 publishes without awaiting, then awaiting the last one: all resolve, all arrive in order', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    const N = 10_000;
    const ps: Promise<void>[] = [];
    for (let i = 0; i < N; i++) ps.push(ch.basicPublish(new Message(`m${i}`), { routingKey: q }));
    await ps[N - 1];
    await Promise.all(ps);
    await expectCount(ch, q, N);
    const first = await ch.basicGet(q, { noAck: true });
    expect(first?.body).toBe('m0');
    expect(await ch.queuePurge(q)).toBe(N - 1);
  });
});

describe('publisher confirms', () => {
  test('each publish resolves on its ack; waitForConfirms resolves once all outstanding are settled', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    await ch.confirmSelect();
    for (let i = 0; i < 50; i++) {
      await ch.basicPublish(new Message(`a${i}`), { routingKey: q });
      expect(unconfirmed(ch)).toBe(0); // resolved = acked
    }
    await ch.waitForConfirms(); // nothing outstanding: at once
    let settled = 0;
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 500; i++)
      ps.push(
        ch.basicPublish(new Message(`b${i}`), { routingKey: q }).then(() => {
          settled++;
        }),
      );
    expect(settled).toBe(0);
    await ch.waitForConfirms({ timeout: 10_000 });
    expect(settled).toBe(500);
    expect(unconfirmed(ch)).toBe(0);
    await Promise.all(ps);
    await expectCount(ch, q, 550);
  });

  test('maxUnconfirmed: 10 never lets more than 10 publishes be outstanding; all 200 resolve in order', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    await ch.confirmSelect({ maxUnconfirmed: 10 });
    let max = 0;
    const sample = (): void => {
      max = Math.max(max, unconfirmed(ch));
    };
    const order: number[] = [];
    const ps: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      ps.push(
        ch.basicPublish(new Message(`m${i}`), { routingKey: q }).then(() => {
          sample();
          order.push(i);
        }),
      );
      sample();
    }
    expect(unconfirmed(ch)).toBe(10); // the window is full right after the synchronous burst
    const timer = setInterval(sample, 1);
    try {
      await Promise.all(ps);
    } finally {
      clearInterval(timer);
    }
    expect(max).toBe(10);
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await ch.waitForConfirms();
    await expectCount(ch, q, 200);
  });

  test("a real nack: x-overflow 'reject-publish' on a full queue rejects the publish with PublishNacked", async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('q-nack'));
    await ch.queueDeclare(q, { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    await ch.confirmSelect();
    await ch.basicPublish(new Message('fits'), { routingKey: q });
    const err = await rejectionOf(ch.basicPublish(new Message('overflows'), { routingKey: q }));
    expect(err).toBeInstanceOf(PublishNacked);
    // a nack does not close the channel
    expect(ch.isOpen).toBe(true);
    await expectCount(ch, q, 1);
    expect((await ch.basicGet(q, { noAck: true }))?.body).toBe('fits');
    await ch.basicPublish(new Message('fits again'), { routingKey: q });
    await ch.waitForConfirms();
    expect(await ch.queuePurge(q)).toBe(1);
  });
});

describe('mandatory and missing exchanges', () => {
  test('mandatory + unroutable in confirm mode: NoRoute 312 with the returned message; the return event fires', async () => {
    const { ch } = await s.open();
    await ch.confirmSelect();
    const rk = s.name('nowhere');
    const returned = once(ch, 'return') as Promise<[Message]>;
    const err = await rejectionOf(ch.basicPublish(new Message('lost'), { routingKey: rk, mandatory: true }));
    expect(err).toBeInstanceOf(NoRoute);
    expect(err.replyCode).toBe(312);
    expect(err).toBeInstanceOf(PublishReturned);
    const ret = (err as PublishReturned).returnedMessage;
    expect(ret?.body).toBe('lost');
    expect(ret?.deliveryInfo?.routingKey).toBe(rk);
    const [ev] = await returned;
    expect(ev.body).toBe('lost');
    expect(ev.deliveryInfo?.replyCode).toBe(312);
    expect(ch.returnedMessages).toContain(ev);
    // a routable mandatory publish still resolves
    const q = await privateQueue(ch);
    await ch.basicPublish(new Message('found'), { routingKey: q, mandatory: true });
  });

  test('mandatory + unroutable without confirms: only the return event; the publish resolves', async () => {
    const { ch } = await s.open();
    const rk = s.name('nowhere');
    const returned = once(ch, 'return') as Promise<[Message]>;
    await ch.basicPublish(new Message('lost'), { routingKey: rk, mandatory: true });
    const [ev] = await returned;
    expect([ev.body, ev.deliveryInfo?.replyCode, ev.deliveryInfo?.replyText, ev.deliveryInfo?.routingKey]).toEqual([
      'lost',
      312,
      'NO_ROUTE',
      rk,
    ]);
    expect(ch.returnedMessages).toEqual([ev]);
    expect(ch.isOpen).toBe(true);
  });

  test('publish to a missing exchange in confirm mode rejects with NotFound; the reopened channel confirms the next one', async () => {
    const { conn, ch } = await s.open();
    const other = await conn.channel();
    const q = await privateQueue(other);
    await ch.confirmSelect();
    const reopened = once(ch, 'reopen');
    const err = await rejectionOf(ch.basicPublish(new Message('x'), { exchange: s.name('no-such-x'), routingKey: q }));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.replyCode).toBe(404);
    await reopened;
    expect(ch.mode).toBe('confirm');
    await ch.basicPublish(new Message('after'), { routingKey: q });
    expect(unconfirmed(ch)).toBe(0);
    await expectCount(other, q, 1);
    expect(conn.state).toBe('open');
  });
});

describe('stale deliveries', () => {
  test('a message received before a channel error cannot be acked after the reopen; it is redelivered', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-stale'));
    await ch.queueDeclare(q);
    await ch.basicPublish(new Message('once'), { routingKey: q });
    await expectCount(ch, q, 1);
    const m = await ch.basicGet(q);
    expect([m?.body, m?.deliveryInfo?.redelivered]).toEqual(['once', false]);
    const reopened = once(ch, 'reopen');
    expect(await rejectionOf(ch.queueDeclare(s.name('missing'), { passive: true }))).toBeInstanceOf(NotFound);
    await reopened;
    expect(() => m!.ack()).toThrow(StaleDelivery);
    expect(() => ch.basicAck(m!)).toThrow(StaleDelivery);
    expect(conn.state).toBe('open');
    // the old channel's unacked delivery went back to the queue
    await expectCount(ch, q, 1);
    const again = await ch.basicGet(q);
    expect([again?.body, again?.deliveryInfo?.redelivered]).toEqual(['once', true]);
    again!.ack();
    await expectCount(ch, q, 0);
    expect(ch.isOpen).toBe(true);
  });
});

describe('large messages', () => {
  test.each([1, 16])('%i MiB body publishes and consumes byte-exact over many body frames', async (mib) => {
    const { conn, ch } = await s.open();
    expect(conn.frameMax).toBe(131072);
    const q = await privateQueue(ch);
    await ch.confirmSelect();
    const body = randomBytes(mib * 2 ** 20);
    const got: Message[] = [];
    await ch.basicConsume(q, {
      noAck: true,
      callback: (m) => {
        got.push(m);
      },
    });
    await ch.basicPublish(new Message(body, { contentType: 'application/octet-stream' }), { routingKey: q, timeout: 20_000 });
    await eventually(() => got.length === 1, { timeoutMs: 20_000, what: 'the large delivery' });
    const b = got[0]!.body;
    expect(Buffer.isBuffer(b)).toBe(true);
    expect((b as Buffer).length).toBe(body.length);
    expect((b as Buffer).equals(body)).toBe(true);
    expect(got[0]!.properties.contentType).toBe('application/octet-stream');
  });

  test('a 1 MiB string body round-trips through basicGet', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    const text = 'é'.repeat(2 ** 19); // 1 MiB of UTF-8
    await ch.basicPublish(new Message(text), { routingKey: q });
    await expectCount(ch, q, 1);
    const m = await ch.basicGet(q, { noAck: true });
    expect(m?.body).toBe(text);
  });
});
