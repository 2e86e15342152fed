// Link options against a scripted broker: the declarations, bindings and consumer arguments
// each one makes, the stream check behind Copy, and the clear errors for options an address
// cannot honour (raised before anything is sent when the address alone decides).
import { describe, expect, it } from '@jest/globals';
import {
  AddressError,
  ArgumentError,
  AtMostOnce,
  Copy,
  DurableSubscription,
  DynamicNodeProperties,
  Filter,
  LinkOptionError,
  Message,
  type Receiver,
  ReceiverOption,
  Selector,
  SelectorError,
} from '../../lib/index.js';
import { parseSelector } from '../../lib/reactor/options.js';
import type { FakeBroker } from '../support/fake-broker.js';
import { Recorder, consume, deliver, setup, until } from './support.js';

/** The broker closes channel `ch` with an error; the core answers and reopens it. */
async function serverClose(broker: FakeBroker, ch: number, code: number, text: string): Promise<void> {
  broker.send(ch, 'channel.close', { replyCode: code, replyText: text, classId: 50, methodId: 10 });
  await broker.expect('channel.close-ok', ch);
  await broker.openChannel(ch);
}

/** Plays an exchange-address attach up to the bind; returns the channel and the bind's arguments. */
async function attachViaExchange(broker: FakeBroker, exchange: string, declared: Record<string, unknown>, queue = 'amq.gen-1') {
  const ch = await broker.openChannel();
  expect((await broker.expect('exchange.declare', ch)).args).toMatchObject({ exchange, passive: true });
  broker.send(ch, 'exchange.declare-ok', {});
  const qd = await broker.expect('queue.declare', ch);
  expect(qd.args).toMatchObject(declared);
  broker.send(ch, 'queue.declare-ok', { queue, messageCount: 0, consumerCount: 0 });
  const bind = await broker.expect('queue.bind', ch);
  broker.send(ch, 'queue.bind-ok', {});
  return { ch, bind: bind.args };
}

describe('receiver options on an exchange address', () => {
  it('Copy binds a private (exclusive, auto-delete, server-named) queue with the routing key, then consumes it', async () => {
    const s = await setup();
    const r = s.container.createReceiver(s.conn, '/exchanges/x/k', { options: new Copy() });
    const { ch, bind } = await attachViaExchange(s.broker, 'x', {
      queue: '',
      exclusive: true,
      autoDelete: true,
      durable: false,
      passive: false,
    });
    expect(bind).toMatchObject({ queue: 'amq.gen-1', exchange: 'x', routingKey: 'k', arguments: {} });
    const c = await consume(s.broker, ch);
    expect(c).toMatchObject({ queue: 'amq.gen-1', noAck: false });
    await until(() => r.isOpen);
    expect(r.remoteSource.address).toBe('/exchanges/x/k');
    expect(r.source.distributionMode).toBe('copy');
  });

  it("Selector binds with x-match all and the selector's pairs; Filter adds binding arguments", async () => {
    const s = await setup();
    s.container.createReceiver(s.conn, '/exchanges/h', {
      options: [new Selector("colour = 'green' AND size = 'it''s L'"), new Filter({ 'x-extra': 1 })],
    });
    const { bind } = await attachViaExchange(s.broker, 'h', { queue: '', exclusive: true });
    expect(bind).toMatchObject({ routingKey: '', arguments: { 'x-match': 'all', colour: 'green', size: "it's L", 'x-extra': 1 } });
  });

  it('DurableSubscription declares <container id>:<link name> durable; detach() keeps it, close() deletes it', async () => {
    const s = await setup({ id: 'app' });
    const r1 = s.container.createReceiver(s.conn, '/exchanges/news', { name: 'sub', options: new DurableSubscription() });
    const declared = { queue: 'app:sub', durable: true, exclusive: false, autoDelete: false, passive: false };
    const a = await attachViaExchange(s.broker, 'news', declared, 'app:sub');
    await consume(s.broker, a.ch);
    await until(() => r1.isOpen);
    r1.detach();
    await s.broker.expect('basic.cancel', a.ch);
    s.broker.send(a.ch, 'basic.cancel-ok', { consumerTag: 'ctag' });
    await s.broker.expect('channel.close', a.ch);
    s.broker.send(a.ch, 'channel.close-ok', {});

    const r2 = s.container.createReceiver(s.conn, '/exchanges/news', { name: 'sub', options: new DurableSubscription() });
    const b = await attachViaExchange(s.broker, 'news', declared, 'app:sub');
    await consume(s.broker, b.ch);
    await until(() => r2.isOpen);
    r2.close();
    await s.broker.expect('basic.cancel', b.ch);
    s.broker.send(b.ch, 'basic.cancel-ok', { consumerTag: 'ctag' });
    expect((await s.broker.expect('queue.delete', b.ch)).args).toMatchObject({ queue: 'app:sub' });
    s.broker.send(b.ch, 'queue.delete-ok', { messageCount: 0 });
    await s.broker.expect('channel.close', b.ch);
  });
});

