/**
 * Automatic recovery, driven by the scripted FakeBroker: every connection attempt gets a new fake
 * broker from `SocketFactory.socket` (the `socket: () => Duplex` option), and the test plays the
 * broker side of the reconnect step by step.
 */
import { describe, expect, it } from '@jest/globals';
import { REPUBLISHED_HEADER } from '../../lib/channel/types.js';
import {
  type AMQPError,
  ConnectionForced,
  ConnectionLost,
  FrameError,
  InternalError,
  IrrecoverableConnectionError,
  NotAllowed,
  PreconditionFailed,
  PublishBufferFull,
  PublishNacked,
  StaleDelivery,
  Timeout,
} from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { startsRecovery } from '../../lib/recovery/reconnect.js';
import type { Topology, TopologyEntity } from '../../lib/recovery/topology.js';
import type { Connection } from '../../lib/connection/connection.js';
import type { ReceivedContent } from '../support/fake-broker.js';
import {
  setup,
  serve,
  openChannel,
  rpc,
  rejection,
  track,
  once,
  tick,
  declareOk,
  deliver,
  sorted,
  logEvents,
} from '../support/recovery-harness.js';

/** What the connection recorded for recovery (private state, read by these white-box specs). */
const topologyOf = (c: Connection): Topology => (c as unknown as { s: { topology: Topology } }).s.topology;

