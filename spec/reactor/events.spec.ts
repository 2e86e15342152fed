// The event mapping of the Proton layer against a scripted broker: which frames a sender and a
// receiver send when they attach, which broker frame gives which event and in which order, how
// onMessage's outcome becomes an ack / reject / nack, credit (prefetch, flow, blocked), and the
// error path of a failing handler.
import { describe, expect, it } from '@jest/globals';
import {
  ArgumentError,
  HandlerError,
  LinkClosed,
  Message,
  NodeNotFound,
  Reject,
  Release,
  type Receiver,
  type Sender,
} from '../../lib/index.js';
import { Recorder, attachReceiver, attachSender, deliver, setup, until } from './support.js';

describe('sender events', () => {
  it('attaches with channel.open, a passive queue.declare and confirm.select, then fires onSessionOpened, onLinkOpened, onSendable', async () => {
    const s = await setup();
    const sender = s.container.createSender(s.conn, 'q');
    await attachSender(s.broker);
    await until(() => s.rec.log.includes('onSendable'), 'onSendable');
    expect(s.rec.log).toEqual(['onReactorInit', 'onConnectionOpened', 'onSessionOpened', 'onLinkOpened', 'onSendable']);
    expect(s.rec.of('onSendable')[0]?.sender).toBe(sender);
    expect(sender.credit).toBe(1000);
    expect(sender.remoteTarget.address).toBe('q');
  });

  it('publishes mandatory to the default exchange; ack -> onAccepted, nack -> onRejected, return then ack -> onReleased, each then onSettled', async () => {
    const s = await setup();
    const sender = s.container.createSender(s.conn, '/queues/q');
    const ch = await attachSender(s.broker);
    const d1 = sender.send(new Message('a'));
    const d2 = sender.send(new Message('b'));
    const d3 = sender.send(new Message('c'));
    for (const body of ['a', 'b', 'c']) {
      const p = await s.broker.expectContent(ch);
      expect(p.args).toMatchObject({ exchange: '', routingKey: 'q', mandatory: true });
      expect(p.body.toString()).toBe(body);
    }
    expect(sender.credit).toBe(997);
    s.broker.send(ch, 'basic.ack', { deliveryTag: 1, multiple: false });
    s.broker.send(ch, 'basic.nack', { deliveryTag: 2, multiple: false, requeue: false });
    s.broker.sendContent(ch, 'basic.return', { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'q' }, {}, 'c');
    s.broker.send(ch, 'basic.ack', { deliveryTag: 3, multiple: false });
    await until(() => s.rec.of('onSettled').length === 3, 'three onSettled');
    const outcomes = s.rec.log.filter((m) => ['onAccepted', 'onRejected', 'onReleased', 'onSettled'].includes(m));
    expect(outcomes).toEqual(['onAccepted', 'onSettled', 'onRejected', 'onSettled', 'onReleased', 'onSettled']);
    expect(s.rec.of('onAccepted')[0]?.delivery).toBe(d1);
    expect(s.rec.of('onRejected')[0]?.delivery).toBe(d2);
    expect(s.rec.of('onReleased')[0]?.delivery).toBe(d3);
    expect([d1.remoteState, d2.remoteState, d3.remoteState]).toEqual(['accepted', 'rejected', 'released']);
    expect(d1.settled && d1.remoteSettled).toBe(true);
    expect(sender.credit).toBe(1000);
  });

  it('sends messages given before the link is attached, in order, once it is', async () => {
    const s = await setup();
    const sender = s.container.createSender(s.conn, 'q');
    sender.send(new Message('1'));
    sender.send(new Message('2'));
    expect(sender.unsettled).toBe(2);
    const ch = await attachSender(s.broker);
    expect((await s.broker.expectContent(ch)).body.toString()).toBe('1');
    expect((await s.broker.expectContent(ch)).body.toString()).toBe('2');
  });

  it('fires onSendable again when credit comes back, and not while the broker blocks publishing', async () => {
    const s = await setup();
    const rec = s.rec;
    const sender = s.container.createSender(s.conn, 'q', { window: 2 });
    rec.on['onSendable'] = (e) => {
      while (e.sender.credit > 0) e.sender.send(new Message('x'));
    };
    const ch = await attachSender(s.broker);
    await s.broker.expectContent(ch);
    await s.broker.expectContent(ch);
    expect(sender.credit).toBe(0);
    s.broker.send(0, 'connection.blocked', { reason: 'low on memory' });
    s.broker.send(ch, 'basic.ack', { deliveryTag: 2, multiple: true });
    await until(() => rec.of('onSettled').length === 2);
    expect(sender.credit).toBe(0); // blocked
    expect(rec.of('onSendable')).toHaveLength(1);
    s.broker.send(0, 'connection.unblocked', {});
    await s.broker.expectContent(ch);
    await s.broker.expectContent(ch);
    expect(rec.of('onSendable')).toHaveLength(2);
  });

  it('close() waits for the confirms in flight, then closes the channel: onLinkClosed, onSessionClosed', async () => {
    const s = await setup();
    const sender = s.container.createSender(s.conn, 'q');
    const ch = await attachSender(s.broker);
    sender.send(new Message('last'));
    sender.close();
    await s.broker.expectContent(ch);
    await s.broker.expectNothing(30);
    s.broker.send(ch, 'basic.ack', { deliveryTag: 1, multiple: false });
    await s.broker.expect('channel.close', ch);
    s.broker.send(ch, 'channel.close-ok', {});
    await until(() => s.rec.log.includes('onSessionClosed'));
    expect(s.rec.log.slice(-4)).toEqual(['onAccepted', 'onSettled', 'onLinkClosed', 'onSessionClosed']);
    expect(() => sender.send(new Message('late'))).toThrow(LinkClosed);
  });

  it('without a target, routes each message by its address, checking each new exchange first on a channel of its own', async () => {
    const s = await setup();
    const sender = s.container.createSender(s.conn, null);
    const ch = await s.broker.openChannel();
    await s.broker.expect('confirm.select', ch);
    s.broker.send(ch, 'confirm.select-ok', {});
    await until(() => sender.isOpen);
    const m1 = new Message('to q');
    m1.address = 'reply-q';
    const m2 = new Message('to x');
    m2.address = '/exchanges/x/key';
    const m3 = new Message('to x by subject');
    m3.address = '/exchanges/x';
    m3.subject = 'subj';
    const m4 = new Message('to a missing exchange');
    m4.address = '/exchanges/gone';
    const d4 = sender.send(m4);
    for (const m of [m1, m2, m3]) sender.send(m);
    expect(() => sender.send(new Message('nowhere'))).toThrow(ArgumentError);
    // 'gone' is checked first (and refused: its message is rejected, the link's channel untouched)
    const probe = await s.broker.openChannel();
    expect((await s.broker.expect('exchange.declare', probe)).args).toMatchObject({ exchange: 'gone', passive: true });
    s.broker.send(probe, 'channel.close', { replyCode: 404, replyText: "NOT_FOUND - no exchange 'gone'", classId: 40, methodId: 10 });
    await s.broker.expect('channel.close-ok', probe);
    await s.broker.openChannel(probe); // the core reopens it; the layer then closes it
    await s.broker.expect('channel.close', probe);
    s.broker.send(probe, 'channel.close-ok', {});
    expect((await s.broker.expectContent(ch)).args).toMatchObject({ exchange: '', routingKey: 'reply-q' });
    const probe2 = await s.broker.openChannel();
    expect((await s.broker.expect('exchange.declare', probe2)).args.exchange).toBe('x');
    s.broker.send(probe2, 'exchange.declare-ok', {});
    await s.broker.expect('channel.close', probe2);
    s.broker.send(probe2, 'channel.close-ok', {});
    const routes = [];
    for (let i = 0; i < 2; i++) routes.push((await s.broker.expectContent(ch)).args);
    expect(routes.map((a) => [a.exchange, a.routingKey])).toEqual([
      ['x', 'key'],
      ['x', 'subj'],
    ]);
    await until(() => d4.remoteState !== undefined);
    expect(d4.remoteState).toBe('rejected');
    expect(s.rec.of('onRejected')[0]?.error).toBeInstanceOf(NodeNotFound);
  });

  it('a missing queue ends the link: onLinkError with NodeNotFound naming it, then onLinkClosed and onSessionClosed', async () => {
    const s = await setup();
    s.container.createSender(s.conn, 'nope');
    const ch = await s.broker.openChannel();
    await s.broker.expect('queue.declare', ch);
    s.broker.send(ch, 'channel.close', { replyCode: 404, replyText: "NOT_FOUND - no queue 'nope'", classId: 50, methodId: 10 });
    await s.broker.expect('channel.close-ok', ch);
    await s.broker.openChannel(ch); // the core reopens the channel after a server close
    await s.broker.expect('channel.close', ch);
    s.broker.send(ch, 'channel.close-ok', {});
    await until(() => s.rec.log.includes('onSessionClosed'));
    const err = s.rec.of('onLinkError')[0]?.error;
    expect(err).toBeInstanceOf(NodeNotFound);
    expect(err?.message).toMatch(/queue 'nope' does not exist/);
    expect(s.rec.log.filter((m) => m.startsWith('onLink') || m === 'onSessionClosed')).toEqual([
      'onLinkError',
      'onLinkClosed',
      'onSessionClosed',
    ]);
  });
});

