// Ack coalescing (`ackBatchDelay`) against RabbitMQ. A `multiple` ack that covered a message the
// consumer had not settled would ack it behind the consumer's back; the consumer's later nack of
// it would then be an unknown delivery tag, which RabbitMQ answers by closing the channel
// (PRECONDITION_FAILED, 406). So: random ack orders mixed with nacks and rejects must end with
// every message settled as the consumer said and no channel error.
import { describe, expect, test } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AMQPError, type Channel, Message } from '../lib/index.js';
import { prng } from '../spec/support/prng.js';
import { eventually, expectCount, privateQueue, suite } from './harness.js';

const s = suite();

async function fill(ch: Channel, queue: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await ch.basicPublish(new Message(`m${i}`), { routingKey: queue });
}

describe('ackBatchDelay against RabbitMQ', () => {
  test('out-of-order acks mixed with nacks and rejects: every message settled as asked, no channel error', async () => {
    const { conn, ch } = await s.open({ ackBatchDelay: 5 });
    expect(ch.ackBatchDelay).toBe(5);
    // named, not exclusive: they are checked from a second connection after this one closed
    const dead = s.queue(s.name('acks-dead')); // nacked messages without requeue are dead-lettered here
    const q = s.queue(s.name('acks'));
    await ch.queueDeclare(dead);
    await ch.queueDeclare(q, { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead } });
    const N = 400;
    await fill(ch, q, N);
    await expectCount(ch, q, N);

    const errors: AMQPError[] = [];
    ch.on('channelError', (e) => errors.push(e));
    const rnd = prng(42);
    const acked = new Set<string>();
    const nacked = new Set<string>();
    let requeued = 0;
    let redeliveries = 0;
    await ch.basicQos({ prefetchCount: 50 });
    await ch.basicConsume(q, {
      callback: async (m) => {
        const body = String(m.body);
        if (m.deliveryInfo?.redelivered) redeliveries++;
        await sleep(Math.floor(rnd() * 4)); // callbacks finish out of order
        const r = rnd();
        if (r < 0.1 && !m.deliveryInfo?.redelivered) {
          nacked.add(body);
          m.nack({ requeue: false });
        } else if (r < 0.15 && !m.deliveryInfo?.redelivered) {
          requeued++;
          m.reject({ requeue: true });
        } else {
          acked.add(body);
          m.ack();
        }
      },
    });
    await eventually(() => acked.size + nacked.size === N, { what: 'all messages settled', timeoutMs: 20_000 });
    expect(errors).toEqual([]);
    expect(redeliveries).toBe(requeued);
    expect(nacked.size).toBeGreaterThan(10);
    expect(requeued).toBeGreaterThan(5);
    // the last acks are still in the window: connection.close sends them first
    await conn.close();
    const { ch: check } = await s.open();
    await expectCount(check, q, 0);
    await expectCount(check, dead, nacked.size);
  });

  test('acks waiting when the channel closes on an error are dropped; those messages come back redelivered', async () => {
    const { ch } = await s.open({ ackBatchDelay: 1000 });
    const q = await privateQueue(ch);
    await fill(ch, q, 5);
    const reopened = new Promise<void>((resolve) => ch.once('reopen', () => resolve()));
    const got: Message[] = [];
    await ch.basicConsume(q, { callback: (m) => void got.push(m) });
    await eventually(() => got.length === 5, { what: '5 deliveries' });
    for (const m of got.slice(0, 3)) m.ack(); // waiting in the batch (1 s window)
    // a channel error that no synchronous call precedes (a call would flush the batch first): a
    // publish to a missing exchange; the channel closes and reopens, the waiting acks' tags are stale
    const errors: AMQPError[] = [];
    ch.on('channelError', (e) => errors.push(e));
    await ch.basicPublish(new Message('x'), { exchange: s.name('missing') });
    await reopened;
    expect(errors.map((e) => e.replyCode)).toEqual([404]);
    await eventually(() => got.length === 10, { what: 'the 5 messages redelivered' });
    expect(got.slice(5).every((m) => m.deliveryInfo?.redelivered)).toBe(true);
    for (const m of got.slice(5)) m.ack();
    await ch.basicQos({ prefetchCount: 0 }); // a synchronous call: flushes the batch
    await expectCount(ch, q, 0);
    expect(ch.isOpen).toBe(true);
  });
});