describe('recovery after the socket dies', () => {
  it('redeclares the topology in order, reopens channel ids with qos/mode/consumers and republishes unconfirmed messages', async () => {
    const { f, conn, b1 } = await setup();
    const events = logEvents(conn);
    const ch1 = await openChannel(conn, b1, 1);
    const ch2 = await openChannel(conn, b1, 2);
    await rpc(b1, 1, ch1.exchangeDeclare('x', 'topic', { durable: true }), 'exchange.declare', 'exchange.declare-ok', {});
    await rpc(
      b1,
      1,
      ch1.exchangeDeclare('x2', 'fanout', { autoDelete: false, arguments: { 'alternate-exchange': 'ae' } }),
      'exchange.declare',
      'exchange.declare-ok',
      {},
    );
    await rpc(b1, 1, ch1.exchangeDeclare('amq.direct', 'direct', { durable: true }), 'exchange.declare', 'exchange.declare-ok', {});
    await rpc(
      b1,
      1,
      ch1.queueDeclare('q', { durable: true, arguments: { 'x-max-length': 100 } }),
      'queue.declare',
      'queue.declare-ok',
      declareOk('q'),
    );
    const gen = await rpc(b1, 1, ch1.queueDeclare('', { exclusive: true }), 'queue.declare', 'queue.declare-ok', declareOk('amq.gen-A'));
    expect(gen.queue).toBe('amq.gen-A');
    await rpc(b1, 1, ch1.queueBind('q', { exchange: 'x', routingKey: 'a' }), 'queue.bind', 'queue.bind-ok', {});
    await rpc(b1, 1, ch1.queueBind('amq.gen-A', { exchange: 'x', routingKey: 'b' }), 'queue.bind', 'queue.bind-ok', {});
    await rpc(b1, 1, ch1.exchangeBind('x2', 'x', { routingKey: 'c' }), 'exchange.bind', 'exchange.bind-ok', {});
    await rpc(b1, 1, ch1.basicQos({ prefetchCount: 10 }), 'basic.qos', 'basic.qos-ok', {});
    await rpc(b1, 1, ch1.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const got1: string[] = [];
    const gotGen: string[] = [];
    await rpc(
      b1,
      1,
      ch1.basicConsume('q', {
        consumerTag: 'ctag-q',
        callback: (m) => {
          got1.push(String(m.body));
        },
      }),
      'basic.consume',
      'basic.consume-ok',
      { consumerTag: 'ctag-q' },
    );
    const genTag = await rpc(
      b1,
      1,
      ch1.basicConsume('amq.gen-A', {
        callback: (m) => {
          gotGen.push(String(m.body));
        },
      }),
      'basic.consume',
      'basic.consume-ok',
      { consumerTag: 'amq.ctag-S' },
    );
    expect(genTag).toBe('amq.ctag-S');
    await rpc(b1, 2, ch2.basicQos({ prefetchCount: 5, global: true }), 'basic.qos', 'basic.qos-ok', {});
    await rpc(b1, 2, ch2.txSelect(), 'tx.select', 'tx.select-ok', {});
    await rpc(
      b1,
      2,
      ch2.basicConsume('q', { consumerTag: 'ctag-2', noAck: true, callback: () => {} }),
      'basic.consume',
      'basic.consume-ok',
      { consumerTag: 'ctag-2' },
    );

    const pubs = ['m1', 'm2', 'm3'].map((id) =>
      track(ch1.basicPublish(new Message(id, { messageId: id, applicationHeaders: { keep: 1 } }), { exchange: 'x', routingKey: 'a' })),
    );
    for (const id of ['m1', 'm2', 'm3']) expect((await b1.expectContent(1)).properties.messageId).toBe(id);
    b1.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await pubs[0]?.p;

    const disconnected = once<AMQPError>(conn, 'disconnected');
    const recovered = once<{ attempts: number; downtimeMs: number; url: string }>(conn, 'recovered');
    b1.destroy();
    expect(await disconnected).toBeInstanceOf(ConnectionLost);
    expect(conn.state).toBe('recovering');
    expect(conn.connected).toBe(false);
    // a publish during the outage waits and goes out after the republished ones
    const during = track(ch1.basicPublish(new Message('m4', { messageId: 'm4' }), { exchange: 'x', routingKey: 'a' }));

    const b2 = await f.next();
    await b2.handshake();
    // topology, on a temporary channel that is not one of the user's
    const tmp = (await serve(b2, 3, 'channel.open', 'channel.open-ok', {})).channel;
    expect(tmp).toBe(3);
    expect((await serve(b2, tmp, 'exchange.declare', 'exchange.declare-ok', {})).args).toMatchObject({
      exchange: 'x',
      type: 'topic',
      durable: true,
      passive: false,
    });
    const x2 = await serve(b2, tmp, 'exchange.declare', 'exchange.declare-ok', {});
    expect(x2.args).toMatchObject({ exchange: 'x2', type: 'fanout', durable: false, autoDelete: false });
    expect({ ...x2.args.arguments }).toEqual({ 'alternate-exchange': 'ae' });
    const q = await serve(b2, tmp, 'queue.declare', 'queue.declare-ok', declareOk('q'));
    expect(q.args).toMatchObject({ queue: 'q', durable: true, exclusive: false, passive: false });
    expect({ ...q.args.arguments }).toEqual({ 'x-max-length': 100 });
    expect((await serve(b2, tmp, 'queue.declare', 'queue.declare-ok', declareOk('amq.gen-B'))).args).toMatchObject({
      queue: '',
      exclusive: true,
    });
    const bindings: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await b2.next();
      if (m.name === 'queue.bind') {
        bindings.push(`q:${m.args.exchange}->${m.args.queue}:${m.args.routingKey}`);
        b2.send(tmp, 'queue.bind-ok', {});
      } else if (m.name === 'exchange.bind') {
        bindings.push(`x:${m.args.source}->${m.args.destination}:${m.args.routingKey}`);
        b2.send(tmp, 'exchange.bind-ok', {});
      } else throw new Error(`expected a binding, got ${m.name}`);
    }
    expect(bindings.sort()).toEqual(['q:x->amq.gen-B:b', 'q:x->q:a', 'x:x->x2:c']);
    await serve(b2, tmp, 'channel.close', 'channel.close-ok', {});
    // channel 1: same id, prefetch, confirm mode, consumers with the same tags (server-named queue renamed)
    await b2.openChannel(1);
    expect((await serve(b2, 1, 'basic.qos', 'basic.qos-ok', {})).args).toMatchObject({ prefetchCount: 10, global: false });
    await serve(b2, 1, 'confirm.select', 'confirm.select-ok', {});
    expect((await serve(b2, 1, 'basic.consume', 'basic.consume-ok', { consumerTag: 'ctag-q' })).args).toMatchObject({
      queue: 'q',
      consumerTag: 'ctag-q',
      noAck: false,
    });
    expect((await serve(b2, 1, 'basic.consume', 'basic.consume-ok', { consumerTag: 'amq.ctag-S' })).args).toMatchObject({
      queue: 'amq.gen-B',
      consumerTag: 'amq.ctag-S',
    });
    // the two unconfirmed messages again, marked; then the one published during the outage, unmarked
    const again: ReceivedContent[] = [await b2.expectContent(1), await b2.expectContent(1)];
    expect(again.map((m) => m.properties.messageId)).toEqual(['m2', 'm3']);
    for (const m of again) {
      expect(m.args).toMatchObject({ exchange: 'x', routingKey: 'a' });
      expect({ ...m.properties.applicationHeaders }).toEqual({ keep: 1, [REPUBLISHED_HEADER]: true });
    }
    // then the publish made during the outage, unmarked (new confirm session: tags 1, 2 again and 3)
    const fourth = await b2.expectContent(1);
    expect(fourth.properties.messageId).toBe('m4');
    expect(fourth.properties.applicationHeaders?.[REPUBLISHED_HEADER]).toBeUndefined();
    // channel 2: prefetch (global) and tx mode, noAck consumer
    await b2.openChannel(2);
    expect((await serve(b2, 2, 'basic.qos', 'basic.qos-ok', {})).args).toMatchObject({ prefetchCount: 5, global: true });
    await serve(b2, 2, 'tx.select', 'tx.select-ok', {});
    expect((await serve(b2, 2, 'basic.consume', 'basic.consume-ok', { consumerTag: 'ctag-2' })).args).toMatchObject({
      queue: 'q',
      consumerTag: 'ctag-2',
      noAck: true,
    });
    const info = await recovered;
    expect(info).toMatchObject({ attempts: 1 });
    expect(info.downtimeMs).toBeGreaterThanOrEqual(0);
    expect(conn.state).toBe('open');

    expect(pubs[1]?.settled()).toBe(false);
    b2.send(1, 'basic.ack', { deliveryTag: 3, multiple: true });
    await Promise.all([pubs[1]?.p, pubs[2]?.p, during.p]);

    // same objects, consumers live
    expect(conn.channels.get(1)).toBe(ch1);
    expect(conn.channels.get(2)).toBe(ch2);
    expect(ch1.mode).toBe('confirm');
    expect(ch2.mode).toBe('tx');
    deliver(b2, 1, 'ctag-q', 1, 'after');
    deliver(b2, 1, 'amq.ctag-S', 2, 'gen-after');
    await tick();
    expect(got1).toEqual(['after']);
    expect(gotGen).toEqual(['gen-after']);
    expect(sorted(events)).toEqual(['disconnected:ConnectionLost', 'reconnecting:1:0', 'recovered:1']);
    expect(f.calls).toBe(2);
  });

  it('disconnected comes before the first reconnecting, and recovered last', async () => {
    const { f, conn, b1 } = await setup();
    const events = logEvents(conn);
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await once(conn, 'recovered');
    expect(events).toEqual(['disconnected:ConnectionLost', 'reconnecting:1:0', 'recovered:1']);
  });

  it('the call in flight rejects with the cause; queued and new calls wait for recovery and proceed; channel() waits too', async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const inFlight = rejection(ch.queueDeclare('a'));
    const queued = ch.queueDeclare('b');
    await b1.expect('queue.declare', 1);
    const disconnected = once<AMQPError>(conn, 'disconnected');
    b1.destroy();
    const cause = await disconnected;
    expect(await inFlight).toBe(cause);
    expect(cause).toBeInstanceOf(ConnectionLost);
    const late = track(ch.queuePurge('b')).p;
    const newChannel = track(conn.channel());
    const b2 = await f.next();
    await tick(30);
    expect(newChannel.settled()).toBe(false);
    await b2.handshake();
    // nothing was recorded ('a' never got its declare-ok): no topology channel, straight to channel 1
    await b2.openChannel(1);
    expect((await b2.expect('queue.declare', 1)).args.queue).toBe('b');
    await b2.openChannel(2); // channel() proceeds once recovery completed
    const ch2 = await newChannel.p;
    b2.send(1, 'queue.declare-ok', declareOk('b'));
    await expect(queued).resolves.toMatchObject({ queue: 'b' });
    await serve(b2, 1, 'queue.purge', 'queue.purge-ok', { messageCount: 7 });
    await expect(late).resolves.toBe(7);
    expect(ch2.channelId).toBe(2);
    expect(conn.channels.get(1)).toBe(ch);
  });

  it('a queued call whose timeout passes during the outage rejects with Timeout and is never sent', async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    b1.destroy();
    await once(conn, 'disconnected');
    const short = rejection(ch.queueDeclare('short', { timeout: 30 }));
    const long = ch.queueDeclare('long', { timeout: 5000 });
    expect(await short).toBeInstanceOf(Timeout);
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    expect((await serve(b2, 1, 'queue.declare', 'queue.declare-ok', declareOk('long'))).args.queue).toBe('long');
    await expect(long).resolves.toMatchObject({ queue: 'long' });
    await b2.expectNothing(30);
  });

  it('a server connection.close 320 (CONNECTION_FORCED) is answered and recovered from', async () => {
    const { f, conn, b1 } = await setup();
    await openChannel(conn, b1, 1);
    const disconnected = once<AMQPError>(conn, 'disconnected');
    b1.send(0, 'connection.close', {
      replyCode: 320,
      replyText: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
      classId: 0,
      methodId: 0,
    });
    await b1.expect('connection.close-ok', 0);
    const cause = await disconnected;
    expect(cause).toBeInstanceOf(ConnectionForced);
    expect(cause.replyCode).toBe(320);
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await once(conn, 'recovered');
    expect(conn.state).toBe('open');
  });

  it('a server connection.close 541 (INTERNAL_ERROR, a node failing under its connections) is recovered from; the error stays an InternalError', async () => {
    const { f, conn, b1 } = await setup();
    await openChannel(conn, b1, 1);
    const disconnected = once<AMQPError>(conn, 'disconnected');
    b1.send(0, 'connection.close', { replyCode: 541, replyText: 'INTERNAL_ERROR', classId: 0, methodId: 0 });
    await b1.expect('connection.close-ok', 0);
    const cause = await disconnected;
    expect(cause).toBeInstanceOf(InternalError);
    expect(cause).toBeInstanceOf(IrrecoverableConnectionError); // amqpy's tree is unchanged
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await once(conn, 'recovered');
    expect(conn.state).toBe('open');
  });

  it('startsRecovery: lost sockets, 320 and 541 reconnect; access, vhost and frame errors do not', () => {
    expect(startsRecovery(new ConnectionLost('gone'))).toBe(true);
    expect(startsRecovery(new ConnectionForced('320'))).toBe(true);
    expect(startsRecovery(new InternalError('541'))).toBe(true);
    expect(startsRecovery(new NotAllowed('530'))).toBe(false);
    expect(startsRecovery(new FrameError('501'))).toBe(false);
    expect(startsRecovery(new Error('not an AMQP error'))).toBe(false);
  });

  it('refuses acks of deliveries from the dead connection (StaleDelivery, nothing sent); fresh ones work', async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const got: Message[] = [];
    await rpc(
      b1,
      1,
      ch.basicConsume('q', {
        consumerTag: 'c',
        callback: (m) => {
          got.push(m);
        },
      }),
      'basic.consume',
      'basic.consume-ok',
      { consumerTag: 'c' },
    );
    deliver(b1, 1, 'c', 1, 'old');
    await tick();
    const old = got[0] as Message;
    b1.destroy();
    await once(conn, 'disconnected');
    expect(() => old.ack()).toThrow(StaleDelivery);
    expect(() => ch.basicAck(old)).toThrow(StaleDelivery);
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await serve(b2, 1, 'basic.consume', 'basic.consume-ok', { consumerTag: 'c' });
    await once(conn, 'recovered');
    expect(() => old.ack()).toThrow(StaleDelivery);
    expect(() => old.nack()).toThrow(StaleDelivery);
    expect(() => old.reject()).toThrow(StaleDelivery);
    await b2.expectNothing(30);
    deliver(b2, 1, 'c', 1, 'new');
    await tick();
    (got[1] as Message).ack();
    expect((await b2.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: 1, multiple: false });
  });

  it('a delivery right behind basic.consume-ok on the new connection is fresh: its ack is sent, not refused', async () => {
    // RabbitMQ pushes the backlog (up to prefetch) immediately after consume-ok, usually in the same
    // TCP chunk. Refusing those acks as stale leaves them unacked on a live channel: never
    // redelivered, and with a full prefetch window the consumer stalls for good.
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const acked: string[] = [];
    const refused: unknown[] = [];
    const callback = (m: Message): void => {
      try {
        m.ack();
        acked.push(String(m.body));
      } catch (err) {
        refused.push(err);
      }
    };
    await rpc(b1, 1, ch.basicConsume('q1', { consumerTag: 'c1', callback }), 'basic.consume', 'basic.consume-ok', { consumerTag: 'c1' });
    await rpc(b1, 1, ch.basicConsume('q2', { consumerTag: 'c2', callback }), 'basic.consume', 'basic.consume-ok', { consumerTag: 'c2' });
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await b2.expect('basic.consume', 1);
    // consume-ok for c1 and a delivery to c1 in one chunk, while c2 is still to be restored
    b2.sendRaw(
      Buffer.concat([
        b2.encode(1, 'basic.consume-ok', { consumerTag: 'c1' }),
        b2.encodeContent(
          1,
          'basic.deliver',
          { consumerTag: 'c1', deliveryTag: 1, redelivered: true, exchange: '', routingKey: 'q1' },
          {},
          'first',
        ),
      ]),
    );
    await b2.expect('basic.consume', 1);
    b2.sendRaw(
      Buffer.concat([
        b2.encode(1, 'basic.consume-ok', { consumerTag: 'c2' }),
        b2.encodeContent(
          1,
          'basic.deliver',
          { consumerTag: 'c2', deliveryTag: 2, redelivered: false, exchange: '', routingKey: 'q2' },
          {},
          'second',
        ),
      ]),
    );
    await once(conn, 'recovered');
    await tick(20);
    expect(refused).toEqual([]);
    expect(acked).toEqual(['first', 'second']);
    const acks = [await b2.expect('basic.ack', 1), await b2.expect('basic.ack', 1)];
    expect(acks.map((a) => a.args.deliveryTag)).toEqual([1, 2]);
  });

  it('a republished message the new broker nacks rejects with PublishNacked', async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const p = rejection(ch.basicPublish(new Message('x'), { routingKey: 'q' }));
    await b1.expectContent(1);
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await serve(b2, 1, 'confirm.select', 'confirm.select-ok', {});
    expect((await b2.expectContent(1)).properties.applicationHeaders?.[REPUBLISHED_HEADER]).toBe(true);
    b2.send(1, 'basic.nack', { deliveryTag: 1, multiple: false, requeue: false });
    expect(await p).toBeInstanceOf(PublishNacked);
  });

  it('republish: false rejects unconfirmed publishes with the cause and publishes nothing again', async () => {
    const { f, conn, b1 } = await setup({ republish: false });
    expect(conn.republish).toBe(false);
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const p1 = rejection(ch.basicPublish(new Message('1'), { routingKey: 'q' }));
    const p2 = rejection(ch.basicPublish(new Message('2'), { routingKey: 'q' }));
    const all = rejection(ch.waitForConfirms());
    await b1.expectContent(1);
    await b1.expectContent(1);
    const disconnected = once<AMQPError>(conn, 'disconnected');
    b1.destroy();
    const cause = await disconnected;
    expect(await p1).toBe(cause);
    expect(await p2).toBe(cause);
    expect(await all).toBeInstanceOf(ConnectionLost);
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await serve(b2, 1, 'confirm.select', 'confirm.select-ok', {});
    await once(conn, 'recovered');
    await b2.expectNothing(30);
    // and publishing works again, tags from 1
    const p3 = ch.basicPublish(new Message('3'), { routingKey: 'q' });
    expect((await b2.expectContent(1)).properties.applicationHeaders?.[REPUBLISHED_HEADER]).toBeUndefined();
    b2.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await p3;
  });

  it('publishes during the outage wait in a byte-bounded buffer; beyond it they reject with PublishBufferFull', async () => {
    const { f, conn, b1 } = await setup({ publishBufferBytes: 100 });
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    b1.destroy();
    await once(conn, 'disconnected');
    const a = track(ch.basicPublish(new Message(Buffer.alloc(60, 1), { messageId: 'a' }), { routingKey: 'q' }));
    const b = track(ch.basicPublish(new Message(Buffer.alloc(40, 2), { messageId: 'b' }), { routingKey: 'q' })); // exactly full
    const c = rejection(ch.basicPublish(new Message(Buffer.alloc(1, 3)), { routingKey: 'q' }));
    expect(await c).toBeInstanceOf(PublishBufferFull);
    expect(a.settled() || b.settled()).toBe(false);
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await serve(b2, 1, 'confirm.select', 'confirm.select-ok', {});
    const sent = [await b2.expectContent(1), await b2.expectContent(1)];
    expect(sent.map((m) => [m.properties.messageId, m.body.length])).toEqual([
      ['a', 60],
      ['b', 40],
    ]);
    b2.send(1, 'basic.ack', { deliveryTag: 2, multiple: true });
    await Promise.all([a.p, b.p]);
    // the buffer was given back: another outage takes 100 bytes again
    b2.destroy();
    await once(conn, 'disconnected');
    const d = track(ch.basicPublish(new Message(Buffer.alloc(100, 4)), { routingKey: 'q' }));
    expect(await rejection(ch.basicPublish(new Message(Buffer.alloc(1, 5)), { routingKey: 'q' }))).toBeInstanceOf(PublishBufferFull);
    const b3 = await f.next();
    await b3.handshake();
    await b3.openChannel(1);
    await serve(b3, 1, 'confirm.select', 'confirm.select-ok', {});
    expect((await b3.expectContent(1)).body.length).toBe(100);
    b3.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await d.p;
  });

  it('a recorded entity the new broker refuses is reported through recoveryError and the rest goes on', async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.queueDeclare('bad'), 'queue.declare', 'queue.declare-ok', declareOk('bad'));
    await rpc(b1, 1, ch.queueDeclare('good'), 'queue.declare', 'queue.declare-ok', declareOk('good'));
    const errors: Array<{ entity: TopologyEntity; error: AMQPError }> = [];
    conn.on('recoveryError', (e) => errors.push(e));
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(2);
    await b2.expect('queue.declare', 2);
    b2.send(2, 'channel.close', {
      replyCode: 406,
      replyText: "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'bad'",
      classId: 50,
      methodId: 10,
    });
    await b2.expect('channel.close-ok', 2);
    await b2.openChannel(2); // the temporary channel reopens itself
    expect((await serve(b2, 2, 'queue.declare', 'queue.declare-ok', declareOk('good'))).args.queue).toBe('good');
    await serve(b2, 2, 'channel.close', 'channel.close-ok', {});
    await b2.openChannel(1);
    await once(conn, 'recovered');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.entity).toMatchObject({ kind: 'queue', name: 'bad' });
    expect(errors[0]?.error).toBeInstanceOf(PreconditionFailed);
  });

  it("dying again in the middle of recovery starts over; a server-named queue's consumer follows every rename", async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.queueDeclare('', { exclusive: true }), 'queue.declare', 'queue.declare-ok', declareOk('amq.gen-1'));
    await rpc(b1, 1, ch.basicConsume('amq.gen-1', { consumerTag: 'c', callback: () => {} }), 'basic.consume', 'basic.consume-ok', {
      consumerTag: 'c',
    });
    const events = logEvents(conn);
    b1.destroy();
    // attempt 1: the queue gets a new name, then the connection dies before the consumer is restored
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(2);
    await serve(b2, 2, 'queue.declare', 'queue.declare-ok', declareOk('amq.gen-2'));
    await b2.expect('channel.close', 2);
    b2.destroy();
    // attempt 2 (after the strategy's 100 ms)
    const b3 = await f.next();
    await b3.handshake();
    await b3.openChannel(2);
    expect((await serve(b3, 2, 'queue.declare', 'queue.declare-ok', declareOk('amq.gen-3'))).args.queue).toBe('');
    await serve(b3, 2, 'channel.close', 'channel.close-ok', {});
    await b3.openChannel(1);
    const consume = await b3.expect('basic.consume', 1);
    b3.send(1, 'basic.consume-ok', { consumerTag: 'c' });
    expect(consume.args).toMatchObject({ consumerTag: 'c', queue: 'amq.gen-3' });
    await once(conn, 'recovered');
    expect(sorted(events)).toEqual(['disconnected:ConnectionLost', 'reconnecting:1:0', 'reconnecting:2:100', 'recovered:2']);
    expect([...topologyOf(conn).queues.keys()]).toEqual(['amq.gen-3']);
  });

  it('an auto-delete queue whose consumers went away with a closed channel is not declared again', async () => {
    // RabbitMQ deletes an auto-delete queue when its last consumer goes, also when that is because
    // the channel closed; recovery must not resurrect it (a consumer-less queue that never goes away).
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.queueDeclare('ad', { autoDelete: true }), 'queue.declare', 'queue.declare-ok', declareOk('ad'));
    await rpc(b1, 1, ch.basicConsume('ad', { consumerTag: 'c', callback: () => {} }), 'basic.consume', 'basic.consume-ok', {
      consumerTag: 'c',
    });
    await rpc(b1, 1, ch.close(), 'channel.close', 'channel.close-ok', {});
    expect(topologyOf(conn).entities()).toEqual([]);
    const recovered = once(conn, 'recovered');
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await b2.expectNothing(100); // no topology channel, no queue.declare 'ad'
    await recovered;
  });

  it('an auto-delete queue whose last consumer was cancelled is not declared again', async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.queueDeclare('ad', { autoDelete: true }), 'queue.declare', 'queue.declare-ok', declareOk('ad'));
    await rpc(b1, 1, ch.basicConsume('ad', { consumerTag: 'c', callback: () => {} }), 'basic.consume', 'basic.consume-ok', {
      consumerTag: 'c',
    });
    await rpc(b1, 1, ch.basicCancel('c'), 'basic.cancel', 'basic.cancel-ok', { consumerTag: 'c' });
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1); // no topology channel first
    await once(conn, 'recovered');
    await b2.expectNothing(30);
  });
});
