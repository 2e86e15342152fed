// Consuming against the real broker: volume with acks and per-queue order, failing callbacks,
// server-side cancel, consumer restore after a channel error, and publishing under a memory alarm
// (raised on a second node of its own, never on the shared broker: an alarm is node-wide).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AMQPError, ConsumerCancelled, Message, NotFound, StaleDelivery, Timeout } from '../lib/index.js';
import { type SecondNode, startSecondNode, withMemoryAlarm } from './support/second-node.js';
import { eventually, expectCount, privateQueue, rejectionOf, suite } from './harness.js';

const s = suite();

// the memory-alarm test's own node, booting (≈5 s) while the other tests of this file run
let node: Promise<SecondNode>;
beforeAll(() => {
  node = startSecondNode({ port: 5689 });
  node.catch(() => undefined);
});
afterAll(async () => {
  await (await node.catch(() => undefined))?.dispose();
}, 60_000);

describe('basicConsume', () => {
  test('10 000 messages over two queues, acked one by one, in order per queue', async () => {
    const { conn, ch } = await s.open();
    const qa = await privateQueue(ch);
    const qb = await privateQueue(ch);
    await ch.confirmSelect();
    const N = 5000;
    for (let start = 0; start < N; start += 1000) {
      const batch: Promise<void>[] = [];
      for (let i = start; i < start + 1000; i++) {
        batch.push(ch.basicPublish(new Message(`a${i}`), { routingKey: qa }), ch.basicPublish(new Message(`b${i}`), { routingKey: qb }));
      }
      await Promise.all(batch);
    }
    const consumer = await conn.channel();
    await consumer.basicQos({ prefetchCount: 200 });
    const got: Record<string, string[]> = { [qa]: [], [qb]: [] };
    let total = 0;
    const done = new Promise<void>((resolve) => {
      const callback = (m: Message): void => {
        got[m.deliveryInfo?.routingKey ?? '']?.push(String(m.body));
        m.ack();
        if (++total === 2 * N) resolve();
      };
      void consumer.basicConsume(qa, { callback });
      void consumer.basicConsume(qb, { callback });
    });
    await done;
    expect(got[qa]).toEqual(Array.from({ length: N }, (_, i) => `a${i}`));
    expect(got[qb]).toEqual(Array.from({ length: N }, (_, i) => `b${i}`));
    // Every ack reached the broker: closing the channel requeues nothing.
    await consumer.close();
    await expectCount(ch, qa, 0);
    await expectCount(ch, qb, 0);
  });

  test("a throwing or rejecting callback reaches 'callbackError' with its message; consuming goes on", async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    const errors: Array<[unknown, Message]> = [];
    ch.on('callbackError', (err, msg) => {
      errors.push([err, msg]);
    });
    const ok: string[] = [];
    await ch.basicConsume(q, {
      noAck: true,
      callback: async (m) => {
        if (m.body === 'throw') throw new Error('sync-ish boom');
        if (m.body === 'reject') {
          await sleep(5);
          throw new Error('async boom');
        }
        ok.push(String(m.body));
      },
    });
    for (const b of ['one', 'throw', 'two', 'reject', 'three']) await ch.basicPublish(new Message(b), { routingKey: q });
    await eventually(() => ok.length === 3 && errors.length === 2);
    expect(ok).toEqual(['one', 'two', 'three']);
    expect(errors.map(([e, m]) => [(e as Error).message, m.body])).toEqual([
      ['sync-ish boom', 'throw'],
      ['async boom', 'reject'],
    ]);
    expect(errors[0]?.[1].deliveryInfo?.routingKey).toBe(q);
    // A callback that throws synchronously too.
    const q2 = await privateQueue(ch);
    await ch.basicConsume(q2, {
      noAck: true,
      callback: () => {
        throw new TypeError('plain throw');
      },
    });
    await ch.basicPublish(new Message('boom'), { routingKey: q2 });
    await eventually(() => errors.length === 3);
    expect(errors[2]?.[0]).toBeInstanceOf(TypeError);
    expect(errors[2]?.[1].body).toBe('boom');
    expect(ch.isOpen).toBe(true);
    expect(await privateQueue(ch)).toMatch(/^amq\.gen-/);
  });

  test('deleting the queue under a consumer calls onCancel with ConsumerCancelled and emits cancel', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-cancelled'));
    await ch.queueDeclare(q);
    const cancelled: AMQPError[] = [];
    const tag = await ch.basicConsume(q, {
      callback: () => undefined,
      onCancel: (err) => {
        cancelled.push(err);
      },
    });
    const cancelEvent = once(ch, 'cancel') as Promise<[string, ConsumerCancelled]>;
    const other = await conn.channel();
    await other.queueDelete(q);
    const [evTag, evErr] = await cancelEvent;
    expect(evTag).toBe(tag);
    expect(evErr).toBeInstanceOf(ConsumerCancelled);
    await eventually(() => cancelled.length === 1);
    expect(cancelled[0]).toBeInstanceOf(ConsumerCancelled);
    expect(cancelled[0]?.message).toContain(tag);
    expect(ch.isOpen).toBe(true);
    expect(await privateQueue(ch)).toMatch(/^amq\.gen-/);
  });

  test('a channel error mid-consume: the consumer is restored on the reopened channel and gets the next messages', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-restore'));
    await ch.queueDeclare(q);
    await ch.basicQos({ prefetchCount: 10 });
    const got: Message[] = [];
    const tag = await ch.basicConsume(q, {
      consumerTag: s.name('tag'),
      callback: (m) => {
        got.push(m);
      },
    });
    const publisher = await conn.channel();
    await publisher.basicPublish(new Message('before'), { routingKey: q });
    await eventually(() => got.length === 1);
    const reopened = once(ch, 'reopen');
    const err = await rejectionOf(ch.queueDeclare(s.name('missing'), { passive: true }));
    expect(err).toBeInstanceOf(NotFound);
    await reopened;
    expect(() => got[0]!.ack()).toThrow(StaleDelivery); // its channel generation is gone
    // The unacked delivery comes back (redelivered) to the restored consumer, same tag.
    await eventually(() => got.length === 2);
    expect([got[1]!.body, got[1]!.deliveryInfo?.redelivered, got[1]!.deliveryInfo?.consumerTag]).toEqual(['before', true, tag]);
    got[1]!.ack();
    for (const b of ['after1', 'after2']) await publisher.basicPublish(new Message(b), { routingKey: q });
    await eventually(() => got.length === 4);
    expect(got.slice(2).map((m) => m.body)).toEqual(['after1', 'after2']);
    for (const m of got.slice(2)) m.ack();
    expect((await ch.queueDeclare(q, { passive: true })).consumerCount).toBe(1);
  });
});

