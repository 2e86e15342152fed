import { describe, it, expect, jest } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import type { Connection } from '../../lib/connection/connection.js';
import { ArgumentError, ConsumerCancelled, NoRoute, PublishNacked } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import type { BasicProperties } from '../../lib/protocol/generated/properties.js';
import { connectFake, installGuards, type FakeBroker, type HandshakeOptions } from '../support/fake-broker.js';

installGuards();

async function setup(hs: HandshakeOptions = {}): Promise<{ broker: FakeBroker; conn: Connection; ch: Channel }> {
  const { broker, conn } = await connectFake({}, hs);
  const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
  return { broker, conn, ch };
}

async function confirmMode(ch: Channel, broker: FakeBroker, maxUnconfirmed = 0): Promise<void> {
  const select = ch.confirmSelect({ maxUnconfirmed });
  await broker.expect('confirm.select', 1);
  broker.send(1, 'confirm.select-ok', {});
  await select;
}

async function consume(
  ch: Channel,
  broker: FakeBroker,
  callback: (m: Message) => void | Promise<void>,
  onCancel?: (e: unknown) => void,
): Promise<void> {
  const c = ch.basicConsume('q', { consumerTag: 'ct', callback, ...(onCancel ? { onCancel } : {}) });
  await broker.expect('basic.consume', 1);
  broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
  await c;
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

const deliverArgs = (deliveryTag: number) => ({ consumerTag: 'ct', deliveryTag, redelivered: false, exchange: 'ex', routingKey: 'rk' });
const tick = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

describe('outbound content framing', () => {
  it('method + header + body frames, the body split by frameMax (20000 bytes, frameMax 8192 -> 3 frames)', async () => {
    const { broker, ch } = await setup({ frameMax: 8192 });
    const body = pattern(20000);
    await ch.basicPublish(new Message(body), { exchange: 'ex', routingKey: 'rk', mandatory: true });
    const m = await broker.expectContent(1);
    expect(m.args).toMatchObject({ exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false });
    expect(m.bodyFrames).toEqual([8184, 8184, 3632]);
    expect(m.body.equals(body)).toBe(true);
  });

  it('a large body (zero-copy path) arrives exactly, in frames of frameMax - 8', async () => {
    const { broker, ch } = await setup();
    const body = pattern(300000);
    await ch.basicPublish(new Message(body));
    const m = await broker.expectContent(1);
    expect(m.bodyFrames).toEqual([131064, 131064, 37872]);
    expect(m.body.equals(body)).toBe(true);
  });

  it('an empty body is a header with size 0 and no body frame', async () => {
    const { broker, ch } = await setup();
    await ch.basicPublish(new Message(Buffer.alloc(0)));
    const m = await broker.expectContent(1);
    expect(m.bodyFrames).toEqual([]);
    expect(m.body.length).toBe(0);
  });

  it('string bodies go out as UTF-8 with contentEncoding set', async () => {
    const { broker, ch } = await setup();
    const text = 'héllo wörld € 🐇';
    await ch.basicPublish(new Message(text, { contentType: 'text/plain' }));
    const m = await broker.expectContent(1);
    expect(m.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(m.properties).toEqual({ contentType: 'text/plain', contentEncoding: 'utf-8' });
  });

  it('all 14 basic properties arrive', async () => {
    const { broker, ch } = await setup();
    const props: BasicProperties = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      applicationHeaders: { a: 1, b: 'two', c: true, d: { e: [1, 'x'] } },
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr-1',
      replyTo: 'amq.rabbitmq.reply-to',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: new Date('2024-05-06T07:08:09Z'),
      type: 'order.created',
      userId: 'guest',
      appId: 'tests',
      clusterId: 'c1',
    };
    await ch.basicPublish(new Message(Buffer.from('{}'), props));
    const m = await broker.expectContent(1);
    expect(Object.keys(m.properties).sort()).toEqual(Object.keys(props).sort());
    expect(JSON.parse(JSON.stringify(m.properties))).toEqual(JSON.parse(JSON.stringify(props)));
    expect(m.properties.timestamp?.getTime()).toBe(props.timestamp?.getTime());
  });

  it('publishes from two channels each arrive whole', async () => {
    const { broker, conn, ch } = await setup({ frameMax: 8192 });
    const [ch2] = await Promise.all([conn.channel(), broker.openChannel()]);
    const a = pattern(30000);
    const b = Buffer.alloc(30000, 7);
    await Promise.all([ch.basicPublish(new Message(a)), ch2.basicPublish(new Message(b)), ch.basicPublish(new Message('small'))]);
    const got = [await broker.expectContent(), await broker.expectContent(), await broker.expectContent()];
    expect(got.map((m) => m.channel)).toEqual([1, 2, 1]);
    expect(got[0]?.body.equals(a)).toBe(true);
    expect(got[1]?.body.equals(b)).toBe(true);
  });
});

describe('publisher confirms', () => {
  it('ack resolves the publish', async () => {
    const { broker, ch } = await setup();
    await confirmMode(ch, broker);
    let done = false;
    const p = ch.basicPublish(new Message('x')).then(() => {
      done = true;
    });
    await broker.expectContent(1);
    await tick(20);
    expect(done).toBe(false);
    broker.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await p;
  });

  it('ack with multiple settles every publish up to the tag, not beyond', async () => {
    const { broker, ch } = await setup();
    await confirmMode(ch, broker);
    const settled: number[] = [];
    const ps = [1, 2, 3, 4].map((i) =>
      ch.basicPublish(new Message(String(i))).then(() => {
        settled.push(i);
      }),
    );
    for (let i = 0; i < 4; i++) await broker.expectContent(1);
    broker.send(1, 'basic.ack', { deliveryTag: 3, multiple: true });
    await Promise.all(ps.slice(0, 3));
    await tick();
    expect(settled).toEqual([1, 2, 3]);
    broker.send(1, 'basic.ack', { deliveryTag: 4, multiple: false });
    await ps[3];
  });

  it('nack -> PublishNacked (single and multiple)', async () => {
    const { broker, ch } = await setup();
    await confirmMode(ch, broker);
    const ps = [1, 2, 3].map(() => rejection(ch.basicPublish(new Message('x'))));
    for (let i = 0; i < 3; i++) await broker.expectContent(1);
    broker.send(1, 'basic.nack', { deliveryTag: 1, multiple: false, requeue: false });
    broker.send(1, 'basic.nack', { deliveryTag: 3, multiple: true, requeue: false });
    for (const e of await Promise.all(ps)) expect(e).toBeInstanceOf(PublishNacked);
  });

  it('publishes nobody awaits: their nack, or the channel closing, is no unhandled rejection', async () => {
    const { broker, ch } = await setup();
    await confirmMode(ch, broker);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      void ch.basicPublish(new Message('nacked, never awaited'));
      void ch.basicPublish(new Message('closed, never awaited'));
      const awaited = rejection(ch.basicPublish(new Message('closed, awaited')));
      for (let i = 0; i < 3; i++) await broker.expectContent(1);
      broker.send(1, 'basic.nack', { deliveryTag: 1, multiple: false, requeue: false });
      broker.send(1, 'channel.close', { replyCode: 406, replyText: 'PRECONDITION_FAILED - test', classId: 60, methodId: 40 });
      expect(await awaited).toMatchObject({ replyCode: 406 }); // an awaiting caller still sees the error
      await tick(30);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('basic.return then ack of a mandatory publish -> NoRoute carrying the returned message', async () => {
    const { broker, ch } = await setup();
    await confirmMode(ch, broker);
    const returned = jest.fn<(m: Message) => void>();
    ch.on('return', returned);
    const p = rejection(
      ch.basicPublish(new Message('lost', { messageId: 'm1' }), { exchange: 'ex', routingKey: 'nowhere', mandatory: true }),
    );
    const ok = ch.basicPublish(new Message('fine'), { exchange: 'ex', routingKey: 'somewhere', mandatory: true });
    await broker.expectContent(1);
    await broker.expectContent(1);
    broker.sendContent(
      1,
      'basic.return',
      { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'ex', routingKey: 'nowhere' },
      { messageId: 'm1', contentEncoding: 'utf-8' },
      'lost',
    );
    broker.send(1, 'basic.ack', { deliveryTag: 2, multiple: true });
    const err = await p;
    expect(err).toBeInstanceOf(NoRoute);
    expect(err).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE' });
    const msg = (err as NoRoute & { returnedMessage?: Message }).returnedMessage;
    expect(msg?.body).toBe('lost');
    expect(msg?.properties.messageId).toBe('m1');
    expect(msg?.deliveryInfo).toMatchObject({ exchange: 'ex', routingKey: 'nowhere', replyCode: 312 });
    await expect(ok).resolves.toBeUndefined();
    expect(returned).toHaveBeenCalledTimes(1);
    expect(ch.returnedMessages).toHaveLength(1);
  });

  it('waitForConfirms waits for every outstanding publish', async () => {
    const { broker, ch } = await setup();
    await expect(ch.waitForConfirms()).rejects.toBeInstanceOf(ArgumentError);
    await confirmMode(ch, broker);
    await expect(ch.waitForConfirms()).resolves.toBeUndefined();
    const ps = [ch.basicPublish(new Message('a')), ch.basicPublish(new Message('b'))];
    let done = false;
    const all = ch.waitForConfirms().then(() => {
      done = true;
    });
    await broker.expectContent(1);
    await broker.expectContent(1);
    broker.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await tick();
    expect(done).toBe(false);
    broker.send(1, 'basic.ack', { deliveryTag: 2, multiple: false });
    await all;
    await Promise.all(ps);
  });

  it('maxUnconfirmed: a publish waits until the window has room', async () => {
    const { broker, ch } = await setup();
    await confirmMode(ch, broker, 2);
    const ps = ['1', '2', '3'].map((s) => ch.basicPublish(new Message(s)));
    await broker.expectContent(1);
    await broker.expectContent(1);
    await broker.expectNothing(30);
    broker.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    expect((await broker.expectContent(1)).body.toString()).toBe('3');
    broker.send(1, 'basic.ack', { deliveryTag: 3, multiple: true });
    await Promise.all(ps);
  });

  it('maxUnconfirmed: waiting publishes keep their call order', async () => {
    const { broker, ch } = await setup();
    await confirmMode(ch, broker, 2);
    const ps = ['1', '2', '3'].map((s) => ch.basicPublish(new Message(s)));
    const p4 = (ps[0] as Promise<void>).then(() => ch.basicPublish(new Message('4'))); // e.g. a producer refilling the window
    await broker.expectContent(1);
    await broker.expectContent(1);
    broker.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    const third = await broker.expectContent(1);
    broker.send(1, 'basic.ack', { deliveryTag: 3, multiple: true });
    const fourth = await broker.expectContent(1);
    broker.send(1, 'basic.ack', { deliveryTag: 4, multiple: true });
    await Promise.all([...ps, p4]);
    expect([third.body.toString(), fourth.body.toString()]).toEqual(['3', '4']);
  });
});

describe('channel.flow from the server', () => {
  it('flow(false) is answered with flow-ok and holds publishes until flow(true)', async () => {
    const { broker, ch } = await setup();
    broker.send(1, 'channel.flow', { active: false });
    expect((await broker.expect('channel.flow-ok', 1)).args.active).toBe(false);
    const p = ch.basicPublish(new Message('paused'));
    await broker.expectNothing(30);
    broker.send(1, 'channel.flow', { active: true });
    expect((await broker.expect('channel.flow-ok', 1)).args.active).toBe(true);
    expect((await broker.expectContent(1)).body.toString()).toBe('paused');
    await p;
  });
});

describe('inbound deliveries', () => {
  it('a delivery split into 1-byte chunks still assembles', async () => {
    const { broker, ch } = await setup();
    const got: Message[] = [];
    await consume(ch, broker, (m) => {
      got.push(m);
    });
    const bytes = broker.encodeContent(
      1,
      'basic.deliver',
      deliverArgs(1),
      { contentType: 'text/plain', contentEncoding: 'utf-8', priority: 3 },
      'chunked délivery',
    );
    broker.sendChunks(bytes, 1);
    for (let i = 0; i < 100 && got.length === 0; i++) await tick();
    expect(got).toHaveLength(1);
    expect(got[0]?.body).toBe('chunked délivery');
    expect(got[0]?.properties).toEqual({ contentType: 'text/plain', contentEncoding: 'utf-8', priority: 3 });
    expect(got[0]?.deliveryInfo).toMatchObject({ consumerTag: 'ct', deliveryTag: 1, exchange: 'ex', routingKey: 'rk' });
  });

  it('a body spanning several frames (and odd socket chunks) reassembles exactly', async () => {
    const { broker, ch } = await setup({ frameMax: 8192 });
    const got: Message[] = [];
    await consume(ch, broker, (m) => {
      got.push(m);
    });
    const body = pattern(50000);
    broker.sendContent(1, 'basic.deliver', deliverArgs(1), {}, body);
    broker.sendChunks(broker.encodeContent(1, 'basic.deliver', deliverArgs(2), {}, body), [3, 5000, 8191, 1, 9000, 7]);
    broker.sendContent(1, 'basic.deliver', deliverArgs(3), {}, Buffer.alloc(0));
    for (let i = 0; i < 100 && got.length < 3; i++) await tick();
    expect(got.map((m) => m.deliveryTag)).toEqual([1, 2, 3]);
    expect(Buffer.isBuffer(got[0]?.body) && got[0].body.equals(body)).toBe(true);
    expect(Buffer.isBuffer(got[1]?.body) && got[1].body.equals(body)).toBe(true);
    expect((got[2]!.body as Buffer).length).toBe(0);
    got[1]?.ack();
    expect((await broker.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: 2, multiple: false });
  });

  it('a server basic.cancel calls onCancel with ConsumerCancelled and answers cancel-ok', async () => {
    const { broker, ch } = await setup();
    const onCancel = jest.fn<(e: unknown) => void>();
    const cancelEvents: string[] = [];
    ch.on('cancel', (tag) => cancelEvents.push(tag));
    await consume(ch, broker, () => {}, onCancel);
    broker.send(1, 'basic.cancel', { consumerTag: 'ct', nowait: false });
    expect((await broker.expect('basic.cancel-ok', 1)).args.consumerTag).toBe('ct');
    await tick();
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(onCancel.mock.calls[0]?.[0]).toBeInstanceOf(ConsumerCancelled);
    expect(cancelEvents).toEqual(['ct']);
  });

  it('a callback that throws, or rejects, reaches callbackError and later deliveries still arrive', async () => {
    const { broker, ch } = await setup();
    const seen: number[] = [];
    const errors: Array<[unknown, number]> = [];
    ch.on('callbackError', (err, msg) => errors.push([err, msg.deliveryTag]));
    await consume(ch, broker, async (m) => {
      seen.push(m.deliveryTag);
      if (m.deliveryTag === 1) throw new Error('sync-ish boom');
      if (m.deliveryTag === 2) {
        await tick(1);
        throw new Error('async boom');
      }
    });
    const syncThrower = jest.fn(() => {
      throw new Error('plain throw');
    });
    await Promise.all([
      ch.basicConsume('q2', { consumerTag: 'ct2', callback: syncThrower }),
      broker.expect('basic.consume', 1).then(() => broker.send(1, 'basic.consume-ok', { consumerTag: 'ct2' })),
    ]);
    for (const tag of [1, 2, 3]) broker.sendContent(1, 'basic.deliver', deliverArgs(tag), {}, 'x');
    broker.sendContent(1, 'basic.deliver', { ...deliverArgs(4), consumerTag: 'ct2' }, {}, 'y');
    broker.sendContent(1, 'basic.deliver', deliverArgs(5), {}, 'z');
    for (let i = 0; i < 100 && errors.length < 3; i++) await tick();
    await tick(20);
    expect(seen).toEqual([1, 2, 3, 5]);
    expect(errors.map(([e, tag]) => [(e as Error).message, tag])).toEqual(
      expect.arrayContaining([
        ['sync-ish boom', 1],
        ['async boom', 2],
        ['plain throw', 4],
      ]),
    );
    expect(errors).toHaveLength(3);
    expect(syncThrower).toHaveBeenCalledTimes(1);
    expect(broker.received.map((m) => m.name)).not.toContain('basic.ack');
  });
});
