// Ack coalescing through a connection (fake broker): the `ackBatchDelay` option, what flushes a
// batch (its window, a synchronous call, connection.close) and what drops it (a server channel
// close), and that it is off by default.
import { describe, expect, it } from '@jest/globals';

import { Connection } from '../../lib/connection/connection.js';
import { ArgumentError } from '../../lib/errors.js';
import type { Message } from '../../lib/message.js';
import { connectFake, FakeBroker, installGuards } from '../support/fake-broker.js';

installGuards();

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function consuming(ackBatchDelay?: number, channelDelay?: number) {
  const { broker, conn } = await connectFake(ackBatchDelay === undefined ? {} : { ackBatchDelay });
  const [ch] = await Promise.all([
    conn.channel(undefined, channelDelay === undefined ? {} : { ackBatchDelay: channelDelay }),
    broker.openChannel(),
  ]);
  const got: Message[] = [];
  const c = ch.basicConsume('q', { consumerTag: 'ct', callback: (m) => void got.push(m) });
  await broker.expect('basic.consume', 1);
  broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
  await c;
  const deliver = (from: number, to: number): void => {
    for (let t = from; t <= to; t++) {
      broker.sendContent(
        1,
        'basic.deliver',
        { consumerTag: 'ct', deliveryTag: t, redelivered: false, exchange: '', routingKey: 'q' },
        {},
        Buffer.from(`m${t}`),
      );
    }
  };
  const until = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && got.length < n; i++) await tick(2);
    expect(got.length).toBe(n);
  };
  return { broker, conn, ch, got, deliver, until };
}

const acks = (broker: FakeBroker) => broker.received.filter((r) => r.name === 'basic.ack').map((r) => r.args);

describe('ackBatchDelay', () => {
  it('is off by default: every ack goes out on its own', async () => {
    const { broker, ch, got, deliver, until } = await consuming();
    expect(ch.ackBatchDelay).toBe(0);
    deliver(1, 3);
    await until(3);
    for (const m of got) m.ack();
    for (let t = 1; t <= 3; t++) expect((await broker.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: t, multiple: false });
  });

  it('single acks within the window go out as one multiple ack (connection option)', async () => {
    const { broker, ch, got, deliver, until } = await consuming(20);
    expect(ch.ackBatchDelay).toBe(20);
    deliver(1, 5);
    await until(5);
    for (const m of [got[1], got[0], got[4], got[3], got[2]]) m?.ack(); // out of order
    await broker.expectNothing(10); // still inside the window
    expect((await broker.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: 5, multiple: true });
    await broker.expectNothing(40);
    expect(acks(broker)).toHaveLength(1);
  });

  it('a channel option overrides the connection: 0 turns coalescing off for that channel', async () => {
    const { broker, ch, got, deliver, until } = await consuming(20, 0);
    expect(ch.ackBatchDelay).toBe(0);
    deliver(1, 2);
    await until(2);
    got[0]?.ack();
    expect((await broker.expect('basic.ack', 1, 10)).args).toMatchObject({ deliveryTag: 1, multiple: false });
  });

  it('a message left unacked splits the batch: nothing after it is covered by a multiple ack', async () => {
    const { broker, got, deliver, until } = await consuming(10);
    deliver(1, 4);
    await until(4);
    got[0]?.ack();
    got[1]?.ack();
    got[3]?.ack(); // 3 stays unacked
    expect((await broker.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: 2, multiple: true });
    expect((await broker.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: 4, multiple: false });
    got[2]?.nack(); // a nack goes out at once
    expect((await broker.expect('basic.nack', 1, 5)).args).toMatchObject({ deliveryTag: 3, multiple: false, requeue: true });
  });

  it('acks given before a synchronous call go out before it (tx.commit)', async () => {
    const { broker, ch, got, deliver, until } = await consuming(1000);
    const sel = ch.txSelect();
    await broker.expect('tx.select', 1);
    broker.send(1, 'tx.select-ok', {});
    await sel;
    deliver(1, 3);
    await until(3);
    for (const m of got) m.ack();
    const commit = ch.txCommit();
    expect((await broker.next()).name).toBe('basic.ack');
    expect((await broker.next()).name).toBe('tx.commit');
    broker.send(1, 'tx.commit-ok', {});
    await commit;
    expect(acks(broker)).toEqual([{ deliveryTag: 3, multiple: true }]);
  });

  it('connection.close sends the waiting acks first', async () => {
    const { broker, conn, got, deliver, until } = await consuming(1000);
    deliver(1, 2);
    await until(2);
    for (const m of got) m.ack();
    const closing = conn.close();
    expect((await broker.next()).args).toMatchObject({ deliveryTag: 2, multiple: true });
    expect((await broker.next()).name).toBe('connection.close');
    broker.send(0, 'connection.close-ok', {});
    await closing;
  });

  it('a server channel close drops the batch: no stale tag reaches the reopened channel', async () => {
    const { broker, ch, got, deliver, until } = await consuming(30);
    deliver(1, 2);
    await until(2);
    for (const m of got) m.ack();
    broker.send(1, 'channel.close', { replyCode: 406, replyText: 'PRECONDITION_FAILED - test', classId: 0, methodId: 0 });
    await broker.expect('channel.close-ok', 1);
    await broker.expect('channel.open', 1);
    broker.send(1, 'channel.open-ok', {});
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
    await tick(60); // past the window
    expect(acks(broker)).toEqual([]);
    expect(ch.isOpen).toBe(true);
    deliver(1, 1); // tags start again at 1 and coalescing goes on
    await until(3);
    got[2]?.ack();
    expect((await broker.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: 1, multiple: false });
  });

  it('a bad delay is an ArgumentError before anything is sent', async () => {
    const broker = new FakeBroker();
    await expect(Connection.connect({ socket: broker.clientSocket, ackBatchDelay: -1 })).rejects.toBeInstanceOf(ArgumentError);
    const { broker: b2, conn } = await connectFake();
    const bad = conn.channel(undefined, { ackBatchDelay: Number.NaN });
    await expect(bad).rejects.toThrow(/ackBatchDelay must be from 0 to 1000 ms/);
    await b2.expectNothing(20);
    await expect(conn.channel(undefined, { ackBatchDelay: 5000 })).rejects.toBeInstanceOf(ArgumentError);
  });
});
