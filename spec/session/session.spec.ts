// Session against the scripted broker: windows as prefetch and confirm window, handleMax, onAttach
// values, sender and receiver links, mgmtRequest (what it sends, status handling, timeouts, bad
// input refused before anything is sent), destroy.
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AMQPError,
  ArgumentError,
  ChannelClosed,
  DIRECT_REPLY_TO,
  ManagementError,
  Message,
  NotFound,
  PublishNacked,
  Session,
  SessionLinkLimitError,
  type SessionLinkProperties,
  Timeout,
} from '../../lib/index.js';
import { AutoBroker } from '../rpc/auto-broker.js';
import { connectFake, installGuards } from '../support/fake-broker.js';

installGuards();

type Attach = [string, string, SessionLinkProperties, AMQPError | undefined];

async function setup(opts: ConstructorParameters<typeof Session>[1] = {}): Promise<{ ab: AutoBroker; s: Session; attaches: Attach[] }> {
  const { broker, conn } = await connectFake();
  const ab = new AutoBroker(broker).start();
  const attaches: Attach[] = [];
  const s = new Session(conn, { onAttach: (...a) => attaches.push(a), ...opts });
  return { ab, s, attaches };
}

const settle = <T>(p: Promise<T>): Promise<T | unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

describe('Session', () => {
  it('refuses bad arguments in the constructor', async () => {
    const { broker, conn } = await connectFake();
    new AutoBroker(broker).start();
    for (const o of [
      { incomingWindow: 0 },
      { incomingWindow: 70000 },
      { outgoingWindow: -1 },
      { handleMax: 0 },
      { onAttach: 3 },
      { timeout: -5 },
    ]) {
      expect(() => new Session(conn, o as never)).toThrow(ArgumentError);
    }
    expect(() => new Session({} as never)).toThrow(ArgumentError);
  });

  it('opens one channel with the incoming window as consumer prefetch and the outgoing window as confirm window', async () => {
    const { ab, s } = await setup({ incomingWindow: 7, outgoingWindow: 3 });
    expect(s.channel).toBeUndefined();
    await s.open();
    await s.open();
    expect(ab.sent('channel.open')).toHaveLength(1);
    expect(ab.sent('basic.qos')[0]?.args).toMatchObject({ prefetchCount: 7, global: false });
    expect(ab.sent('confirm.select')).toHaveLength(1);
    expect(s.channel?.isOpen).toBe(true);
    expect([s.incomingWindow, s.outgoingWindow, s.handleMax]).toEqual([7, 3, undefined]);
  });

  it('a sender checks its target on a channel of its own, reports the attach, and publishes confirmed on the session channel', async () => {
    const { ab, s, attaches } = await setup();
    const sender = await s.createSender('/queues/orders');
    const sessionCh = s.channel?.channelId;
    const check = ab.sent('queue.declare')[0];
    expect(check?.args).toMatchObject({ queue: 'orders', passive: true });
    expect(check?.channel).not.toBe(sessionCh);
    expect(attaches).toEqual([[sender.name, '/queues/orders', { exchange: '', routingKey: 'orders', mandatory: true }, undefined]]);
    await sender.send(new Message('hello'));
    expect(ab.published[0]?.m.args).toMatchObject({ exchange: '', routingKey: 'orders', mandatory: true });
    expect(ab.published[0]?.m.channel).toBe(sessionCh);
    ab.onPublish = (p) => ab.nack(p.m.channel, p.seq);
    await expect(sender.send('again')).rejects.toBeInstanceOf(PublishNacked);
  });

  it('a sender to a missing exchange fails its attach with NotFound, frees the handle and leaves the session channel alone', async () => {
    const { ab, s, attaches } = await setup({ handleMax: 1 });
    ab.missing.add('exchange:nope');
    const err = await settle(s.createSender('/exchanges/nope/key'));
    expect(err).toBeInstanceOf(NotFound);
    expect(attaches[0]?.[3]).toBe(err);
    expect(attaches[0]?.[2]).toEqual({ exchange: 'nope', routingKey: 'key', mandatory: true });
    expect(s.linkCount).toBe(0);
    const sender = await s.createSender('/exchanges/amq.topic/a.b');
    expect(sender.node).toEqual({ kind: 'exchange', exchange: 'amq.topic', routingKey: 'a.b' });
    expect(s.channel?.isOpen).toBe(true);
  });

  it('handleMax: one link more is a SessionLinkLimitError before anything is sent; closing a link frees its handle', async () => {
    const { ab, s } = await setup({ handleMax: 2 });
    const a = await s.createSender('q1');
    await s.createReceiver('q2', { callback: () => undefined });
    expect(s.linkCount).toBe(2);
    const opened = ab.sent('channel.open').length;
    await expect(s.createSender('q3')).rejects.toBeInstanceOf(SessionLinkLimitError);
    await expect(s.createReceiver('q3', { callback: () => undefined })).rejects.toBeInstanceOf(SessionLinkLimitError);
    await expect(s.mgmtRequest(new Message('x'), 'READ')).rejects.toBeInstanceOf(SessionLinkLimitError);
    await sleep(10);
    expect(ab.sent('channel.open')).toHaveLength(opened);
    await a.close();
    await a.close();
    expect(s.linkCount).toBe(1);
    await s.createSender('q3');
    expect(s.linkCount).toBe(2);
  });

  it('a receiver consumes on the session channel, acks after its callback, rejects (no requeue) when it throws', async () => {
    const { ab, s, attaches } = await setup({ incomingWindow: 5 });
    const got: string[] = [];
    const errors: unknown[] = [];
    const r = await s.createReceiver('/queues/in', {
      callback: (m) => {
        if (String(m.body) === 'bad') throw new Error('cannot');
        got.push(String(m.body));
      },
      onError: (e) => errors.push(e),
    });
    expect(attaches.at(-1)).toEqual(['/queues/in', r.name, { queue: 'in', consumerTag: r.name, prefetch: 5 }, undefined]);
    const t1 = ab.deliver(r.name, 'good');
    const t2 = ab.deliver(r.name, 'bad');
    await ab.until(() => ab.sent('basic.ack').length === 1 && ab.sent('basic.reject').length === 1, 'the ack and the reject');
    expect(got).toEqual(['good']);
    expect(ab.sent('basic.ack')[0]?.args.deliveryTag).toBe(t1);
    expect(ab.sent('basic.reject')[0]?.args).toMatchObject({ deliveryTag: t2, requeue: false });
    expect((errors[0] as Error).message).toBe('cannot');
    await r.close();
    expect(ab.sent('basic.cancel').map((m) => m.args.consumerTag)).toEqual([r.name]);
  });

  it('a receiver of a missing queue reports the failed attach with NotFound', async () => {
    const { ab, s, attaches } = await setup();
    ab.missing.add('queue:gone');
    const err = await settle(s.createReceiver('gone', { callback: () => undefined }));
    expect(err).toBeInstanceOf(NotFound);
    expect(attaches).toEqual([['gone', '', { queue: 'gone' }, err]]);
    expect(s.linkCount).toBe(0);
  });
});

