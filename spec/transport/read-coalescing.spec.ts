import { afterEach, describe, it, expect, jest } from '@jest/globals';
import net from 'node:net';
import { PassThrough } from 'node:stream';

import type { Channel } from '../../lib/channel/channel.js';
import type { Connection } from '../../lib/connection/connection.js';
import { resolveOptions } from '../../lib/connection/options.js';
import { ArgumentError } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { HEARTBEAT_FRAME } from '../../lib/protocol/frame.js';
import { landing, MAX_READ } from '../../lib/transport/buffers.js';
import { SocketReader } from '../../lib/transport/socket.js';
import { type ReadHints, Transport, type TransportHandlers } from '../../lib/transport/transport.js';
import { connectFake, type FakeBroker, installGuards } from '../support/fake-broker.js';

/** The connection's read hints (private state, observed by this white-box spec). */
const hintsOf = (c: Connection): ReadHints => (c as unknown as { s: { hints: ReadHints } }).s.hints;

installGuards();

const heartbeats = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, () => HEARTBEAT_FRAME));

function transportWith(reader: SocketReader, coalesceMs: number, hints: Partial<ReadHints> = {}) {
  const frames: number[] = [];
  const handlers: TransportHandlers = {
    onFrame: (type) => {
      frames.push(type);
    },
    onClose: () => {},
  };
  const h: ReadHints = { streaming: 0, latencyBound: 0, bytesIn: 0, bytesOut: 0, ...hints };
  const t = new Transport(new PassThrough(), handlers, 131072, reader, h);
  t.coalesceMs = coalesceMs;
  return { t, frames, hints: h };
}

describe('read coalescing (Transport with a SocketReader)', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('a read of 16 or more frames pauses reading for coalesceMs, then resumes', () => {
    jest.useFakeTimers();
    const reader = new SocketReader();
    const resume = jest.spyOn(reader, 'resume');
    const { t, frames } = transportWith(reader, 1);
    expect(reader.sink(heartbeats(16))).toBe(false);
    expect(frames).toHaveLength(16);
    expect(resume).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(resume).toHaveBeenCalledTimes(1);
    expect(reader.sink(heartbeats(20))).toBe(false);
    t.close();
  });

  it('a read that half filled the read buffer or more never pauses (more is waiting: a pause would cap throughput at a buffer per pause)', () => {
    jest.useFakeTimers();
    const reader = new SocketReader();
    const { t, frames } = transportWith(reader, 1);
    const half = MAX_READ / 2 / HEARTBEAT_FRAME.length; // heartbeat frames filling half the read buffer
    expect(reader.sink(heartbeats(half))).toBe(true);
    expect(reader.sink(heartbeats(2 * half))).toBe(true);
    expect(frames).toHaveLength(3 * half);
    expect(reader.sink(heartbeats(half - 1))).toBe(false); // just under: a stream of small reads still pauses
    t.close();
  });

  it('reads of a few frames (a round-trip reply) are never delayed', () => {
    jest.useFakeTimers();
    const reader = new SocketReader();
    const { t, frames } = transportWith(reader, 1);
    for (let i = 0; i < 50; i++) expect(reader.sink(heartbeats(3))).toBe(true);
    expect(frames).toHaveLength(150);
    expect(jest.getTimerCount()).toBe(0);
    t.close();
  });

  it('while the connection reports a confirm stream, a read of even one frame pauses', () => {
    jest.useFakeTimers();
    const reader = new SocketReader();
    const resume = jest.spyOn(reader, 'resume');
    const { t, hints } = transportWith(reader, 1, { streaming: 1 });
    expect(reader.sink(heartbeats(1))).toBe(false);
    jest.advanceTimersByTime(1);
    expect(resume).toHaveBeenCalledTimes(1);
    expect(reader.sink(Buffer.alloc(0))).toBe(true); // no whole frame: nothing to wait for
    hints.streaming = 0;
    expect(reader.sink(heartbeats(2))).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    t.close();
  });

  it('no pause when the connection says a consumer window is small (even in a confirm stream), or when coalescing is off', () => {
    jest.useFakeTimers();
    const r1 = new SocketReader();
    const a = transportWith(r1, 1, { latencyBound: 1 });
    expect(r1.sink(heartbeats(40))).toBe(true);
    const r2 = new SocketReader();
    const b = transportWith(r2, 0);
    expect(r2.sink(heartbeats(40))).toBe(true);
    const r3 = new SocketReader();
    const c = transportWith(r3, 1, { latencyBound: 2, streaming: 1 });
    expect(r3.sink(heartbeats(1))).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    for (const x of [a, b, c]) x.t.close();
  });

  it('closing the transport during a pause clears its timer', () => {
    jest.useFakeTimers();
    const reader = new SocketReader();
    const resume = jest.spyOn(reader, 'resume');
    const { t } = transportWith(reader, 5);
    expect(reader.sink(heartbeats(16))).toBe(false);
    expect(jest.getTimerCount()).toBe(1);
    t.close();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10);
    expect(resume).not.toHaveBeenCalled();
  });

  it('readBatchDelay defaults to 1 ms and is validated', () => {
    expect(resolveOptions({}).readBatchDelay).toBe(1);
    expect(resolveOptions({ readBatchDelay: 0 }).readBatchDelay).toBe(0);
    expect(() => resolveOptions({ readBatchDelay: -1 })).toThrow(ArgumentError);
    expect(() => resolveOptions({ readBatchDelay: Number.NaN })).toThrow(ArgumentError);
  });
});