describe('receiver events', () => {
  it('attaches with a passive queue.declare, basic.qos (prefetch), basic.consume; a delivery -> onMessage, then basic.ack', async () => {
    const s = await setup();
    const receiver = s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    await until(() => s.rec.log.includes('onLinkOpened'));
    deliver(s.broker, ch, 1, JSON.stringify({ a: [1, 2] }), { contentType: 'application/json' });
    const ack = await s.broker.expect('basic.ack', ch);
    expect(ack.args).toMatchObject({ deliveryTag: 1, multiple: false });
    const e = s.rec.of('onMessage')[0];
    expect(e?.receiver).toBe(receiver);
    expect(e?.message.body).toEqual({ a: [1, 2] });
    expect(e?.message.address).toBe('q');
    expect(e?.delivery.settled).toBe(true);
    expect(s.rec.log).toEqual(['onReactorInit', 'onConnectionOpened', 'onSessionOpened', 'onLinkOpened', 'onMessage']);
  });

  it('Reject rejects without requeue, Release requeues, any other error requeues and reaches onError', async () => {
    const rec = new Recorder();
    const seen: unknown[] = [];
    const onError = (e: import('../../lib/index.js').Event): void => {
      seen.push(e.error);
    };
    Object.assign(rec, { onError });
    const s = await setup({ rec });
    s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    rec.on['onMessage'] = (e) => {
      const b = String(e.message.body);
      if (b === 'reject') throw new Reject('bad');
      if (b === 'release') throw new Release('later');
      if (b === 'boom') throw new Error('boom');
    };
    deliver(s.broker, ch, 1, 'reject');
    deliver(s.broker, ch, 2, 'release');
    deliver(s.broker, ch, 3, 'boom');
    deliver(s.broker, ch, 4, 'fine');
    expect((await s.broker.expect('basic.reject', ch)).args).toMatchObject({ deliveryTag: 1, requeue: false });
    expect((await s.broker.expect('basic.nack', ch)).args).toMatchObject({ deliveryTag: 2, requeue: true, multiple: false });
    expect((await s.broker.expect('basic.nack', ch)).args).toMatchObject({ deliveryTag: 3, requeue: true });
    expect((await s.broker.expect('basic.ack', ch)).args).toMatchObject({ deliveryTag: 4 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(HandlerError);
    expect((seen[0] as HandlerError).eventType).toBe('message');
    expect(((seen[0] as HandlerError).cause as Error).message).toBe('boom');
  });

  it('keeps the events of a link in order when handlers are async, acking each after its handler settled', async () => {
    const s = await setup();
    s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    const order: string[] = [];
    s.rec.on['onMessage'] = async (e) => {
      const b = String(e.message.body);
      order.push(`start ${b}`);
      await new Promise((r) => setTimeout(r, 5 * (5 - Number(b))));
      order.push(`end ${b}`);
    };
    for (let i = 1; i <= 4; i++) deliver(s.broker, ch, i, String(i));
    for (let i = 1; i <= 4; i++) expect((await s.broker.expect('basic.ack', ch)).args.deliveryTag).toBe(i);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
  });

  it('with autoAccept off nothing is acked until accept(); settle() without a state accepts; release() nacks', async () => {
    const rec = new Recorder({ autoAccept: false });
    const s = await setup({ rec });
    s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    deliver(s.broker, ch, 1, 'one');
    deliver(s.broker, ch, 2, 'two');
    deliver(s.broker, ch, 3, 'three');
    await until(() => rec.of('onMessage').length === 3);
    await s.broker.expectNothing(20);
    const [e1, e2, e3] = rec.of('onMessage');
    rec.settle(e2!.delivery);
    rec.accept(e1!.delivery);
    rec.release(e3!.delivery);
    expect((await s.broker.expect('basic.ack', ch)).args.deliveryTag).toBe(2);
    expect((await s.broker.expect('basic.ack', ch)).args.deliveryTag).toBe(1);
    expect((await s.broker.expect('basic.nack', ch)).args).toMatchObject({ deliveryTag: 3, requeue: true });
  });

  it('a handler error with no onError and no listener stops the container: run() rejects with HandlerError, the message released', async () => {
    const s = await setup();
    s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    s.rec.on['onMessage'] = () => {
      throw new TypeError('handler bug');
    };
    deliver(s.broker, ch, 1, 'x');
    expect((await s.broker.expect('basic.nack', ch)).args).toMatchObject({ deliveryTag: 1, requeue: true });
    await s.broker.expect('connection.close', 0);
    s.broker.send(0, 'connection.close-ok', {});
    const err = await s.outcome;
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).message).toMatch(/onUnhandled failed: handler bug/);
    expect(s.rec.log.slice(-3)).toEqual(['onLinkClosed', 'onSessionClosed', 'onConnectionClosed']);
  });

  it("a 'handlerError' listener takes handler errors instead; the container runs on", async () => {
    const s = await setup();
    const got: HandlerError[] = [];
    s.container.on('handlerError', (err) => got.push(err));
    s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    s.rec.on['onMessage'] = async (e) => {
      if (e.message.body === 'bad') throw new Error('nope');
    };
    deliver(s.broker, ch, 1, 'bad');
    deliver(s.broker, ch, 2, 'good');
    await s.broker.expect('basic.nack', ch);
    await s.broker.expect('basic.ack', ch);
    expect(got.map((e) => e.message)).toEqual(['onUnhandled failed: nope']);
  });

  it('with prefetch 0 it fetches nothing until flow(n), then one basic.get per credit, polling again after get-empty', async () => {
    const rec = new Recorder({ prefetch: 0 });
    const s = await setup({ rec });
    const receiver: Receiver = s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker, 'q', 0);
    await until(() => rec.log.includes('onLinkOpened'));
    await s.broker.expectNothing(40);
    receiver.flow(2);
    await s.broker.expect('basic.get', ch);
    s.broker.send(ch, 'basic.get-empty', { clusterId: '' });
    await s.broker.expect('basic.get', ch);
    s.broker.sendContent(
      ch,
      'basic.get-ok',
      { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q', messageCount: 1 },
      {},
      'm1',
    );
    await s.broker.expect('basic.get', ch);
    s.broker.sendContent(
      ch,
      'basic.get-ok',
      { deliveryTag: 2, redelivered: false, exchange: '', routingKey: 'q', messageCount: 0 },
      {},
      'm2',
    );
    await s.broker.expect('basic.ack', ch);
    await s.broker.expect('basic.ack', ch);
    await s.broker.expectNothing(60);
    expect(rec.of('onMessage').map((e) => String(e.message.body))).toEqual(['m1', 'm2']);
    expect(receiver.credit).toBe(0);
    expect(() => receiver.flow(-1)).toThrow(ArgumentError);
  });

  it('a server basic.cancel (queue deleted) is a peer close: onLinkClosing, then the link closes', async () => {
    const s = await setup();
    s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    s.broker.send(ch, 'basic.cancel', { consumerTag: 'ctag', nowait: true });
    await s.broker.expect('channel.close', ch);
    s.broker.send(ch, 'channel.close-ok', {});
    await until(() => s.rec.log.includes('onSessionClosed'));
    expect(s.rec.log.slice(-3)).toEqual(['onLinkClosing', 'onLinkClosed', 'onSessionClosed']);
  });

  it('with peerCloseIsError the same cancel is onLinkError', async () => {
    const rec = new Recorder({ peerCloseIsError: true });
    const s = await setup({ rec });
    s.container.createReceiver(s.conn, 'q');
    const ch = await attachReceiver(s.broker);
    s.broker.send(ch, 'basic.cancel', { consumerTag: 'ctag', nowait: true });
    await s.broker.expect('channel.close', ch);
    s.broker.send(ch, 'channel.close-ok', {});
    await until(() => rec.log.includes('onSessionClosed'));
    expect(rec.log.slice(-3)).toEqual(['onLinkError', 'onLinkClosed', 'onSessionClosed']);
  });
});