describe('Session.mgmtRequest', () => {
  async function served(opts: ConstructorParameters<typeof Session>[1] = {}) {
    const x = await setup(opts);
    const reply = async (headers: Record<string, unknown>, body = ''): Promise<void> => {
      const tag = await x.ab.consumerOn(DIRECT_REPLY_TO);
      await x.ab.until(() => x.ab.published.length > 0, 'a request');
      const req = x.ab.published.shift();
      x.ab.deliver(tag, body, { correlationId: req?.m.properties.correlationId, applicationHeaders: headers as never });
    };
    return { ...x, reply };
  }

  it('sends the message to $management with operation, type, a correlation id and direct reply-to; resolves with a 2xx response', async () => {
    const { ab, s, reply, attaches } = await served();
    const p = s.mgmtRequest(new Message('body', { applicationHeaders: { name: 'q1' } }), 'READ', { opType: 'com.example:queue' });
    await ab.until(() => ab.published.length === 1, 'the request');
    const req = ab.published[0]?.m;
    expect(req?.args).toMatchObject({ exchange: '', routingKey: '$management', mandatory: true });
    expect(req?.properties.applicationHeaders).toEqual({ name: 'q1', operation: 'READ', type: 'com.example:queue' });
    expect(req?.properties.replyTo).toBe(DIRECT_REPLY_TO);
    expect(req?.properties.correlationId).toBeTruthy();
    expect(ab.sent('queue.declare').find((m) => m.args.queue === '$management')?.args.passive).toBe(true);
    await reply({ statusCode: 200, statusDescription: 'OK' }, 'result');
    expect(String((await p).body)).toBe('result');
    // the reply receiver and the node's sender attach concurrently: either order
    expect(attaches.map((a) => [a[0], a[3]]).sort()).toEqual([
      [DIRECT_REPLY_TO, undefined],
      [`${s.name}-mgmt-$management`, undefined],
    ]);
    expect(s.linkCount).toBe(2);
  });

  it('rejects with ManagementError for a status outside 2xx, reading the configured fields', async () => {
    const { s, reply } = await served();
    const p = settle(s.mgmtRequest(new Message(''), 'DELETE', { statusCodeField: 'status', descriptionFields: ['missing', 'reason'] }));
    await reply({ status: 404, reason: 'no such entity' });
    const err = (await p) as ManagementError;
    expect(err).toBeInstanceOf(ManagementError);
    expect([err.statusCode, err.statusDescription]).toEqual([404, 'no such entity']);
    expect(err.response).toBeInstanceOf(Message);
  });

  it('takes a numeric string status, a response without a status as success, and an unreadable one as an error', async () => {
    const { s, reply } = await served();
    const ok = s.mgmtRequest(new Message(''), 'READ');
    await reply({ statusCode: '201' });
    await expect(ok).resolves.toBeInstanceOf(Message);
    const none = s.mgmtRequest(new Message(''), 'READ');
    await reply({});
    await expect(none).resolves.toBeInstanceOf(Message);
    const weird = settle(s.mgmtRequest(new Message(''), 'READ'));
    await reply({ statusCode: 'teapot' });
    expect(((await weird) as ManagementError).statusCode).toBe(0);
  });

  it('ends with Timeout when no response comes in time', async () => {
    const { s } = await served();
    await expect(s.mgmtRequest(new Message(''), 'READ', { timeout: 50 })).rejects.toBeInstanceOf(Timeout);
  });

  it('sends operation and type as bytes in another encoding', async () => {
    const { ab, s, reply } = await served();
    const p = s.mgmtRequest(new Message(''), 'LÉS', { opType: 'é', encoding: 'latin1' });
    await ab.until(() => ab.published.length === 1, 'the request');
    const h = ab.published[0]?.m.properties.applicationHeaders;
    expect(Buffer.from(h?.['operation'] as Uint8Array)).toEqual(Buffer.from('LÉS', 'latin1'));
    expect(Buffer.from(h?.['type'] as Uint8Array)).toEqual(Buffer.from('é', 'latin1'));
    await reply({ statusCode: 200 });
    await p;
  });

  it('refuses bad input with ArgumentError before anything is sent', async () => {
    const { ab, s } = await setup();
    const m = new Message('');
    const bad: Array<Promise<unknown>> = [
      s.mgmtRequest('not a message' as unknown as Message, 'READ'),
      s.mgmtRequest(m, 42 as unknown as string),
      s.mgmtRequest(m, ''),
      s.mgmtRequest(m, 'READ', { opType: 1 as unknown as string }),
      s.mgmtRequest(m, 'READ', { node: '' }),
      s.mgmtRequest(m, 'READ', { timeout: -1 }),
      s.mgmtRequest(m, 'READ', { statusCodeField: '' }),
      s.mgmtRequest(m, 'READ', { descriptionFields: [] }),
      s.mgmtRequest(m, 'READ', { encoding: 'klingon' }),
      s.mgmtRequest(m, 'READ', { node: 'a/b' }),
    ];
    for (const p of bad) expect(await settle(p)).toBeInstanceOf(ArgumentError);
    await sleep(10);
    expect(ab.b.received.filter((x) => x.channel !== 0)).toEqual([]);
  });

  it('destroy() rejects pending requests, closes the channel, and can be called twice', async () => {
    const { ab, s } = await served();
    const p = settle(s.mgmtRequest(new Message(''), 'READ', { timeout: 10_000 }));
    await ab.until(() => ab.published.length === 1, 'the request');
    const d1 = s.destroy();
    const d2 = s.destroy();
    expect(d1).toBe(d2);
    await d1;
    expect(await p).toBeInstanceOf(ChannelClosed);
    expect(s.destroyed).toBe(true);
    expect(s.channel?.isOpen).toBe(false);
    expect(s.linkCount).toBe(0);
    await expect(s.createSender('q')).rejects.toBeInstanceOf(ChannelClosed);
    await expect(s.mgmtRequest(new Message(''), 'READ')).rejects.toBeInstanceOf(ChannelClosed);
  });
});
