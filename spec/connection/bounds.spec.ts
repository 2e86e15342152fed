// Bounded memory against any server: message sizes checked before allocation, returned messages
// kept within a count and a byte budget, impossible negotiation values as typed connection errors.
import { once } from 'node:events';
import { describe, expect, it, jest } from '@jest/globals';
import { Connection } from '../../lib/connection/connection.js';
import { type AMQPError, ArgumentError, FrameError } from '../../lib/errors.js';
import { encodeFrame, FRAME_HEADER } from '../../lib/protocol/frame.js';
import { Writer } from '../../lib/protocol/primitives.js';
import { connectFake, FakeBroker, installGuards } from '../support/fake-broker.js';

installGuards();

/** A content header announcing `size` body bytes (no properties). */
function header(channel: number, size: bigint): Buffer {
  const w = new Writer(16);
  w.u16(60);
  w.u16(0);
  w.u64(size);
  w.u16(0);
  return encodeFrame(FRAME_HEADER, channel, w.result());
}

async function consumer() {
  const { broker, conn } = await connectFake();
  const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
  const c = ch.basicConsume('q', { consumerTag: 'ct', callback: () => {} });
  await broker.expect('basic.consume', 1);
  broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
  await c;
  return { broker, conn, ch };
}

describe('maxMessageSize', () => {
  it.each([
    ['3 GiB', 3n * 1024n ** 3n],
    ['2^53 - 1', 2n ** 53n - 1n],
  ])('a content header announcing %s closes the connection with FrameError 501 before anything is allocated', async (_what, size) => {
    const { broker, conn } = await consumer();
    const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
    const alloc = jest.spyOn(Buffer, 'allocUnsafe');
    const allocSlow = jest.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      broker.send(1, 'basic.deliver', { consumerTag: 'ct', deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' });
      broker.sendRaw(header(1, size));
      const [err] = await closed;
      expect(err).toBeInstanceOf(FrameError);
      expect(err?.replyCode).toBe(501);
      expect(err?.message).toMatch(/above maxMessageSize \(134217728 bytes\)/);
      const big = [...alloc.mock.calls, ...allocSlow.mock.calls].filter(([n]) => n > 1024 * 1024);
      expect(big).toEqual([]);
    } finally {
      alloc.mockRestore();
      allocSlow.mockRestore();
    }
    const close = await broker.expect('connection.close', 0);
    expect(close.args.replyCode).toBe(501);
  });

  it('a body size beyond 2^53 - 1 is a FrameError too, not a RangeError inside a 541', async () => {
    const { broker, conn } = await consumer();
    const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
    broker.send(1, 'basic.deliver', { consumerTag: 'ct', deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' });
    broker.sendRaw(header(1, 2n ** 63n));
    const [err] = await closed;
    expect(err).toBeInstanceOf(FrameError);
    expect(err?.replyCode).toBe(501);
  });

  it('a body of exactly maxMessageSize is accepted; one byte more is not', async () => {
    const { broker, conn } = await connectFake({ maxMessageSize: 10 });
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    const got: Buffer[] = [];
    const c = ch.basicConsume('q', { consumerTag: 'ct', callback: (m) => void got.push(m.body as Buffer) });
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
    await c;
    const deliver = (tag: number) => ({ consumerTag: 'ct', deliveryTag: tag, redelivered: false, exchange: '', routingKey: 'q' });
    broker.sendContent(1, 'basic.deliver', deliver(1), {}, Buffer.alloc(10, 1));
    for (let i = 0; i < 20 && got.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(got.map((b) => b.length)).toEqual([10]);
    const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
    broker.sendContent(1, 'basic.deliver', deliver(2), {}, Buffer.alloc(11, 1));
    expect((await closed)[0]).toBeInstanceOf(FrameError);
  });

  it('is validated: a non-negative integer no larger than the largest Buffer', async () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 40]) {
      await expect(Connection.connect({ maxMessageSize: bad, socket: new FakeBroker().clientSocket })).rejects.toBeInstanceOf(
        ArgumentError,
      );
    }
  });
});

describe('returnedMessages stays bounded against unsolicited returns', () => {
  const ret = (i: number) => ({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: `k${i}` });

  it('keeps the latest 100 (every one still reaches the return event)', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    let events = 0;
    ch.on('return', () => events++);
    for (let i = 0; i < 1000; i++) broker.sendContent(1, 'basic.return', ret(i), {}, Buffer.from(`m${i}`));
    for (let i = 0; i < 200 && events < 1000; i++) await new Promise((r) => setImmediate(r));
    expect(events).toBe(1000);
    expect(ch.returnedMessages).toHaveLength(100);
    expect(ch.returnedMessages[0]?.deliveryInfo.routingKey).toBe('k900');
    expect(ch.returnedMessages[99]?.deliveryInfo.routingKey).toBe('k999');
  });

  it('keeps at most 8 MiB of bodies, and always the newest', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    let events = 0;
    ch.on('return', () => events++);
    for (let i = 0; i < 20; i++) broker.sendContent(1, 'basic.return', ret(i), {}, Buffer.alloc(1024 * 1024, i));
    for (let i = 0; i < 400 && events < 20; i++) await new Promise((r) => setImmediate(r));
    expect(events).toBe(20);
    const kept = ch.returnedMessages;
    expect(kept).toHaveLength(8);
    expect(kept.at(-1)?.deliveryInfo.routingKey).toBe('k19');
    // one larger than the whole budget is still kept, alone
    broker.sendContent(1, 'basic.return', ret(99), {}, Buffer.alloc(9 * 1024 * 1024));
    for (let i = 0; i < 400 && events < 21; i++) await new Promise((r) => setImmediate(r));
    expect(ch.returnedMessages.map((m) => m.deliveryInfo.routingKey)).toEqual(['k99']);
  });

  it('messages the user took out (amqpy style) are no longer counted', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    let events = 0;
    ch.on('return', () => events++);
    for (let i = 0; i < 8; i++) broker.sendContent(1, 'basic.return', ret(i), {}, Buffer.alloc(1024 * 1024));
    for (let i = 0; i < 400 && events < 8; i++) await new Promise((r) => setImmediate(r));
    while (ch.returnedMessages.shift()) {
      // drained
    }
    for (let i = 8; i < 16; i++) broker.sendContent(1, 'basic.return', ret(i), {}, Buffer.alloc(1024 * 1024));
    for (let i = 0; i < 400 && events < 16; i++) await new Promise((r) => setImmediate(r));
    expect(ch.returnedMessages).toHaveLength(8);
  });
});

describe('impossible negotiation values are typed connection errors', () => {
  it.each([1024, 4096, 8191])('a tune with frame_max %i (below the protocol minimum) rejects connect with FrameError', async (frameMax) => {
    const broker = new FakeBroker();
    const connecting = Connection.connect({ socket: broker.clientSocket });
    await broker.protocolHeader();
    broker.sendStart();
    await broker.expect('connection.start-ok', 0);
    broker.send(0, 'connection.tune', { channelMax: 0, frameMax, heartbeat: 0 });
    const err = await connecting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FrameError);
    expect(err).not.toBeInstanceOf(ArgumentError);
    expect((err as FrameError).message).toMatch(new RegExp(`frame_max ${frameMax}, below the protocol's minimum of 8192`));
  });

  it('frame_max 0 (no limit) from the server is fine: ours applies', async () => {
    const { conn } = await connectFake({ frameMax: 65536 }, { frameMax: 0 });
    expect(conn.frameMax).toBe(65536);
  });
});
