import { describe, it, expect } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import type { Connection } from '../../lib/connection/connection.js';
import { AMQPError, ArgumentError, Timeout, UnexpectedFrame } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { connectFake, installGuards, type FakeBroker } from '../support/fake-broker.js';

installGuards();

async function setup(): Promise<{ broker: FakeBroker; conn: Connection; ch: Channel }> {
  const { broker, conn } = await connectFake();
  const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
  return { broker, conn, ch };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

const declareOk = (queue: string, messageCount = 0, consumerCount = 0) => ({ queue, messageCount, consumerCount });

describe('one call in flight per channel', () => {
  it('concurrent calls go out one at a time, in call order, each resolved with its own reply', async () => {
    const { broker, ch } = await setup();
    const a = ch.queueDeclare('a');
    const b = ch.exchangeDeclare('ex', 'topic');
    const c = ch.queueDeclare('c');
    const d = ch.queuePurge('c');
    const order: string[] = [];
    for (const [p, tag] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c'],
      [d, 'd'],
    ] as const)
      void p.then(() => order.push(tag));

    expect((await broker.expect('queue.declare', 1)).args.queue).toBe('a');
    await broker.expectNothing(30);
    broker.send(1, 'queue.declare-ok', declareOk('a', 1, 2));
    expect((await broker.expect('exchange.declare', 1)).args).toMatchObject({ exchange: 'ex', type: 'topic' });
    await broker.expectNothing(30);
    broker.send(1, 'exchange.declare-ok', {});
    expect((await broker.expect('queue.declare', 1)).args.queue).toBe('c');
    broker.send(1, 'queue.declare-ok', declareOk('c', 3, 4));
    await broker.expect('queue.purge', 1);
    broker.send(1, 'queue.purge-ok', { messageCount: 17 });

    await expect(a).resolves.toEqual(declareOk('a', 1, 2));
    await expect(b).resolves.toBeUndefined();
    await expect(c).resolves.toEqual(declareOk('c', 3, 4));
    await expect(d).resolves.toBe(17);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('channels are independent: a call on one does not wait for another channel', async () => {
    const { broker, conn, ch } = await setup();
    const [ch2] = await Promise.all([conn.channel(), broker.openChannel()]);
    const a = ch.queueDeclare('a');
    await broker.expect('queue.declare', 1);
    const b = ch2.queueDeclare('b');
    await broker.expect('queue.declare', 2);
    broker.send(2, 'queue.declare-ok', declareOk('b'));
    await expect(b).resolves.toEqual(declareOk('b'));
    broker.send(1, 'queue.declare-ok', declareOk('a'));
    await expect(a).resolves.toEqual(declareOk('a'));
  });

  it('basic.get resolves with get-ok content or null on get-empty', async () => {
    const { broker, ch } = await setup();
    const empty = ch.basicGet('q');
    await broker.expect('basic.get', 1);
    broker.send(1, 'basic.get-empty', {});
    await expect(empty).resolves.toBeNull();
    const full = ch.basicGet('q', { noAck: true });
    expect((await broker.expect('basic.get', 1)).args).toMatchObject({ queue: 'q', noAck: true });
    broker.sendContent(
      1,
      'basic.get-ok',
      { deliveryTag: 5, redelivered: true, exchange: 'x', routingKey: 'rk', messageCount: 9 },
      { contentType: 'text/plain' },
      Buffer.from('payload'),
    );
    const msg = await full;
    expect(msg?.deliveryInfo).toMatchObject({ deliveryTag: 5, redelivered: true, exchange: 'x', routingKey: 'rk', messageCount: 9 });
    expect(Buffer.from(msg?.body as Buffer).toString()).toBe('payload');
  });
});

describe('deadlines', () => {
  it('a call that times out while queued is never sent', async () => {
    const { broker, ch } = await setup();
    const a = ch.queueDeclare('a');
    const b = rejection(ch.queueDeclare('b', { timeout: 30 }));
    await broker.expect('queue.declare', 1);
    expect(await b).toBeInstanceOf(Timeout);
    broker.send(1, 'queue.declare-ok', declareOk('a'));
    await expect(a).resolves.toEqual(declareOk('a'));
    const c = ch.queueDeclare('c');
    expect((await broker.expect('queue.declare', 1)).args.queue).toBe('c');
    broker.send(1, 'queue.declare-ok', declareOk('c'));
    await expect(c).resolves.toEqual(declareOk('c'));
    expect(broker.received.filter((m) => m.name === 'queue.declare' && m.args.queue === 'b')).toEqual([]);
  });

  it('a call that times out in flight rejects; its late reply is discarded and the next call pairs correctly', async () => {
    const { broker, ch } = await setup();
    const a = rejection(ch.queueDeclare('a', { timeout: 40 }));
    const b = ch.queueDeclare('b');
    await broker.expect('queue.declare', 1);
    const err = await a;
    expect(err).toBeInstanceOf(Timeout);
    expect((err as Error).message).toContain('queue.declare');
    await broker.expectNothing(30); // b waits for a's reply
    broker.send(1, 'queue.declare-ok', declareOk('a', 111));
    expect((await broker.expect('queue.declare', 1)).args.queue).toBe('b');
    broker.send(1, 'queue.declare-ok', declareOk('b', 222));
    await expect(b).resolves.toEqual(declareOk('b', 222));
  });

  it('AbortSignal -> Timeout, in flight and queued (the queued call is never sent)', async () => {
    const { broker, ch } = await setup();
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const a = rejection(ch.queueDeclare('a', { signal: ac1.signal }));
    const b = rejection(ch.queueDeclare('b', { signal: ac2.signal }));
    await broker.expect('queue.declare', 1);
    ac2.abort(new Error('no longer needed'));
    ac1.abort();
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea).toBeInstanceOf(Timeout);
    expect(eb).toBeInstanceOf(Timeout);
    expect((eb as Error).cause).toEqual(new Error('no longer needed'));
    broker.send(1, 'queue.declare-ok', declareOk('a')); // late reply to the abandoned call
    const d = ch.queueDeclare('d');
    expect((await broker.expect('queue.declare', 1)).args.queue).toBe('d');
    broker.send(1, 'queue.declare-ok', declareOk('d'));
    await expect(d).resolves.toEqual(declareOk('d'));
  });

  it('an already-aborted signal -> Timeout, and the call is never sent', async () => {
    const { broker, ch } = await setup();
    const pre = new AbortController();
    pre.abort();
    await expect(ch.queueDeclare('never', { signal: pre.signal })).rejects.toBeInstanceOf(Timeout);
    await expect(ch.basicQos({ prefetchCount: 1, signal: pre.signal })).rejects.toBeInstanceOf(Timeout);
    await broker.expectNothing(30);
  });

  it('the connection-wide callTimeout applies by default', async () => {
    const { broker, conn } = await connectFake({ callTimeout: 50 });
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    await expect(ch.queueDeclare('a')).rejects.toBeInstanceOf(Timeout);
  });
});

describe('protocol violations', () => {
  it('an unexpected reply method closes the connection with UnexpectedFrame; everything pending rejects', async () => {
    const { broker, conn, ch } = await setup();
    const [ch2] = await Promise.all([conn.channel(), broker.openChannel()]);
    const closed = new Promise<unknown>((r) => conn.once('close', r));
    const pending = [rejection(ch.queueDeclare('a')), rejection(ch.queueBind('a', { exchange: 'x' })), rejection(ch2.queueDeclare('z'))];
    await broker.expect('queue.declare', 1);
    await broker.expect('queue.declare', 2);
    broker.send(1, 'exchange.declare-ok', {});
    const errs = await Promise.all(pending);
    for (const e of errs) expect(e).toBeInstanceOf(UnexpectedFrame);
    expect(errs[0]).toMatchObject({ replyCode: 505, channelId: 1, methodName: 'exchange.declare-ok' });
    expect(await closed).toBeInstanceOf(UnexpectedFrame);
    await expect(broker.expect('connection.close', 0)).resolves.toMatchObject({ args: { replyCode: 505 } });
    await broker.closed;
  });

  it('a reply when no call is in flight is an UnexpectedFrame too', async () => {
    const { broker, conn } = await setup();
    const closed = new Promise<unknown>((r) => conn.once('close', r));
    broker.send(1, 'queue.declare-ok', declareOk('ghost'));
    expect(await closed).toBeInstanceOf(UnexpectedFrame);
  });
});

describe('invalid arguments are refused locally', () => {
  const notSent = (broker: FakeBroker, name: string): void => {
    expect(broker.received.filter((m) => m.name === name)).toEqual([]);
  };

  it.each<[string, (ch: Channel) => Promise<unknown>, string]>([
    ['a 256-byte queue name', (ch) => ch.queueDeclare('q'.repeat(256)), 'queue.declare'],
    ['a multi-byte queue name over 255 bytes', (ch) => ch.queueDeclare('€'.repeat(86)), 'queue.declare'],
    ['a negative prefetch', (ch) => ch.basicQos({ prefetchCount: -1 }), 'basic.qos'],
    ['a prefetch above 65535', (ch) => ch.basicQos({ prefetchCount: 70000 }), 'basic.qos'],
    ['a non-integer prefetch size', (ch) => ch.basicQos({ prefetchSize: 1.5 }), 'basic.qos'],
    ['a function in queue arguments', (ch) => ch.queueDeclare('q', { arguments: { 'x-fn': (() => 1) as never } }), 'queue.declare'],
    ['a symbol in binding arguments', (ch) => ch.queueBind('q', { exchange: 'x', arguments: { s: Symbol('s') as never } }), 'queue.bind'],
    [
      'a circular table',
      (ch) => {
        const t: Record<string, unknown> = {};
        t['self'] = t;
        return ch.exchangeDeclare('x', 'direct', { arguments: t as never });
      },
      'exchange.declare',
    ],
    [
      'a function in a message header',
      (ch) => ch.basicPublish(new Message('x', { applicationHeaders: { f: (() => 1) as never } })),
      'basic.publish',
    ],
    ['a 300-byte routing key', (ch) => ch.basicPublish(new Message('x'), { routingKey: 'r'.repeat(300) }), 'basic.publish'],
    ['deliveryMode 256', (ch) => ch.basicPublish(new Message('x', { deliveryMode: 256 })), 'basic.publish'],
    ['a negative timeout', (ch) => ch.queueDeclare('q', { timeout: -5 }), 'queue.declare'],
    ['consume without a callback', (ch) => ch.basicConsume('q', {} as never), 'basic.consume'],
    ['nowait consume without a tag', (ch) => ch.basicConsume('q', { nowait: true, callback: () => {} }), 'basic.consume'],
    ['a consume concurrency of 0', (ch) => ch.basicConsume('q', { concurrency: 0, callback: () => {} }), 'basic.consume'],
    [
      'recycleBodiesAfterCallback given as a string',
      (ch) => ch.basicConsume('q', { recycleBodiesAfterCallback: 'false' as never, callback: () => {} }),
      'basic.consume',
    ],
    [
      'an iterator with recycleBodiesAfterCallback given as a number',
      (ch) => ch.consume('q', { recycleBodiesAfterCallback: 1 as never }).next(),
      'basic.consume',
    ],
    ['a negative maxUnconfirmed', (ch) => ch.confirmSelect({ maxUnconfirmed: -1 }), 'confirm.select'],
  ])('%s -> ArgumentError and nothing is sent', async (_what, call, method) => {
    const { broker, ch } = await setup();
    const inFlight = ch.queueDeclare('first');
    await broker.expect('queue.declare', 1);
    const err = await rejection(call(ch)); // refused at once, even with a call in flight
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err).toBeInstanceOf(AMQPError);
    broker.send(1, 'queue.declare-ok', declareOk('first'));
    await inFlight;
    const next = ch.queueDelete('next');
    expect((await broker.expect('queue.delete', 1)).args.queue).toBe('next');
    broker.send(1, 'queue.delete-ok', { messageCount: 0 });
    await next;
    if (method !== 'queue.declare') notSent(broker, method);
    expect(broker.received.filter((m) => m.name === 'queue.declare').length).toBe(1);
    expect(broker.received.map((m) => m.name)).not.toContain('basic.publish');
  });
});

