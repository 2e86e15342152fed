// Reconnecting, with a socket factory that hands each connection attempt a new scripted broker:
// the reconnect strategy's delays, onTransportError / onDisconnected, links re-attached from
// their options (a dynamic receiver gets a new queue, a stream Copy resumes after its last
// offset), messages in flight sent again, fatal errors and close() ending it.
import type { Duplex } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { AccessRefused, ConnectionLost, Container, Copy, Message, REPUBLISHED_HEADER, type ReconnectStrategy } from '../../lib/index.js';
import { FakeBroker } from '../support/fake-broker.js';
import { Recorder, autoReply, deliver, track, until } from './support.js';

/** Each call is a connection attempt: 'fail' refuses it, 'ok' gets a new broker. */
class Factory {
  readonly brokers: FakeBroker[] = [];
  plan: Array<'ok' | 'fail'> = [];
  calls = 0;
  private waiting: Array<(b: FakeBroker) => void> = [];
  private ready: FakeBroker[] = [];
  readonly socket = (): Duplex => {
    this.calls++;
    if (this.plan.shift() === 'fail') throw new ConnectionLost('scripted: connection refused');
    const b = new FakeBroker();
    this.brokers.push(b);
    const w = this.waiting.shift();
    if (w) w(b);
    else this.ready.push(b);
    return b.clientSocket;
  };
  next(): Promise<FakeBroker> {
    const b = this.ready.shift();
    return b ? Promise.resolve(b) : new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** A strategy recording the delays it gave. */
function strategy(delays: number[]): ReconnectStrategy & { given: number[]; resets: number } {
  const s = {
    given: [] as number[],
    resets: 0,
    next(): number {
      const d = delays[s.given.length] ?? 0;
      s.given.push(d);
      return d;
    },
    reset(): void {
      s.resets++;
    },
  };
  return s;
}

describe('reconnecting', () => {
  it('after a loss: onTransportError and onDisconnected once, links re-attach, what was in flight is sent again', async () => {
    const f = new Factory();
    const rec = new Recorder();
    const container = new Container(rec);
    const st = strategy([0]);
    const conn = container.connect({ socket: f.socket, reconnect: st, callTimeout: 2000 });
    const sender = container.createSender(conn, 'q');
    container.createReceiver(conn, 'q');
    const outcome = track(container, f.brokers);
    const b1 = await f.next();
    await b1.handshake();
    const log1 = autoReply(b1);
    await until(() => rec.of('onLinkOpened').length === 2, 'both links open');
    const d1 = sender.send(new Message('one', { messageId: '1' }));
    const d2 = sender.send(new Message('two', { messageId: '2' }));
    await until(() => log1.publishes.length === 2);
    const sch = log1.publishes[0]?.channel as number;
    b1.send(sch, 'basic.ack', { deliveryTag: 1, multiple: false });
    await until(() => rec.of('onAccepted').length === 1);
    b1.destroy();

    const b2 = await f.next();
    await b2.handshake();
    const log2 = autoReply(b2);
    await until(() => log2.publishes.length === 1, 'the unconfirmed message sent again');
    const again = log2.publishes[0];
    expect(again?.body?.toString()).toBe('two');
    expect(again?.properties?.applicationHeaders?.[REPUBLISHED_HEADER]).toBe(true);
    b2.send(again?.channel as number, 'basic.ack', { deliveryTag: 1, multiple: false });
    await until(() => rec.of('onAccepted').length === 2);
    expect(rec.of('onAccepted').map((e) => e.delivery)).toEqual([d1, d2]);
    expect(rec.of('onDisconnected')).toHaveLength(1);
    expect(rec.of('onTransportError')[0]?.error).toBeInstanceOf(ConnectionLost);
    expect(rec.log.filter((m) => m === 'onConnectionOpened' || m === 'onLinkOpened' || m === 'onDisconnected')).toEqual([
      'onConnectionOpened',
      'onLinkOpened',
      'onLinkOpened',
      'onDisconnected',
      'onConnectionOpened',
      'onLinkOpened',
      'onLinkOpened',
    ]);
    expect(
      log2.names().filter((n) => n.startsWith('queue.declare') || n.startsWith('basic.consume') || n.startsWith('confirm')),
    ).toHaveLength(4);
    expect(st.given).toEqual([0]);
    expect(st.resets).toBe(2);
    conn.close();
    expect(await outcome).toBe('resolved');
  });

  it('retries the first connect per the strategy, with onTransportError for each failed attempt', async () => {
    const f = new Factory();
    f.plan = ['fail', 'fail'];
    const rec = new Recorder();
    const container = new Container(rec);
    const st = strategy([0, 20]);
    container.connect({ socket: f.socket, reconnect: st });
    track(container, f.brokers);
    const b = await f.next();
    await b.handshake();
    await until(() => rec.log.includes('onConnectionOpened'));
    expect(f.calls).toBe(3);
    expect(st.given).toEqual([0, 20]);
    expect(rec.log.filter((m) => m === 'onTransportError')).toHaveLength(2);
    expect(rec.log).not.toContain('onDisconnected');
  });

  it('gives up at once on an error retrying cannot fix (403 at login): onTransportError, onConnectionClosed', async () => {
    const f = new Factory();
    const rec = new Recorder();
    const container = new Container(rec);
    const st = strategy([]);
    container.connect({ socket: f.socket, reconnect: st });
    const outcome = track(container, f.brokers);
    const b = await f.next();
    await b.protocolHeader();
    b.sendStart();
    await b.expect('connection.start-ok', 0);
    b.send(0, 'connection.close', { replyCode: 403, replyText: 'ACCESS_REFUSED - Login was refused', classId: 0, methodId: 0 });
    expect(await outcome).toBe('resolved');
    expect(rec.log).toEqual(['onReactorInit', 'onTransportError', 'onConnectionClosed']);
    expect(rec.of('onConnectionClosed')[0]?.error).toBeInstanceOf(AccessRefused);
    expect(st.given).toEqual([]);
    expect(f.calls).toBe(1);
  });

  it('close() while waiting to reconnect stops it: no further attempt, onConnectionClosed', async () => {
    const f = new Factory();
    const rec = new Recorder();
    const container = new Container(rec);
    const conn = container.connect({ socket: f.socket, reconnect: strategy([0, 10_000]) });
    const outcome = track(container, f.brokers);
    const b = await f.next();
    await b.handshake();
    await until(() => rec.log.includes('onConnectionOpened'));
    f.plan = ['fail'];
    b.destroy();
    await until(() => rec.log.filter((m) => m === 'onTransportError').length === 2, 'the failed reconnect attempt');
    conn.close();
    expect(await outcome).toBe('resolved');
    expect(f.calls).toBe(2);
    expect(rec.log.slice(-1)).toEqual(['onConnectionClosed']);
  });

  it('a dynamic receiver gets a new queue and address; a stream Copy resumes after the last offset it saw', async () => {
    const f = new Factory();
    const rec = new Recorder();
    const container = new Container(rec);
    const conn = container.connect({ socket: f.socket, reconnect: strategy([]) });
    const dyn = container.createReceiver(conn, null, { dynamic: true });
    container.createReceiver(conn, 'stream', { options: new Copy() });
    track(container, f.brokers);
    const b1 = await f.next();
    await b1.handshake();
    const log1 = autoReply(b1);
    await until(() => rec.of('onLinkOpened').length === 2);
    const first = dyn.remoteSource.address;
    type ConsumeArgs = { queue: string; arguments: unknown; consumerTag: string };
    const consumes = (l: typeof log1): ConsumeArgs[] =>
      l.methods.filter((m) => m.name === 'basic.consume').map((m) => m.args as ConsumeArgs);
    const consumeStream = log1.methods.find((m) => m.name === 'basic.consume' && (m.args as ConsumeArgs).queue === 'stream');
    expect(consumes(log1).find((a) => a.queue === 'stream')?.arguments).toEqual({ 'x-stream-offset': 'first' });
    const sch = consumeStream?.channel as number;
    for (const off of [40, 41])
      deliver(
        b1,
        sch,
        off - 39,
        `m${off}`,
        { applicationHeaders: { 'x-stream-offset': off } },
        consumes(log1).find((a) => a.queue === 'stream')?.consumerTag || 'ctag-2',
      );
    await until(() => rec.of('onMessage').length === 2);
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    const log2 = autoReply(b2);
    await until(() => rec.of('onLinkOpened').length === 4);
    expect(dyn.remoteSource.address).not.toBe(first);
    expect(dyn.remoteSource.address).toMatch(/^amq\.gen-/);
    expect(consumes(log2).find((a) => a.queue === 'stream')?.arguments).toEqual({ 'x-stream-offset': 42 });
  });
});
