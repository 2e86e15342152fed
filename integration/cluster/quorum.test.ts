// Quorum queues on the three-node cluster: the redelivery count on each message, poison messages
// stopped at deliveryLimit and dead-lettered, consumer priorities, single active consumer.
import { describe, expect, it } from '@jest/globals';
import { type Channel, Message } from '../../lib/index.js';
import { eventually } from '../harness.js';
import { clusterSuite } from './support/cluster-harness.js';

const s = clusterSuite();

/** A quorum queue (registered for cleanup) on a channel of a connection to node `node`. */
async function quorumQueue(node: number, what: string, opts: Parameters<Channel['queueDeclare']>[1] = {}) {
  const conn = await s.connect(node);
  const ch = await conn.channel();
  const q = s.queue(s.name(what));
  await ch.queueDeclare(q, { type: 'quorum', durable: true, ...opts });
  await ch.confirmSelect();
  return { conn, ch, q };
}

async function publish(ch: Channel, q: string, bodies: string[]): Promise<void> {
  await Promise.all(bodies.map((b) => ch.basicPublish(new Message(b, { deliveryMode: 2 }), { routingKey: q })));
}

describe('quorum queues', () => {
  it('Message.deliveryCount counts redeliveries (x-delivery-count): undefined, 1, 2', async () => {
    const { ch, q } = await quorumQueue(0, 'count');
    await publish(ch, q, ['poison']);
    const counts: Array<number | undefined> = [];
    await ch.basicQos({ prefetchCount: 1 });
    await ch.basicConsume(q, {
      callback: (m) => {
        counts.push(m.deliveryCount);
        if (counts.length < 3) m.nack({ requeue: true });
        else m.ack();
      },
    });
    await eventually(() => counts.length === 3, { what: 'three deliveries' });
    expect(counts).toEqual([undefined, 1, 2]);
  });

  it('a poison message stops at deliveryLimit and reaches the dead-letter exchange', async () => {
    const conn = await s.connect(1);
    const ch = await conn.channel();
    const dlx = s.exchange(s.name('dlx'));
    const dlq = s.queue(s.name('dlq'));
    await ch.exchangeDeclare(dlx, 'fanout', { durable: true });
    await ch.queueDeclare(dlq, { type: 'quorum', durable: true });
    await ch.queueBind(dlq, { exchange: dlx });
    const { ch: pch, q } = await quorumQueue(1, 'poison', { deliveryLimit: 2, deadLetterExchange: dlx });
    await publish(pch, q, ['poison']);
    let deliveries = 0;
    await pch.basicQos({ prefetchCount: 1 });
    await pch.basicConsume(q, {
      callback: (m) => {
        deliveries++;
        m.nack({ requeue: true }); // the consumer keeps failing on it
      },
    });
    const dead = (await eventually(async () => ch.basicGet(dlq, { noAck: true }), {
      what: 'the dead-lettered message',
      timeoutMs: 15_000,
    })) as Message;
    expect(String(dead.body)).toBe('poison');
    // delivered once, then redelivered deliveryLimit times, then dead-lettered instead
    expect(deliveries).toBe(3);
    const death = (dead.applicationHeaders?.['x-death'] as Array<Record<string, unknown>> | undefined)?.[0];
    expect(death).toMatchObject({ queue: q, reason: 'delivery_limit' });
    expect((await pch.queueDeclare(q, { passive: true })).messageCount).toBe(0);
  });

  it('consumer priorities: the higher-priority consumer gets everything while it has room, the other the rest', async () => {
    const { conn, ch, q } = await quorumQueue(2, 'priority');
    const high: string[] = [];
    const low: string[] = [];
    // the low-priority consumer registers first: without priorities it would get a share from m0 on
    const lowCh = await conn.channel();
    await lowCh.basicQos({ prefetchCount: 100 });
    await lowCh.basicConsume(q, {
      arguments: { 'x-priority': 1 },
      callback: (m) => {
        low.push(String(m.body));
        m.ack();
      },
    });
    const highCh = await conn.channel();
    await highCh.basicQos({ prefetchCount: 5 });
    // high never acks: after 5 it has no room
    await highCh.basicConsume(q, { arguments: { 'x-priority': 10 }, callback: (m) => void high.push(String(m.body)) });
    await publish(
      ch,
      q,
      Array.from({ length: 20 }, (_, i) => `m${i}`),
    );
    await eventually(() => high.length + low.length === 20, { what: '20 deliveries' });
    expect(high).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(low).toHaveLength(15);
  });

  it('single active consumer: one consumer receives; when it is cancelled the next takes over, with its unacked messages', async () => {
    const { conn, ch, q } = await quorumQueue(0, 'sac', { singleActiveConsumer: true });
    const a: string[] = [];
    const b: string[] = [];
    const chA = await conn.channel();
    await chA.basicQos({ prefetchCount: 3 });
    const tagA = await chA.basicConsume(q, { callback: (m) => void a.push(String(m.body)) }); // never acks
    const chB = await (await s.connect(1)).channel();
    await chB.basicQos({ prefetchCount: 100 });
    await chB.basicConsume(q, {
      callback: (m) => {
        b.push(String(m.body));
        m.ack();
      },
    });
    await publish(
      ch,
      q,
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
    await eventually(() => a.length === 3, { what: 'A to fill its window' });
    await new Promise((r) => setTimeout(r, 300));
    expect(b).toEqual([]); // B is waiting, although A has no room
    await chA.basicCancel(tagA);
    await chA.close(); // A's unacked messages go back to the queue
    await eventually(() => b.length === 10, { what: 'B to take over' });
    expect([...b].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    expect(a).toEqual(['m0', 'm1', 'm2']);
  });
});