describe('nowait', () => {
  it('nowait calls resolve once written, without a reply, and later calls still pair', async () => {
    const { broker, ch } = await setup();
    await expect(ch.queueDeclare('q', { nowait: true })).resolves.toBeNull();
    expect((await broker.expect('queue.declare', 1)).args).toMatchObject({ queue: 'q', nowait: true });
    await expect(ch.exchangeDeclare('x', 'fanout', { nowait: true })).resolves.toBeUndefined();
    await expect(ch.queueBind('q', { exchange: 'x', nowait: true })).resolves.toBeUndefined();
    await expect(ch.basicConsume('q', { consumerTag: 'ct', nowait: true, callback: () => {} })).resolves.toBe('ct');
    await expect(ch.queueDelete('old', { nowait: true })).resolves.toBe(0);
    expect((await broker.expect('exchange.declare', 1)).args.nowait).toBe(true);
    expect((await broker.expect('queue.bind', 1)).args.nowait).toBe(true);
    expect((await broker.expect('basic.consume', 1)).args).toMatchObject({ consumerTag: 'ct', nowait: true });
    expect((await broker.expect('queue.delete', 1)).args.nowait).toBe(true);
    const r = ch.queueDeclare('r');
    await broker.expect('queue.declare', 1);
    broker.send(1, 'queue.declare-ok', declareOk('r', 5));
    await expect(r).resolves.toEqual(declareOk('r', 5));
  });

  it('a nowait call queued behind a pending call goes out after that call completes', async () => {
    const { broker, ch } = await setup();
    const a = ch.queueDeclare('a');
    let doneB = false;
    const b = ch.queueDeclare('b', { nowait: true }).then(() => {
      doneB = true;
    });
    await broker.expect('queue.declare', 1);
    await broker.expectNothing(30);
    expect(doneB).toBe(false);
    broker.send(1, 'queue.declare-ok', declareOk('a'));
    await a;
    expect((await broker.expect('queue.declare', 1)).args).toMatchObject({ queue: 'b', nowait: true });
    await b;
  });
});