describe('memory alarm (on a second node of its own)', () => {
  test('onBlocked fires, publishes wait (or time out), and complete once the alarm lifts', async () => {
    const blockedReasons: string[] = [];
    let unblockedCalls = 0;
    const alarmNode = await node;
    const conn = await s.connect(alarmNode.url, {
      onBlocked: (r) => {
        blockedReasons.push(r);
      },
      onUnblocked: () => {
        unblockedCalls++;
      },
    });
    const ch = await conn.channel();
    const q = s.queue(s.name('q-alarm'));
    await ch.queueDeclare(q);
    const unblockedEvent = once(conn, 'unblocked');
    const pending: Array<Promise<{ ok: boolean; at: number; err?: unknown }>> = [];
    let liftedAt = 0;
    await withMemoryAlarm(alarmNode, async () => {
      const blockedEvent = once(conn, 'blocked') as Promise<[string]>;
      // RabbitMQ only notifies (and blocks) a connection once it publishes during the alarm.
      await ch.basicPublish(new Message('first'), { routingKey: q });
      const [reason] = await blockedEvent;
      expect(reason).toMatch(/memory/);
      expect(blockedReasons).toEqual([reason]);
      expect(conn.blocked).toBe(true);
      const t0 = Date.now();
      const timedOut = await rejectionOf(ch.basicPublish(new Message('impatient'), { routingKey: q, timeout: 300 }));
      expect(timedOut).toBeInstanceOf(Timeout);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      for (const b of ['w1', 'w2', 'w3']) {
        pending.push(
          ch.basicPublish(new Message(b), { routingKey: q }).then(
            () => ({ ok: true, at: Date.now() }),
            (err: unknown) => ({ ok: false, at: Date.now(), err }),
          ),
        );
      }
      await sleep(300);
      expect(conn.blocked).toBe(true);
      liftedAt = Date.now();
    });
    const results = await Promise.all(pending);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    for (const r of results) expect(r.at).toBeGreaterThanOrEqual(liftedAt);
    await unblockedEvent;
    expect(unblockedCalls).toBe(1);
    expect(conn.blocked).toBe(false);
    const got: string[] = [];
    for (let m = await ch.basicGet(q, { noAck: true }); m; m = await ch.basicGet(q, { noAck: true })) got.push(String(m.body));
    expect(got).toEqual(['first', 'w1', 'w2', 'w3']);
  });
});