describe('connection events', () => {
  it('close(): the links close, then onConnectionClosed, and run() resolves', async () => {
    const s = await setup();
    const sender: Sender = s.container.createSender(s.conn, 'q');
    await attachSender(s.broker);
    await until(() => s.rec.log.includes('onSendable'));
    s.conn.close();
    await s.broker.expect('connection.close', 0);
    s.broker.send(0, 'connection.close-ok', {});
    expect(await s.outcome).toBe('resolved');
    expect(s.rec.log.slice(-3)).toEqual(['onLinkClosed', 'onSessionClosed', 'onConnectionClosed']);
    expect(sender.state).toBe('closed');
    expect(s.conn.state).toBe('closed');
  });

  it('a broker connection.close with an error and no reconnect: onConnectionError, onDisconnected, links closed, onConnectionClosed', async () => {
    const s = await setup();
    s.container.createSender(s.conn, 'q');
    await attachSender(s.broker);
    s.broker.send(0, 'connection.close', { replyCode: 320, replyText: 'CONNECTION_FORCED - bye', classId: 0, methodId: 0 });
    await s.broker.expect('connection.close-ok', 0);
    expect(await s.outcome).toBe('resolved');
    expect(s.rec.log.slice(-5)).toEqual(['onConnectionError', 'onDisconnected', 'onLinkClosed', 'onSessionClosed', 'onConnectionClosed']);
    expect(s.rec.of('onConnectionError')[0]?.error?.replyCode).toBe(320);
  });
});
