// Stream consumers (stream-offset.ts): the offset/filter options as consumer arguments, the checks
// made before basic.consume goes out, the offset of each delivery, and where a stream consumer
// resumes after its channel reopens or its connection recovers (scripted FakeBroker).
import { describe, expect, it } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import { streamConsumeArguments, type StreamConsumeContext } from '../../lib/channel/stream-offset.js';
import { ArgumentError, NotSupportedByServer } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { getFieldTypes, Typed, type FieldTable } from '../../lib/protocol/primitives.js';
import { connectFake, type FakeBroker } from '../support/fake-broker.js';
import { declareOk, once, openChannel, rpc, serve, setup, tick } from '../support/recovery-harness.js';

const RABBIT_310: FieldTable = { product: 'RabbitMQ', version: '3.10.8' };
const RABBIT_313: FieldTable = { product: 'RabbitMQ', version: '3.13.1' };
const ctx = (o: Partial<StreamConsumeContext> = {}): StreamConsumeContext => ({
  prefetch: true,
  noAck: false,
  streamQueue: false,
  serverProperties: RABBIT_310,
  ...o,
});

function refusal(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
}

describe('streamConsumeArguments', () => {
  it("sends 'first', 'last' and 'next' as strings", () => {
    for (const offset of ['first', 'last', 'next'] as const) {
      expect(streamConsumeArguments({ offset }, ctx())).toEqual({ 'x-stream-offset': offset });
    }
  });

  it('sends a number as an int64 offset and a Date as a timestamp in seconds', () => {
    const n = streamConsumeArguments({ offset: 42 }, ctx())['x-stream-offset'];
    expect(n).toEqual(new Typed('l', 42));
    const d = streamConsumeArguments({ offset: new Date(1_700_000_123_999) }, ctx())['x-stream-offset'];
    expect(d).toEqual(new Typed('T', 1_700_000_123));
  });

  it('keeps the other consumer arguments', () => {
    expect(streamConsumeArguments({ offset: 'first', arguments: { 'x-priority': 2 } }, ctx())).toEqual({
      'x-priority': 2,
      'x-stream-offset': 'first',
    });
  });

  it('refuses offsets of any other form', () => {
    for (const offset of [-1, 1.5, Number.NaN, 2 ** 60, 'beginning', new Date(Number.NaN), null, {}]) {
      const err = refusal(() => streamConsumeArguments({ offset: offset as never }, ctx()));
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err.message).toMatch(/offset must be 'first', 'last', 'next', a non-negative integer or a valid Date/);
    }
  });

  it('refuses an offset given twice (option and raw argument)', () => {
    expect(refusal(() => streamConsumeArguments({ offset: 1, arguments: { 'x-stream-offset': 2 } }, ctx())).message).toMatch(/not both/);
  });

  it('requires a per-consumer prefetch for a stream consumer (RabbitMQ answers 406 otherwise)', () => {
    const err = refusal(() => streamConsumeArguments({ offset: 'first' }, ctx({ prefetch: false })));
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toMatch(
      /stream consumers need a prefetch: call basicQos\(\{ prefetchCount \}\) first, or pass prefetch to consume\(\)/,
    );
    // a raw x-stream-offset, or a queue declared as a stream on this connection, count too
    expect(() => streamConsumeArguments({ arguments: { 'x-stream-offset': 'next' } }, ctx({ prefetch: false }))).toThrow(/need a prefetch/);
    expect(() => streamConsumeArguments({}, ctx({ prefetch: false, streamQueue: true }))).toThrow(/need a prefetch/);
  });

  it('refuses noAck for a stream consumer (RabbitMQ closes the connection with 540)', () => {
    expect(() => streamConsumeArguments({ offset: 'next' }, ctx({ noAck: true }))).toThrow(/must ack/);
  });

  it('leaves consumers of other queues alone: no prefetch needed, arguments unchanged', () => {
    const args = { 'x-priority': 1 };
    expect(streamConsumeArguments({ arguments: args }, ctx({ prefetch: false, noAck: true }))).toBe(args);
  });

  it('refuses filter before RabbitMQ 3.13 with NotSupportedByServer, naming the server', () => {
    const err = refusal(() => streamConsumeArguments({ filter: 'eu' }, ctx()));
    expect(err).toBeInstanceOf(NotSupportedByServer);
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toMatch(/stream filtering \(filter\) needs RabbitMQ 3.13 or later; this server is RabbitMQ 3.10.8/);
    expect(err).toMatchObject({ feature: 'stream filtering', server: 'RabbitMQ 3.10.8' });
    // a server that does not say it is RabbitMQ, or not which version, cannot be assumed to filter
    expect(() => streamConsumeArguments({ filter: 'eu' }, ctx({ serverProperties: { product: 'Other', version: '9.0' } }))).toThrow(
      NotSupportedByServer,
    );
    expect(() => streamConsumeArguments({ filter: 'eu' }, ctx({ serverProperties: { product: 'RabbitMQ' } }))).toThrow(
      NotSupportedByServer,
    );
  });

  it('sends filter and matchUnfiltered from RabbitMQ 3.13 on', () => {
    expect(streamConsumeArguments({ filter: 'eu', offset: 'first' }, ctx({ serverProperties: RABBIT_313 }))).toEqual({
      'x-stream-offset': 'first',
      'x-stream-filter': 'eu',
    });
    expect(
      streamConsumeArguments(
        { filter: ['eu', 'us'], matchUnfiltered: true },
        ctx({ serverProperties: { product: 'RabbitMQ', version: '4.0.2' } }),
      ),
    ).toEqual({ 'x-stream-filter': ['eu', 'us'], 'x-stream-match-unfiltered': true });
  });

  it('refuses a bad filter, and matchUnfiltered without filter', () => {
    const c = ctx({ serverProperties: RABBIT_313 });
    for (const filter of ['', [], [''], [1]])
      expect(() => streamConsumeArguments({ filter: filter as never }, c)).toThrow(/filter must be/);
    expect(() => streamConsumeArguments({ matchUnfiltered: true }, c)).toThrow(/matchUnfiltered needs filter/);
    expect(() => streamConsumeArguments({ offset: 'first', matchUnfiltered: true }, c)).toThrow(/matchUnfiltered needs filter/);
  });
});

