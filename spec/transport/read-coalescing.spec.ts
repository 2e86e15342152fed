import { afterEach, describe, it, expect, jest } from '@jest/globals';
import net from 'node:net';
import { PassThrough } from 'node:stream';

import type { Channel } from '../../lib/channel/channel.js';
import { resolveOptions } from '../../lib/connection/options.js';
import { ArgumentError } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { HEARTBEAT_FRAME } from '../../lib/protocol/frame.js';
import { SocketReader } from '../../lib/transport/socket.js';
import { Transport, type TransportHandlers } from '../../lib/transport/transport.js';
import { connectFake, installGuards } from '../support/fake-broker.js';

installGuards();

const heartbeats = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, () => HEARTBEAT_FRAME));

function transportWith(reader: SocketReader, coalesceMs: number, mayCoalesce?: () => boolean, streaming?: () => boolean) {
  const frames: number[] = [];
  const handlers: TransportHandlers = {
    onFrame: (type) => {
      frames.push(type);
    },
    onClose: () => {},
    ...(mayCoalesce ? { mayCoalesce } : {}),
    ...(streaming ? { streaming } : {}),
  };
  const t = new Transport(new PassThrough(), handlers, 131072, reader);
  t.coalesceMs = coalesceMs;
  return { t, frames };
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
    let streaming = true;
    const reader = new SocketReader();
    const resume = jest.spyOn(reader, 'resume');
    const { t } = transportWith(reader, 1, undefined, () => streaming);
    expect(reader.sink(heartbeats(1))).toBe(false);
    jest.advanceTimersByTime(1);
    expect(resume).toHaveBeenCalledTimes(1);
    expect(reader.sink(Buffer.alloc(0))).toBe(true); // no whole frame: nothing to wait for
    streaming = false;
    expect(reader.sink(heartbeats(2))).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    t.close();
  });

  it('no pause when the connection says a consumer window is small (even in a confirm stream), or when coalescing is off', () => {
    jest.useFakeTimers();
    const r1 = new SocketReader();
    const a = transportWith(r1, 1, () => false);
    expect(r1.sink(heartbeats(40))).toBe(true);
    const r2 = new SocketReader();
    const b = transportWith(r2, 0);
    expect(r2.sink(heartbeats(40))).toBe(true);
    const r3 = new SocketReader();
    const c = transportWith(
      r3,
      1,
      () => false,
      () => true,
    );
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

  it('readCoalesce defaults to 1 ms and is validated', () => {
    expect(resolveOptions({}).readCoalesce).toBe(1);
    expect(resolveOptions({ readCoalesce: 0 }).readCoalesce).toBe(0);
    expect(() => resolveOptions({ readCoalesce: -1 })).toThrow(ArgumentError);
    expect(() => resolveOptions({ readCoalesce: Number.NaN })).toThrow(ArgumentError);
  });
});

describe('SocketReader over a real TCP socket', () => {
  it('hands out consecutive views of one slab, and stops reading while the sink says so', async () => {
    let peer: net.Socket | undefined;
    const server = net.createServer((s) => {
      peer = s;
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const reader = new SocketReader();
    const chunks: Buffer[] = []; // copies (the reader's views share one slab)
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
    expect(views[1]!.buffer).toBe(views[0]!.buffer); // the same slab...
    expect(views[1]!.byteOffset).toBe(views[0]!.byteOffset + 5); // ...right after the first read

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

describe('Channel.confirmStreaming (which publishers count as a stream)', () => {
  it('turns true at 512 unconfirmed publishes and false again once acks bring it under', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    const select = ch.confirmSelect();
    await broker.expect('confirm.select', 1);
    broker.send(1, 'confirm.select-ok', {});
    await select;
    const pubs: Promise<void>[] = [];
    for (let i = 0; i < 511; i++) pubs.push(ch.basicPublish(new Message('x'), { routingKey: 'q' }));
    expect(ch.confirmStreaming).toBe(false);
    pubs.push(ch.basicPublish(new Message('x'), { routingKey: 'q' }));
    expect(ch.confirmStreaming).toBe(true);
    broker.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await pubs[0];
    expect(ch.confirmStreaming).toBe(false);
    broker.send(1, 'basic.ack', { deliveryTag: 512, multiple: true });
    await Promise.all(pubs);
    expect(ch.confirmStreaming).toBe(false);
  });
});

describe('Channel.latencyBound (which consumers forbid a read pause)', () => {
  async function consumer(prefetch: number | undefined): Promise<Channel> {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    if (prefetch !== undefined) {
      const q = ch.basicQos({ prefetchCount: prefetch });
      await broker.expect('basic.qos', 1);
      broker.send(1, 'basic.qos-ok', {});
      await q;
    }
    expect(ch.latencyBound).toBe(false); // no consumer yet
    const c = ch.basicConsume('q', { consumerTag: 'ct', callback: () => {} });
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
    await c;
    return ch;
  }

  it('prefetch 1..99 with a consumer: bound; 100+, or unlimited: not', async () => {
    expect((await consumer(1)).latencyBound).toBe(true);
    expect((await consumer(99)).latencyBound).toBe(true);
    expect((await consumer(100)).latencyBound).toBe(false);
    expect((await consumer(undefined)).latencyBound).toBe(false);
  });
});
