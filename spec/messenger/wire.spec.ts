// The Messenger against the scripted broker: what goes on the wire for send() and recv(), how
// confirms, nacks and returns become statuses, credit as prefetch plus cancel, cumulative and
// single settling, the incoming window, losing the consuming channel, stop().
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ADDRESS_HEADER,
  ConnectionLost,
  Message,
  Messenger,
  MessengerInterrupted,
  type MessengerOptions,
  NotFound,
  StaleDelivery,
  Timeout,
  TrackerStatus,
} from '../../lib/index.js';
import { AutoBroker } from '../rpc/auto-broker.js';
import { FakeBroker, installGuards } from '../support/fake-broker.js';

installGuards();

const HOST = 'amqp://fake-host';

async function setup(options: MessengerOptions = {}): Promise<{ ab: AutoBroker; m: Messenger }> {
  const broker = new FakeBroker();
  const ab = new AutoBroker(broker).start({ handshake: true });
  const m = new Messenger('wire-test', {
    ...options,
    connectionOptions: { callTimeout: 2000, socket: broker.clientSocket, ...options.connectionOptions },
  });
  m.timeout = 2000;
  await m.start();
  return { ab, m };
}

function msg(address: string, subject?: string, body: string | Buffer = 'x'): Message {
  const m = new Message(body);
  m.address = address;
  if (subject !== undefined) m.subject = subject;
  return m;
}