describe('declaring options', () => {
  it('DynamicNodeProperties on a queue address declares the queue (durable, with the arguments) instead of a passive check', async () => {
    const s = await setup();
    s.container.createReceiver(s.conn, 'q', { options: new DynamicNodeProperties({ 'x-queue-type': 'quorum' }) });
    const ch = await s.broker.openChannel();
    const d = await s.broker.expect('queue.declare', ch);
    expect(d.args).toMatchObject({ queue: 'q', passive: false, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  });

  it('a dynamic receiver gets a server-named exclusive queue, exposed as remoteSource.address, deleted on close()', async () => {
    const s = await setup();
    const r: Receiver = s.container.createReceiver(s.conn, null, {
      dynamic: true,
      options: new DynamicNodeProperties({ 'x-expires': 60000 }),
    });
    const ch = await s.broker.openChannel();
    const d = await s.broker.expect('queue.declare', ch);
    expect(d.args).toMatchObject({ queue: '', exclusive: true, autoDelete: true, arguments: { 'x-expires': 60000 } });
    s.broker.send(ch, 'queue.declare-ok', { queue: 'amq.gen-reply', messageCount: 0, consumerCount: 0 });
    await consume(s.broker, ch);
    await until(() => s.rec.log.includes('onLinkOpened'));
    expect(r.remoteSource.address).toBe('amq.gen-reply');
    expect(r.remoteSource.dynamic).toBe(true);
    r.close();
    await s.broker.expect('basic.cancel', ch);
    s.broker.send(ch, 'basic.cancel-ok', { consumerTag: 'ctag' });
    expect((await s.broker.expect('queue.delete', ch)).args.queue).toBe('amq.gen-reply');
  });
});

describe('settle modes', () => {
  it('AtMostOnce: the sender has no confirm.select and publishes non-mandatory with no outcome events; the receiver consumes noAck', async () => {
    const s = await setup();
    const sender = s.container.createSender(s.conn, 'q', { options: new AtMostOnce() });
    const sch = await s.broker.openChannel();
    await s.broker.expect('queue.declare', sch);
    s.broker.send(sch, 'queue.declare-ok', { queue: 'q', messageCount: 0, consumerCount: 0 });
    await until(() => sender.isOpen);
    const d = sender.send(new Message('fire and forget'));
    expect((await s.broker.expectContent(sch)).args.mandatory).toBe(false);
    await until(() => d.settled);
    s.container.createReceiver(s.conn, 'q', { options: new AtMostOnce() });
    const rch = await s.broker.openChannel();
    await s.broker.expect('queue.declare', rch);
    s.broker.send(rch, 'queue.declare-ok', { queue: 'q', messageCount: 0, consumerCount: 0 });
    expect((await consume(s.broker, rch)).noAck).toBe(true);
    deliver(s.broker, rch, 1, 'x');
    await until(() => s.rec.log.includes('onMessage'));
    await s.broker.expectNothing(30);
    expect(s.rec.log).not.toContain('onAccepted');
  });

  it('a custom ReceiverOption sets consumer arguments; one whose test() fails is not applied', async () => {
    class Priority extends ReceiverOption {
      constructor(private readonly n: number) {
        super();
      }
      apply(r: Receiver): void {
        r.consumerArguments = { ...r.consumerArguments, 'x-priority': this.n };
      }
    }
    class Never extends ReceiverOption {
      apply(r: Receiver): void {
        r.consumerArguments = { 'x-never': true };
      }
      override test(): boolean {
        return false;
      }
    }
    const s = await setup();
    s.container.createReceiver(s.conn, 'q', { options: [new Priority(7), new Never()] });
    const ch = await s.broker.openChannel();
    await s.broker.expect('queue.declare', ch);
    s.broker.send(ch, 'queue.declare-ok', { queue: 'q', messageCount: 0, consumerCount: 0 });
    expect((await consume(s.broker, ch)).arguments).toEqual({ 'x-priority': 7 });
  });
});

describe('Copy on a queue', () => {
  /** Plays the passive check and opens the probe channel; returns [link channel, probe channel]. */
  async function toProbe(broker: FakeBroker): Promise<[number, number]> {
    const ch = await broker.openChannel();
    await broker.expect('queue.declare', ch);
    broker.send(ch, 'queue.declare-ok', { queue: 's', messageCount: 0, consumerCount: 0 });
    return [ch, await broker.openChannel()];
  }

  it('checks the queue is a stream by re-declaring it as one, then consumes from the first offset and fires onDrained when quiet', async () => {
    const s = await setup();
    const r = s.container.createReceiver(s.conn, 's', { options: new Copy({ drainTimeout: 200 }) });
    const [ch, probe] = await toProbe(s.broker);
    const d1 = await s.broker.expect('queue.declare', probe);
    expect(d1.args).toMatchObject({ queue: 's', durable: true, passive: false, arguments: { 'x-queue-type': 'stream' } });
    // a stream with an argument the probe lacks: the broker names it, the probe adopts it
    await serverClose(
      s.broker,
      probe,
      406,
      "PRECONDITION_FAILED - inequivalent arg 'x-max-length-bytes' for queue 's' in vhost '/': received none but current is the value '2000000' of type 'signedint'",
    );
    const d2 = await s.broker.expect('queue.declare', probe);
    expect(d2.args.arguments).toEqual({ 'x-queue-type': 'stream', 'x-max-length-bytes': 2000000 });
    s.broker.send(probe, 'queue.declare-ok', { queue: 's', messageCount: 0, consumerCount: 0 });
    await s.broker.expect('channel.close', probe);
    s.broker.send(probe, 'channel.close-ok', {});
    const c = await consume(s.broker, ch);
    expect(c.arguments).toEqual({ 'x-stream-offset': 'first' });
    for (let i = 0; i < 3; i++) deliver(s.broker, ch, i + 1, `m${i}`, { applicationHeaders: { 'x-stream-offset': i } });
    await until(() => s.rec.log.includes('onDrained'), 'onDrained');
    expect(s.rec.log.filter((m) => m === 'onMessage' || m === 'onDrained')).toEqual(['onMessage', 'onMessage', 'onMessage', 'onDrained']);
    expect(r.drained).toBe(true);
    for (let i = 1; i <= 3; i++) expect((await s.broker.expect('basic.ack', ch)).args.deliveryTag).toBe(i);
  });

  for (const [kind, text, want] of [
    ['classic', "received the value 'stream' of type 'longstr' but current is none", /a classic queue/],
    ['quorum', "received 'stream' but current is 'quorum'", /a quorum queue/],
  ] as const) {
    it(`on a ${kind} queue the link ends with LinkOptionError (no browsing in 0.9.1)`, async () => {
      const s = await setup();
      s.container.createReceiver(s.conn, 's', { options: new Copy() });
      const [, probe] = await toProbe(s.broker);
      await s.broker.expect('queue.declare', probe);
      await serverClose(s.broker, probe, 406, `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 's' in vhost '/': ${text}`);
      await s.broker.expect('channel.close', probe);
      s.broker.send(probe, 'channel.close-ok', {});
      await until(() => s.rec.log.includes('onLinkError'));
      const err = s.rec.of('onLinkError')[0]?.error;
      expect(err).toBeInstanceOf(LinkOptionError);
      expect(err?.message).toMatch(want);
      expect(err?.message).toMatch(/Copy needs a stream queue/);
    });
  }
});

describe('options an address cannot honour: errors before anything is sent', () => {
  it('raises typed errors from createReceiver / createSender', async () => {
    const s = await setup({ rec: new Recorder({ prefetch: 0 }) });
    const c = s.container;
    expect(() => c.createReceiver(s.conn, 'q', { options: new Selector("a = 'b'") })).toThrow(
      /Selector and Filter need an exchange address/,
    );
    expect(() => c.createReceiver(s.conn, '/exchanges/x')).toThrow(LinkOptionError);
    expect(() => c.createReceiver(s.conn, '/exchanges/x', { options: new Copy() })).not.toThrow();
    expect(() => c.createReceiver(s.conn, 'q', { options: new DurableSubscription() })).toThrow(/needs an exchange address/);
    expect(() => c.createReceiver(s.conn, 'q', { options: new Copy() })).toThrow(/prefetch above 0/);
    expect(() => c.createReceiver(s.conn, '/exchanges/amq.default', { options: new Copy() })).toThrow(/default exchange cannot be bound/);
    expect(() => c.createReceiver(s.conn, '/topics/x')).toThrow(AddressError);
    expect(() => c.createReceiver(s.conn, '~listen')).toThrow(AddressError);
    expect(() => c.createReceiver(s.conn, 'a%zz')).toThrow(AddressError);
    expect(() => c.createReceiver(s.conn, 'q', { dynamic: true })).toThrow(ArgumentError);
    expect(() => c.createReceiver(s.conn)).toThrow(/source address is required/);
    expect(() => c.createSender(s.conn, '/exchanges/x', { options: new DynamicNodeProperties({}) })).toThrow(LinkOptionError);
    expect(() => c.createSender(s.conn, 'q', { window: 0 })).toThrow(ArgumentError);
    // only the valid Copy receiver above went to the broker
    const ch = await s.broker.openChannel();
    expect((await s.broker.expect('exchange.declare', ch)).args.exchange).toBe('x');
    await s.broker.expectNothing(20);
  });

  it('parses the supported selector subset and names what it expected otherwise', () => {
    expect(parseSelector("colour = 'red'")).toEqual({ 'x-match': 'all', colour: 'red' });
    expect(parseSelector("  a='1' and  b = 'x y' AND c = ''''  ")).toEqual({ 'x-match': 'all', a: '1', b: 'x y', c: "'" });
    const bad = [
      "colour = 'red' OR colour = 'blue'",
      'colour = red',
      "colour <> 'red'",
      "colour == 'red'",
      'x > 1',
      '',
      "NOT a = 'b'",
      "colour LIKE 'r%'",
      "x-match = 'any'",
      "a = 'b' AND a = 'c'",
      "a = 'b' AND",
    ];
    for (const sel of bad) expect(() => parseSelector(sel)).toThrow(SelectorError);
    expect(() => new Selector("colour = 'red' OR size = 'L'")).toThrow(/expected AND or the end at "OR size/);
  });
});
