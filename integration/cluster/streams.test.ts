// Streams over AMQP 0.9.1 on the three-node cluster: every offset form, the offset of each
// delivery, the checks made before consuming (prefetch, noAck, filter on 3.10), and a consumer
// whose connection the broker closes resuming after the last offset it delivered.
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArgumentError, type Channel, type Connection, Message, NotSupportedByServer, type StreamOffset } from '../../lib/index.js';
import { eventually } from '../harness.js';
import { closeConnectionNamed, clusterSuite } from './support/cluster-harness.js';

const s = clusterSuite();

/** A stream on node `node` with `count` messages m0.. published and confirmed. */
async function stream(node: number, count: number): Promise<{ conn: Connection; ch: Channel; q: string }> {
  const conn = await s.connect(node);
  const ch = await conn.channel();
  const q = s.queue(s.name('stream'));
  await ch.queueDeclare(q, { type: 'stream', durable: true });
  await ch.confirmSelect();
  await publishRange(ch, q, 0, count);
  return { conn, ch, q };
}

async function publishRange(ch: Channel, q: string, from: number, to: number): Promise<void> {
  const ps: Promise<void>[] = [];
  for (let i = from; i < to; i++) ps.push(ch.basicPublish(new Message(`m${i}`), { routingKey: q }));
  await Promise.all(ps);
}

/** Consumes `q` from `offset` on a new channel of `conn` until `n` messages came; [offset, body] pairs. */
async function readFrom(conn: Connection, q: string, offset: StreamOffset, n: number): Promise<Array<[number | undefined, string]>> {
  const ch = await conn.channel();
  await ch.basicQos({ prefetchCount: 50 });
  const got: Array<[number | undefined, string]> = [];
  await ch.basicConsume(q, {
    offset,
    callback: (m) => {
      got.push([m.streamOffset, String(m.body)]);
      m.ack();
    },
  });
  await eventually(() => got.length >= n, { what: `${n} messages from ${String(offset)}`, timeoutMs: 10_000 });
  await sleep(100); // anything beyond n would show up now
  await ch.close();
  return got;
}

const range = (from: number, to: number): Array<[number, string]> =>
  Array.from({ length: to - from }, (_, i) => [from + i, `m${from + i}`]);

describe('stream consumers', () => {
  it("offset 'first' reads everything, each delivery showing its offset", async () => {
    const { conn, q } = await stream(0, 30);
    expect(await readFrom(conn, q, 'first', 30)).toEqual(range(0, 30));
  });

  it('a numeric offset starts exactly there', async () => {
    const { conn, q } = await stream(1, 30);
    expect(await readFrom(conn, q, 17, 13)).toEqual(range(17, 30));
  });

  it("'last' starts at the last chunk (ending with the last message); 'next' only sees what comes after", async () => {
    const { conn, ch, q } = await stream(2, 30);
    const last = await readFrom(conn, q, 'last', 1);
    expect(last.at(-1)).toEqual([29, 'm29']);
    expect(last).toEqual(range(last[0]?.[0] ?? 0, 30));
    const nextCh = await conn.channel();
    await nextCh.basicQos({ prefetchCount: 10 });
    const got: number[] = [];
    await nextCh.basicConsume(q, { offset: 'next', callback: (m) => void got.push(m.streamOffset as number) });
    await sleep(300);
    await publishRange(ch, q, 30, 35);
    await eventually(() => got.length === 5, { what: 'the 5 new messages' });
    expect(got).toEqual([30, 31, 32, 33, 34]);
  });

  it('a Date starts at the first chunk written at or after that time', async () => {
    const { conn, ch, q } = await stream(0, 10);
    // the next batch goes out in a later second than the first one (timestamps are in seconds)
    await sleep(1100 - (Date.now() % 1000));
    const since = new Date();
    await publishRange(ch, q, 10, 20);
    expect(await readFrom(conn, q, since, 10)).toEqual(range(10, 20));
  });

  it('consume() with prefetch and offset iterates the stream in order', async () => {
    const { conn, q } = await stream(1, 25);
    const ch = await conn.channel();
    const seen: number[] = [];
    for await (const m of ch.consume(q, { prefetch: 10, offset: 5 })) {
      seen.push(m.streamOffset as number);
      m.ack();
      if (seen.length === 20) break;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 5 + i));
  });

  it('refuses, before sending: no prefetch (406 from RabbitMQ), noAck (540, which would close the connection), filter (3.13+)', async () => {
    const { conn, q } = await stream(2, 1);
    const ch = await conn.channel();
    await expect(ch.basicConsume(q, { offset: 'first', callback: () => {} })).rejects.toThrow(ArgumentError);
    await ch.basicQos({ prefetchCount: 10 });
    await expect(ch.basicConsume(q, { offset: 'first', noAck: true, callback: () => {} })).rejects.toThrow(/must ack/);
    const err = await ch.basicConsume(q, { offset: 'first', filter: 'eu', callback: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedByServer);
    expect((err as Error).message).toMatch(/needs RabbitMQ 3.13 or later; this server is RabbitMQ 3\.10\./);
    // nothing reached the broker: the channel and the connection are fine
    expect(conn.connected).toBe(true);
    expect(await readFrom(conn, q, 'first', 1)).toEqual([[0, 'm0']]);
  });

  it('when the broker closes its connection, the consumer resumes after the last offset it delivered: each offset once, in order', async () => {
    const { ch, q } = await stream(0, 100);
    const name = s.name('stream-consumer');
    const conn = await s.connect(1, { clientProperties: { connection_name: name } });
    const cch = await conn.channel();
    await cch.basicQos({ prefetchCount: 20 });
    const seen: number[] = [];
    await cch.basicConsume(q, {
      offset: 'first',
      callback: (m) => {
        seen.push(m.streamOffset as number);
        try {
          m.ack();
        } catch {
          // delivered before the connection was closed: its ack is refused (StaleDelivery)
        }
      },
    });
    await eventually(() => seen.length >= 100, { what: 'the first 100' });
    const recovered = new Promise((r) => conn.once('recovered', r));
    expect(await closeConnectionNamed(name)).toBe(1);
    await recovered;
    await publishRange(ch, q, 100, 200);
    await eventually(() => seen.length >= 200, { what: '200 offsets' });
    await sleep(200);
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});