describe('Message.streamOffset and deliveryCount', () => {
  it('read x-stream-offset and x-delivery-count; undefined without them', () => {
    const m = new Message('x', { applicationHeaders: { 'x-stream-offset': 17, 'x-delivery-count': 2 } });
    expect(m.streamOffset).toBe(17);
    expect(m.deliveryCount).toBe(2);
    const big = new Message('x', { applicationHeaders: { 'x-stream-offset': 2n ** 60n } });
    expect(big.streamOffset).toBe(2 ** 60);
    const plain = new Message('x', { applicationHeaders: { 'x-stream-offset': 'no' } });
    expect(plain.streamOffset).toBeUndefined();
    expect(new Message('x').deliveryCount).toBeUndefined();
  });
});

/** basic.consume's x-stream-offset as [tag, value]. */
function offsetArg(args: FieldTable): [string | undefined, unknown] {
  return [getFieldTypes(args)['x-stream-offset'], args['x-stream-offset']];
}

function deliverAt(b: FakeBroker, tag: string, deliveryTag: number, offset: number): void {
  b.sendContent(
    1,
    'basic.deliver',
    { consumerTag: tag, deliveryTag, redelivered: false, exchange: '', routingKey: 's' },
    { applicationHeaders: { 'x-stream-offset': new Typed('l', offset) } },
    Buffer.from(`m${offset}`),
  );
}

describe('Channel.basicConsume / consume() with offset', () => {
  it('refuses a stream consumer without prefetch before sending anything', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    await expect(ch.basicConsume('s', { offset: 'first', callback: () => {} })).rejects.toThrow(/need a prefetch/);
    // a channel-wide (global) prefetch does not count: RabbitMQ wants a per-consumer one
    await Promise.all([ch.basicQos({ prefetchCount: 10, global: true }), serve(broker, 1, 'basic.qos', 'basic.qos-ok', {})]);
    await expect(ch.basicConsume('s', { offset: 'first', callback: () => {} })).rejects.toThrow(/need a prefetch/);
    await broker.expectNothing(30);
  });

  it('refuses a consumer of a queue this connection declared as a stream, even without offset', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    await rpc(broker, 1, ch.queueDeclare('s', { type: 'stream', durable: true }), 'queue.declare', 'queue.declare-ok', declareOk('s'));
    await expect(ch.basicConsume('s', { callback: () => {} })).rejects.toThrow(/need a prefetch/);
    await broker.expectNothing(30);
  });

  it("filter: refused by the connection's server before 3.13; sent to a RabbitMQ 3.13", async () => {
    const old = await connectFake({}, { serverProperties: RABBIT_310 });
    const [ch1] = await Promise.all([old.conn.channel(), old.broker.openChannel()]);
    await Promise.all([ch1.basicQos({ prefetchCount: 10 }), serve(old.broker, 1, 'basic.qos', 'basic.qos-ok', {})]);
    await expect(ch1.basicConsume('s', { filter: 'eu', callback: () => {} })).rejects.toThrow(NotSupportedByServer);
    await old.broker.expectNothing(30);
    const recent = await connectFake({}, { serverProperties: RABBIT_313 });
    const [ch2] = await Promise.all([recent.conn.channel(), recent.broker.openChannel()]);
    await Promise.all([ch2.basicQos({ prefetchCount: 10 }), serve(recent.broker, 1, 'basic.qos', 'basic.qos-ok', {})]);
    const consume = ch2.basicConsume('s', { consumerTag: 'c', filter: ['eu'], matchUnfiltered: false, callback: () => {} });
    const m = await serve(recent.broker, 1, 'basic.consume', 'basic.consume-ok', { consumerTag: 'c' });
    expect({ ...m.args.arguments }).toEqual({ 'x-stream-filter': 'eu', 'x-stream-match-unfiltered': false });
    await consume;
  });

  it('consume() sets the prefetch, then consumes with x-stream-offset; deliveries show their offset', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    const it = ch.consume('s', { prefetch: 5, offset: 10, consumerTag: 'c' });
    const first = it.next();
    expect((await serve(broker, 1, 'basic.qos', 'basic.qos-ok', {})).args).toMatchObject({ prefetchCount: 5, global: false });
    const consume = await serve(broker, 1, 'basic.consume', 'basic.consume-ok', { consumerTag: 'c' });
    expect(offsetArg(consume.args.arguments)).toEqual(['l', 10]);
    deliverAt(broker, 'c', 1, 10);
    const r = await first;
    expect(r.value?.streamOffset).toBe(10);
    await Promise.all([it.return(), serve(broker, 1, 'basic.cancel', 'basic.cancel-ok', { consumerTag: 'c' })]);
  });
});