describe('SocketReader over a real TCP socket', () => {
  it('lands every read in the shared landing buffer, and stops reading while the sink says so', async () => {
    let peer: net.Socket | undefined;
    const server = net.createServer((s) => {
      peer = s;
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const reader = new SocketReader();
    const chunks: Buffer[] = []; // copies (the reader's views share the landing buffer)
    const views: Buffer[] = [];
    let keepReading = true;
    let got: (() => void) | undefined;
    reader.sink = (c) => {
      chunks.push(Buffer.from(c));
      views.push(c);
      got?.();
      return keepReading;
    };
    const sock = net.connect({ port, host: '127.0.0.1', onread: reader.onread });
    reader.attach(sock);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    while (!peer) await new Promise((r) => setTimeout(r, 5));
    const wait = (): Promise<void> =>
      new Promise((r) => {
        got = r;
      });

    let w = wait();
    peer.write(Buffer.from('first'));
    await w;
    w = wait();
    peer.write(Buffer.from('second'));
    await w;
    expect(chunks.map(String)).toEqual(['first', 'second']);
    // every read lands at the start of the process's one landing buffer: no memory per connection
    expect(views[0]!.buffer).toBe(landing.buffer);
    expect(views[1]!.buffer).toBe(landing.buffer);
    expect([views[0]!.byteOffset, views[1]!.byteOffset]).toEqual([landing.byteOffset, landing.byteOffset]);

    keepReading = false;
    w = wait();
    peer.write(Buffer.from('third'));
    await w;
    peer.write(Buffer.from('fourth'));
    await new Promise((r) => setTimeout(r, 50));
    expect(chunks.map(String)).toEqual(['first', 'second', 'third']); // paused: 'fourth' waits in the kernel
    keepReading = true;
    w = wait();
    reader.resume();
    await w;
    expect(chunks.map(String)).toEqual(['first', 'second', 'third', 'fourth']);
    sock.destroy();
    peer.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('confirm streams in the read hints (which publishers count as a stream)', () => {
  it('a channel counts at 512 unconfirmed publishes and no longer once acks bring it under', async () => {
    const { broker, conn } = await connectFake();
    const hints = hintsOf(conn);
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    const select = ch.confirmSelect();
    await broker.expect('confirm.select', 1);
    broker.send(1, 'confirm.select-ok', {});
    await select;
    const pubs: Promise<void>[] = [];
    for (let i = 0; i < 511; i++) pubs.push(ch.basicPublish(new Message('x'), { routingKey: 'q' }));
    expect(hints.streaming).toBe(0);
    pubs.push(ch.basicPublish(new Message('x'), { routingKey: 'q' }));
    expect(hints.streaming).toBe(1);
    broker.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await pubs[0];
    expect(hints.streaming).toBe(0);
    broker.send(1, 'basic.ack', { deliveryTag: 512, multiple: true });
    await Promise.all(pubs);
    expect(hints.streaming).toBe(0);
  });
});

describe('latency-bound consumers in the read hints (which consumers forbid a read pause)', () => {
  async function consumer(prefetch: number | undefined): Promise<{ ch: Channel; hints: ReadHints; broker: FakeBroker }> {
    const { broker, conn } = await connectFake();
    const hints = hintsOf(conn);
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    if (prefetch !== undefined) {
      const q = ch.basicQos({ prefetchCount: prefetch });
      await broker.expect('basic.qos', 1);
      broker.send(1, 'basic.qos-ok', {});
      await q;
    }
    expect(hints.latencyBound).toBe(0); // no consumer yet
    const c = ch.basicConsume('q', { consumerTag: 'ct', callback: () => {} });
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
    await c;
    return { ch, hints, broker };
  }

  it('prefetch 1..99 with a consumer: bound; 100+, or unlimited: not', async () => {
    expect((await consumer(1)).hints.latencyBound).toBe(1);
    expect((await consumer(99)).hints.latencyBound).toBe(1);
    expect((await consumer(100)).hints.latencyBound).toBe(0);
    expect((await consumer(undefined)).hints.latencyBound).toBe(0);
  });

  it('the count goes back down when the consumer is cancelled or its channel closes', async () => {
    const { ch, hints, broker } = await consumer(10);
    expect(hints.latencyBound).toBe(1);
    const cancel = ch.basicCancel('ct');
    await broker.expect('basic.cancel', 1);
    broker.send(1, 'basic.cancel-ok', { consumerTag: 'ct' });
    await cancel;
    expect(hints.latencyBound).toBe(0);
    const again = ch.basicConsume('q', { consumerTag: 'ct2', callback: () => {} });
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'ct2' });
    await again;
    expect(hints.latencyBound).toBe(1);
    const closing = ch.close();
    await broker.expect('channel.close', 1);
    broker.send(1, 'channel.close-ok', {});
    await closing;
    expect(hints.latencyBound).toBe(0);
  });
});