describe('Messenger send()', () => {
  it('publishes mandatory with the rewritten address and the subject, names the connection, and the ack is ACCEPTED', async () => {
    const { ab, m } = await setup();
    m.outgoingWindow = 10;
    const t = m.put(msg('amqp://user:pw@fake-host/orders', 'Hello World 0'));
    expect(m.status(t)).toBe(TrackerStatus.PENDING);
    await m.send();
    expect(m.outgoing).toBe(0);
    expect(m.status(t)).toBe(TrackerStatus.ACCEPTED);
    const p = ab.published[0]?.m;
    expect(p?.args).toMatchObject({ exchange: '', routingKey: 'orders', mandatory: true });
    expect(p?.properties.applicationHeaders).toMatchObject({ [ADDRESS_HEADER]: 'amqp://fake-host/orders', subject: 'Hello World 0' });
    const startOk = ab.sent('connection.start-ok')[0];
    expect(startOk?.args.clientProperties['connection_name']).toBe('wire-test');
    await m.stop();
  });

  it('keeps its own copy: changing the message after put() changes nothing that is sent', async () => {
    const { ab, m } = await setup();
    const body = Buffer.from('original');
    const original = new Message(body, { applicationHeaders: { nested: { k: 'v' } } });
    original.address = `${HOST}/q`;
    m.put(original);
    body.write('CHANGED!');
    (original.properties.applicationHeaders?.['nested'] as Record<string, string>)['k'] = 'changed';
    original.address = `${HOST}/elsewhere`;
    await m.send();
    const p = ab.published[0]?.m;
    expect(String(p?.body)).toBe('original');
    expect(p?.properties.applicationHeaders?.['nested']).toEqual({ k: 'v' });
    expect(p?.args.routingKey).toBe('q');
    await m.stop();
  });

  it('a nack is REJECTED, a returned mandatory message RELEASED (the ack after the return does not win)', async () => {
    const { ab, m } = await setup();
    m.outgoingWindow = 10;
    ab.onPublish = (p) => {
      if (p.m.args.routingKey === 'full') ab.nack(p.m.channel, p.seq);
      else if (p.m.args.routingKey === 'nowhere') {
        ab.returnMessage(p);
        ab.ack(p.m.channel, p.seq);
      } else ab.ack(p.m.channel, p.seq);
    };
    const [full, nowhere, fine] = ['full', 'nowhere', 'fine'].map((q) => m.put(msg(`${HOST}/${q}`)));
    await m.send();
    expect([full, nowhere, fine].map((t) => m.status(t as never))).toEqual([
      TrackerStatus.REJECTED,
      TrackerStatus.RELEASED,
      TrackerStatus.ACCEPTED,
    ]);
    await m.stop();
  });

  it('checks an exchange once per connection; a missing one is REJECTED without publishing', async () => {
    const { ab, m } = await setup();
    m.outgoingWindow = 10;
    ab.missing.add('exchange:nope');
    const bad = m.put(msg(`${HOST}/exchanges/nope/k`));
    const good = [m.put(msg(`${HOST}/exchanges/logs`, 'info.x')), m.put(msg(`${HOST}/exchanges/logs/fixed`))];
    await m.send();
    expect(m.status(bad)).toBe(TrackerStatus.REJECTED);
    expect(good.map((t) => m.status(t))).toEqual([TrackerStatus.ACCEPTED, TrackerStatus.ACCEPTED]);
    expect(ab.published.map((p) => [p.m.args.exchange, p.m.args.routingKey])).toEqual([
      ['logs', 'info.x'],
      ['logs', 'fixed'],
    ]);
    expect(ab.sent('exchange.declare').map((d) => d.args.exchange)).toEqual(['nope', 'logs']);
    await m.stop();
  });

  it('send(n) sends the first n; a rewrite rule sets the address the receiver sees', async () => {
    const { ab, m } = await setup();
    m.rewrite(`${HOST}/*`, 'amqp://public/$1');
    m.put(msg(`${HOST}/a`));
    m.put(msg(`${HOST}/b`));
    await m.send(1);
    expect(m.outgoing).toBe(1);
    expect(ab.published.map((p) => p.m.properties.applicationHeaders?.[ADDRESS_HEADER])).toEqual(['amqp://public/a']);
    await m.send(-1);
    expect(m.outgoing).toBe(0);
    await m.stop();
  });

  it('times out waiting for confirms (the status comes later); non-blocking send returns at once and work() waits', async () => {
    const { ab, m } = await setup();
    m.outgoingWindow = 10;
    const held: Array<() => void> = [];
    ab.onPublish = (p) => held.push(() => ab.ack(p.m.channel, p.seq));
    m.timeout = 50;
    const t1 = m.put(msg(`${HOST}/q`));
    await expect(m.send()).rejects.toBeInstanceOf(Timeout);
    expect(m.status(t1)).toBe(TrackerStatus.PENDING);
    m.blocking = false;
    const t2 = m.put(msg(`${HOST}/q`));
    await m.send();
    expect(m.status(t2)).toBe(TrackerStatus.PENDING);
    await ab.until(() => held.length === 2, 'both publishes');
    for (const f of held) f();
    while (m.status(t2) === TrackerStatus.PENDING) await m.work(1000);
    expect([m.status(t1), m.status(t2)]).toEqual([TrackerStatus.ACCEPTED, TrackerStatus.ACCEPTED]);
    await m.stop();
  });

  it('a broker that cannot be reached: the messages go back to the queue; a blocking send() raises the error, a non-blocking one leaves it to work()', async () => {
    const m = new Messenger('unreachable', {
      connectionOptions: {
        socket: () => {
          throw new ConnectionLost('scripted: connection refused');
        },
      },
    });
    await m.start();
    const t = m.put(msg(`${HOST}/q`));
    m.put(msg(`${HOST}/q`));
    await expect(m.send()).rejects.toBeInstanceOf(ConnectionLost);
    expect(m.outgoing).toBe(2);
    m.blocking = false;
    await m.send(1);
    // work() sends what is queued (true: work was done) and raises what failed in the background
    let err: unknown;
    for (let i = 0; i < 5 && err === undefined; i++) await m.work(200).catch((e: unknown) => (err = e));
    expect(err).toBeInstanceOf(ConnectionLost);
    await sleep(20);
    expect(m.outgoing).toBe(2);
    expect(m.get()).toBeNull();
    m.outgoingWindow = 0;
    expect(m.status(t)).toBe(TrackerStatus.UNKNOWN);
    await m.stop();
  });

  it('stop() ends a waiting send with MessengerInterrupted; unconfirmed messages become SETTLED', async () => {
    const { ab, m } = await setup();
    m.outgoingWindow = 10;
    ab.onPublish = () => undefined;
    const t = m.put(msg(`${HOST}/q`));
    const sending = m.send().then(
      () => null,
      (e: unknown) => e,
    );
    await ab.until(() => ab.published.length === 1, 'the publish');
    await m.stop();
    expect(await sending).toBeInstanceOf(MessengerInterrupted);
    await sleep(10);
    expect(m.status(t)).toBe(TrackerStatus.SETTLED);
    expect(ab.sent('connection.close')).toHaveLength(1);
  });
});