/** A channel with prefetch 10 and a stream consumer 'c' from `offset`, on the harness' first broker. */
async function streamConsumer(offset: 'first' | 'next' | number, got: number[]) {
  const s = await setup();
  const ch: Channel = await openChannel(s.conn, s.b1, 1);
  await rpc(s.b1, 1, ch.basicQos({ prefetchCount: 10 }), 'basic.qos', 'basic.qos-ok', {});
  const callback = (m: Message): void => {
    got.push(m.streamOffset as number);
  };
  await rpc(s.b1, 1, ch.basicConsume('s', { consumerTag: 'c', offset, callback }), 'basic.consume', 'basic.consume-ok', {
    consumerTag: 'c',
  });
  return { ...s, ch };
}

/** Plays a reconnect up to basic.consume; returns what the client asked for. */
async function reconnect(s: Awaited<ReturnType<typeof streamConsumer>>): Promise<FieldTable> {
  s.b1.destroy();
  const b2 = await s.f.next();
  await b2.handshake();
  await b2.openChannel(1);
  await serve(b2, 1, 'basic.qos', 'basic.qos-ok', {});
  const m = await serve(b2, 1, 'basic.consume', 'basic.consume-ok', { consumerTag: 'c' });
  await once(s.conn, 'recovered');
  return m.args.arguments;
}

describe('a stream consumer resumes after the last offset it delivered', () => {
  it('after a reconnect: asks for last + 1', async () => {
    const got: number[] = [];
    const s = await streamConsumer('first', got);
    for (let i = 0; i < 5; i++) deliverAt(s.b1, 'c', i + 1, 100 + i);
    await tick();
    expect(got).toEqual([100, 101, 102, 103, 104]);
    expect(offsetArg(await reconnect(s))).toEqual(['l', 105]);
  });

  it('after a server channel.close: the reopened channel asks for last + 1', async () => {
    const got: number[] = [];
    const s = await streamConsumer(0, got);
    deliverAt(s.b1, 'c', 1, 0);
    deliverAt(s.b1, 'c', 2, 1);
    await tick();
    s.b1.send(1, 'channel.close', { replyCode: 406, replyText: 'PRECONDITION_FAILED - test', classId: 0, methodId: 0 });
    await s.b1.expect('channel.close-ok', 1);
    await s.b1.openChannel(1);
    await serve(s.b1, 1, 'basic.qos', 'basic.qos-ok', {});
    const m = await serve(s.b1, 1, 'basic.consume', 'basic.consume-ok', { consumerTag: 'c' });
    expect(offsetArg(m.args.arguments)).toEqual(['l', 2]);
  });

  it("nothing delivered yet: a numeric or 'first' offset is asked again as it was", async () => {
    const s = await streamConsumer(7, []);
    expect(offsetArg(await reconnect(s))).toEqual(['l', 7]);
  });

  it("nothing delivered yet: 'next' becomes the time the consumer started (to the second), so nothing written meanwhile is skipped", async () => {
    const before = Math.floor(Date.now() / 1000);
    const s = await streamConsumer('next', []);
    const after = Math.floor(Date.now() / 1000);
    const [tag, value] = offsetArg(await reconnect(s));
    expect(tag).toBe('T');
    const seconds = (value as Date).getTime() / 1000;
    expect(seconds).toBeGreaterThanOrEqual(before);
    expect(seconds).toBeLessThanOrEqual(after);
  });
});