describe('Messenger recv() and get()', () => {
  it('grants credit as prefetch, flushes after consume-ok, stops consuming once n arrived, and get() accepts at once with window 0', async () => {
    const { ab, m } = await setup();
    m.subscribe(`${HOST}/in`);
    const receiving = m.recv(2);
    const tag = await ab.consumerOn('in');
    const names = () => ab.b.received.map((x) => x.name).filter((n) => n.startsWith('basic.'));
    await ab.until(() => names().filter((n) => n === 'basic.qos').length === 2, 'the flush');
    expect(names()).toEqual(['basic.qos', 'basic.consume', 'basic.qos']);
    expect(ab.sent('basic.qos')[0]?.args).toMatchObject({ prefetchCount: 2, global: false });
    expect(ab.sent('queue.declare').find((d) => d.args.queue === 'in')?.args.passive).toBe(true);
    for (const i of [0, 1, 2]) ab.deliver(tag, `m${i}`, { applicationHeaders: { [ADDRESS_HEADER]: `${HOST}/in`, subject: `s${i}` } });
    await receiving;
    await ab.until(() => ab.sent('basic.cancel').length === 1 && m.incoming === 3, 'the cancel');
    const got = new Message();
    const t = m.get(got);
    expect([got.subject, got.address, String(got.body)]).toEqual(['s0', `${HOST}/in`, 'm0']);
    expect(t?.message).toBe(got);
    expect(m.status(t as never)).toBe(TrackerStatus.UNKNOWN); // accepted as it fell out of the window
    await ab.until(() => ab.sent('basic.ack').length === 1, 'the ack');
    expect(ab.sent('basic.ack')[0]?.args).toMatchObject({ deliveryTag: 1, multiple: false });
    await m.stop();
  });

  it('a message without the address header gets one made from where it came from', async () => {
    const { ab, m } = await setup();
    m.subscribe('amqp://user:pw@fake-host/in');
    const receiving = m.recv(-1);
    const tag = await ab.consumerOn('in');
    expect(ab.sent('basic.qos')[0]?.args.prefetchCount).toBe(1024);
    ab.deliver(tag, 'plain', {}, { exchange: 'ex', routingKey: 'rk' });
    await receiving;
    expect(m.get()?.message?.address).toBe('amqp://fake-host/exchanges/ex/rk');
    await m.stop();
  });

  it('cumulative accept is one multiple ack per channel; single accept and reject settle one; reject() cumulates as nack', async () => {
    const { ab, m } = await setup();
    m.incomingWindow = 10;
    m.subscribe(`${HOST}/in`);
    const receiving = m.recv(-1);
    const tag = await ab.consumerOn('in');
    for (let i = 0; i < 6; i++) ab.deliver(tag, `m${i}`);
    await receiving;
    await ab.until(() => m.incoming === 6, 'six messages');
    const t = [0, 1, 2].map(() => m.get());
    m.reject(t[1] as never);
    m.accept();
    await ab.until(() => ab.sent('basic.reject').length === 1 && ab.sent('basic.ack').length === 1, 'the reject and the ack');
    expect(ab.sent('basic.reject')[0]?.args).toMatchObject({ deliveryTag: 2, requeue: false });
    expect(ab.sent('basic.ack').map((a) => a.args)).toEqual([{ deliveryTag: 3, multiple: true }]);
    expect(t.map((x) => m.status(x as never))).toEqual([TrackerStatus.ACCEPTED, TrackerStatus.REJECTED, TrackerStatus.ACCEPTED]);
    const u = [0, 1, 2].map(() => m.get());
    m.accept(u[0] as never);
    m.reject();
    await ab.until(() => ab.sent('basic.ack').length === 2 && ab.sent('basic.nack').length === 1, 'the ack and the nack');
    expect(ab.sent('basic.ack').at(-1)?.args).toEqual({ deliveryTag: 4, multiple: false });
    expect(ab.sent('basic.nack').map((a) => a.args)).toEqual([{ deliveryTag: 6, multiple: true, requeue: false }]);
    expect(u.map((x) => m.status(x as never))).toEqual([TrackerStatus.ACCEPTED, TrackerStatus.REJECTED, TrackerStatus.REJECTED]);
    m.accept(); // all settled already: nothing more is sent
    await sleep(10);
    expect(ab.sent('basic.ack')).toHaveLength(2);
    await m.stop();
  });

  it('the incoming window: the oldest unsettled delivery is accepted as it falls out; settle() releases one', async () => {
    const { ab, m } = await setup();
    m.incomingWindow = 1;
    m.subscribe(`${HOST}/in`);
    const receiving = m.recv(3);
    const tag = await ab.consumerOn('in');
    for (let i = 0; i < 3; i++) ab.deliver(tag, `m${i}`);
    await receiving;
    await ab.until(() => m.incoming === 3, 'three messages');
    const t0 = m.get();
    const t1 = m.get();
    expect(m.status(t0 as never)).toBe(TrackerStatus.UNKNOWN);
    expect(m.status(t1 as never)).toBe(TrackerStatus.PENDING);
    await ab.until(() => ab.sent('basic.ack').length === 1, 'the implicit ack');
    expect(ab.sent('basic.ack').map((a) => a.args.deliveryTag)).toEqual([1]);
    m.settle(t1 as never);
    expect(m.status(t1 as never)).toBe(TrackerStatus.UNKNOWN);
    await ab.until(() => ab.sent('basic.reject').length === 1, 'the release');
    expect(ab.sent('basic.reject').map((a) => a.args)).toEqual([{ deliveryTag: 2, requeue: true }]);
    await m.stop();
  });

  it('when the consuming channel fails, waiting deliveries leave the queue and taken unsettled ones become RELEASED', async () => {
    const { ab, m } = await setup();
    m.incomingWindow = 5;
    m.subscribe(`${HOST}/in`);
    const receiving = m.recv(-1);
    const tag = await ab.consumerOn('in');
    for (let i = 0; i < 3; i++) ab.deliver(tag, `m${i}`);
    await receiving;
    await ab.until(() => m.incoming === 3, 'three messages');
    const t = m.get();
    const ch = ab.consumers.get(tag)?.channel as number;
    ab.closeChannel(ch, 406, 'PRECONDITION_FAILED - test');
    await ab.until(() => m.incoming === 0, 'the purge');
    expect(m.status(t as never)).toBe(TrackerStatus.RELEASED);
    expect(() => m.accept(t as never)).not.toThrow(); // already settled: nothing to do
    await ab.consumerOn('in'); // the core restored the consumer with the channel
    await m.stop();
  });

  it('accepting a delivery whose channel closed meanwhile throws StaleDelivery and marks it RELEASED', async () => {
    const { ab, m } = await setup();
    m.incomingWindow = 5;
    m.subscribe(`${HOST}/in`);
    const receiving = m.recv(-1);
    const tag = await ab.consumerOn('in');
    ab.deliver(tag, 'm0');
    await receiving;
    const t = m.get();
    const inCh = [...ab.consumers.values()][0]?.channel as number;
    // the channel reopens under the delivery before the Messenger hears of it
    (m as unknown as { host: { lost: unknown } }).host.lost = () => undefined;
    ab.closeChannel(inCh, 406, 'PRECONDITION_FAILED - test');
    await ab.until(() => ab.sent('channel.close-ok').length === 1, 'the close-ok');
    expect(() => m.accept(t as never)).toThrow(StaleDelivery);
    expect(m.status(t as never)).toBe(TrackerStatus.RELEASED);
    await m.stop();
  });

  it('a missing queue fails recv() with NotFound saying the Messenger declares nothing, and drops the subscription', async () => {
    const { ab, m } = await setup();
    ab.missing.add('queue:absent');
    m.subscribe(`${HOST}/absent`);
    const err = await m.recv(1).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotFound);
    expect((err as Error).message).toMatch(/declares nothing unless/);
    await expect(m.recv(1)).rejects.toThrow(/subscribe/);
    await m.stop();
  });

  it('with the declare option, queues are declared (with its options) before use', async () => {
    const { ab, m } = await setup({ declare: { durable: true } });
    m.subscribe(`${HOST}/made`);
    m.put(msg(`${HOST}/made`));
    await m.send();
    const r = m.recv(1);
    await ab.consumerOn('made');
    m.interrupt();
    await expect(r).rejects.toBeInstanceOf(MessengerInterrupted);
    const d = ab.sent('queue.declare').filter((x) => x.args.queue === 'made');
    expect(d).toHaveLength(1);
    expect(d[0]?.args).toMatchObject({ passive: false, durable: true });
    await m.stop();
  });

  it('an exchange subscription consumes a private queue bound with the key (# without one)', async () => {
    const { ab, m } = await setup();
    m.subscribe(`${HOST}/exchanges/logs/error.*`);
    m.subscribe(`${HOST}/exchanges/all`);
    m.timeout = 0;
    await expect(m.recv(-1)).rejects.toBeInstanceOf(Timeout);
    await ab.until(() => ab.sent('basic.consume').length === 2, 'two consumers');
    const binds = ab.sent('queue.bind').map((b) => [b.args.exchange, b.args.routingKey]);
    expect(binds).toEqual([
      ['logs', 'error.*'],
      ['all', '#'],
    ]);
    const declared = ab.sent('queue.declare').filter((d) => d.args.exclusive);
    expect(declared.map((d) => d.args.queue)).toEqual(ab.sent('queue.bind').map((b) => b.args.queue));
    await m.stop();
  });
});
