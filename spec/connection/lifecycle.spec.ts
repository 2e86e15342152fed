import { describe, it, expect, jest } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import type { Connection } from '../../lib/connection/connection.js';
import {
  AMQPError,
  ArgumentError,
  ChannelClosed,
  ConnectionClosed,
  ChannelNotOpen,
  ConnectionError,
  ConnectionForced,
  ConnectionLost,
  FrameError,
  HeartbeatTimeout,
  ResourceError,
  Timeout,
  UnexpectedFrame,
} from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { encodeFrame, FRAME_HEADER, FRAME_METHOD } from '../../lib/protocol/frame.js';
import { connectFake, installGuards, type FakeBroker } from '../support/fake-broker.js';

installGuards();

async function openChannel(conn: Connection, broker: FakeBroker): Promise<Channel> {
  const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
  return ch;
}

/** Settles `p` into the error it rejected with (or fails if it resolved). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

function closeEvent(conn: Connection): Promise<AMQPError | undefined> {
  return new Promise((resolve) => conn.once('close', resolve));
}

const declareOk = (queue: string) => ({ queue, messageCount: 0, consumerCount: 0 });

describe('client close', () => {
  it('sends connection.close, waits for close-ok, then closes the socket', async () => {
    const { broker, conn } = await connectFake();
    const closed = closeEvent(conn);
    let done = false;
    const closing = conn.close().then(() => {
      done = true;
    });
    const m = await broker.expect('connection.close', 0);
    expect(m.args).toMatchObject({ replyCode: 200, replyText: 'Normal shutdown', classId: 0, methodId: 0 });
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    broker.send(0, 'connection.close-ok', {});
    await closing;
    await expect(closed).resolves.toBeUndefined();
    await broker.closed;
    expect(conn.connected).toBe(false);
    expect(conn.isAlive()).toBe(false);
    await expect(conn.channel()).rejects.toBeInstanceOf(AMQPError);
    await expect(conn.close()).resolves.toBeUndefined();
  });

  it('rejects pending calls with ConnectionClosed (the client closed the connection)', async () => {
    const { broker, conn } = await connectFake();
    const ch = await openChannel(conn, broker);
    const pending = rejection(ch.queueDeclare('q'));
    await broker.expect('queue.declare', 1);
    const closing = conn.close();
    await broker.expect('connection.close', 0);
    broker.send(0, 'connection.close-ok', {});
    await closing;
    expect(await pending).toBeInstanceOf(ConnectionClosed);
  });

  it('gives up waiting for close-ok after its timeout and still closes the socket', async () => {
    const { broker, conn } = await connectFake();
    const closed = closeEvent(conn);
    await Promise.all([conn.close({ timeout: 50 }), broker.expect('connection.close', 0)]);
    expect(await closed).toBeUndefined();
    await broker.closed;
  });

  it('crossing connection.close from both sides: the client answers close-ok and close() resolves', async () => {
    const { broker, conn } = await connectFake();
    const closing = conn.close();
    await broker.expect('connection.close', 0);
    broker.send(0, 'connection.close', { replyCode: 320, replyText: 'CONNECTION_FORCED', classId: 0, methodId: 0 });
    await broker.expect('connection.close-ok', 0);
    await expect(closing).resolves.toBeUndefined();
    await broker.closed;
  });
});

describe('server connection.close', () => {
  it('320: close-ok is sent, all pending calls on every channel reject with ConnectionForced, later calls too', async () => {
    const { broker, conn } = await connectFake();
    const ch1 = await openChannel(conn, broker);
    const ch2 = await openChannel(conn, broker);
    await Promise.all([ch1.confirmSelect(), broker.expect('confirm.select', 1).then(() => broker.send(1, 'confirm.select-ok', {}))]);
    const closed = closeEvent(conn);
    const pending = [
      rejection(ch1.queueDeclare('a')),
      rejection(ch1.queuePurge('a')),
      rejection(ch2.basicQos({ prefetchCount: 5 })),
      rejection(ch1.basicPublish(new Message('x'), { routingKey: 'a' })),
      rejection(conn.drainEvents()),
    ];
    await broker.expect('queue.declare', 1);
    await broker.expect('basic.qos', 2);
    await broker.expectContent(1);
    broker.send(0, 'connection.close', {
      replyCode: 320,
      replyText: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
      classId: 0,
      methodId: 0,
    });
    await broker.expect('connection.close-ok', 0);
    const errs = await Promise.all(pending);
    for (const e of errs) {
      expect(e).toBeInstanceOf(ConnectionForced);
      expect(e).toMatchObject({ replyCode: 320 });
    }
    expect(new Set(errs).size).toBe(1); // one error, delivered to everybody at once
    const ev = await closed;
    expect(ev).toBe(errs[0]);
    expect(conn.connected).toBe(false);
    await expect(ch1.queueDeclare('b')).rejects.toBeInstanceOf(ConnectionForced);
    await expect(ch2.basicPublish(new Message('y'))).rejects.toBeInstanceOf(ConnectionForced);
    await expect(conn.channel()).rejects.toBeInstanceOf(ConnectionForced);
    await broker.closed;
  });
});

describe('socket loss', () => {
  it('socket destroyed mid-call -> ConnectionLost for every pending promise and the close event', async () => {
    const { broker, conn } = await connectFake();
    const ch1 = await openChannel(conn, broker);
    const ch2 = await openChannel(conn, broker);
    await Promise.all([ch2.confirmSelect(), broker.expect('confirm.select', 2).then(() => broker.send(2, 'confirm.select-ok', {}))]);
    const closed = closeEvent(conn);
    const pending = [
      rejection(ch1.queueDeclare('a')),
      rejection(ch1.queueDelete('a')),
      rejection(ch2.basicPublish(new Message('m'))),
      rejection(ch2.waitForConfirms()),
      rejection(conn.channel()),
      rejection(conn.drainEvents()),
    ];
    await broker.expect('queue.declare', 1);
    await broker.expectContent(2);
    await broker.expect('channel.open', 3);
    broker.destroy();
    for (const e of await Promise.all(pending)) expect(e).toBeInstanceOf(ConnectionLost);
    expect(await closed).toBeInstanceOf(ConnectionLost);
    await expect(ch1.queueDeclare('b')).rejects.toBeInstanceOf(ConnectionLost);
  });
});

describe('heartbeats', () => {
  it('silent broker -> HeartbeatTimeout within ~2 intervals; the client sends heartbeats while idle', async () => {
    const { broker, conn } = await connectFake({ heartbeat: 1 });
    const ch = await openChannel(conn, broker);
    broker.silent = true;
    const t0 = Date.now();
    const closed = closeEvent(conn);
    const pending = rejection(ch.queueDeclare('q', { timeout: 10000 }));
    const err = await closed;
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(HeartbeatTimeout);
    expect(err).toBeInstanceOf(ConnectionLost);
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(2600);
    expect(await pending).toBeInstanceOf(HeartbeatTimeout);
    expect(broker.heartbeats).toBeGreaterThanOrEqual(2);
  }, 10000);

  it('a broker that sends heartbeats keeps the connection alive', async () => {
    const { broker, conn } = await connectFake({ heartbeat: 1 });
    const hb = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]);
    const timer = setInterval(() => broker.sendRaw(hb), 300);
    try {
      await new Promise((r) => setTimeout(r, 2600));
      expect(conn.isAlive()).toBe(true);
      expect(broker.heartbeats).toBeGreaterThanOrEqual(3);
    } finally {
      clearInterval(timer);
    }
  }, 10000);
});

describe('malformed input from the server', () => {
  async function breakWith(bytes: Buffer | ((b: FakeBroker) => void)): Promise<{ errs: unknown[]; ev: unknown; broker: FakeBroker }> {
    const { broker, conn } = await connectFake();
    const ch = await openChannel(conn, broker);
    const closed = closeEvent(conn);
    const pending = [rejection(ch.queueDeclare('q')), rejection(conn.drainEvents())];
    await broker.expect('queue.declare', 1);
    if (typeof bytes === 'function') bytes(broker);
    else broker.sendRaw(bytes);
    const errs = await Promise.all(pending);
    const ev = await closed;
    await broker.closed;
    return { errs, ev, broker };
  }

  it('bad frame end octet -> FrameError', async () => {
    const frame = encodeFrame(FRAME_METHOD, 1, Buffer.from([0, 50, 0, 11, 0]));
    frame[frame.length - 1] = 0x00;
    const { errs, ev, broker } = await breakWith(frame);
    for (const e of [...errs, ev]) expect(e).toBeInstanceOf(FrameError);
    expect((ev as FrameError).message).toContain('end octet');
    // the spec asks the peer that sees a malformed frame to say so before closing the socket
    expect(broker.received.find((m) => m.name === 'connection.close')?.args).toMatchObject({ replyCode: 501 });
  });

  it('garbage (an HTTP response) -> FrameError', async () => {
    const { errs, ev } = await breakWith(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    for (const e of [...errs, ev]) expect(e).toBeInstanceOf(FrameError);
  });

  it('a frame larger than frame_max -> FrameError', async () => {
    const { errs } = await breakWith((b) => b.sendRaw(encodeFrame(FRAME_METHOD, 1, Buffer.alloc(200000))));
    for (const e of errs) expect(e).toBeInstanceOf(FrameError);
  });

  it('an undecodable method -> FrameError, and the client sends connection.close 501', async () => {
    const { errs, broker } = await breakWith(encodeFrame(FRAME_METHOD, 0, Buffer.from([0, 99, 0, 1])));
    for (const e of errs) expect(e).toBeInstanceOf(FrameError);
    const close = broker.received.find((m) => m.name === 'connection.close');
    expect(close?.args).toMatchObject({ replyCode: 501 });
  });

  it('a frame for a channel that is not open -> ChannelNotOpen (504), connection.close 504 sent', async () => {
    const { errs, ev, broker } = await breakWith((b) => b.send(9, 'queue.declare-ok', declareOk('x')));
    for (const e of [...errs, ev]) {
      expect(e).toBeInstanceOf(ChannelNotOpen);
      expect(e).toBeInstanceOf(ConnectionError);
    }
    await expect(broker.expect('connection.close', 0)).resolves.toMatchObject({ args: { replyCode: 504 } });
  });

  it('a content header without a content method -> UnexpectedFrame (505)', async () => {
    const { errs, broker } = await breakWith(encodeFrame(FRAME_HEADER, 1, Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])));
    for (const e of errs) expect(e).toBeInstanceOf(UnexpectedFrame);
    await expect(broker.expect('connection.close', 0)).resolves.toMatchObject({ args: { replyCode: 505 } });
  });

  it('an unexpected method on channel 0 -> UnexpectedFrame', async () => {
    const { errs } = await breakWith((b) => b.send(0, 'connection.tune', { channelMax: 1, frameMax: 8192, heartbeat: 0 }));
    for (const e of errs) expect(e).toBeInstanceOf(UnexpectedFrame);
  });
});

describe('connection.blocked / unblocked', () => {
  it('emits events, calls the hooks, holds publishes until unblocked', async () => {
    const onBlocked = jest.fn<(reason: string) => void>();
    const onUnblocked = jest.fn<() => void>();
    const { broker, conn } = await connectFake({ onBlocked, onUnblocked });
    const ch = await openChannel(conn, broker);
    const events: string[] = [];
    conn.on('blocked', (r) => events.push(`blocked:${r}`));
    conn.on('unblocked', () => events.push('unblocked'));
    broker.send(0, 'connection.blocked', { reason: 'low on memory' });
    await new Promise((r) => setTimeout(r, 20));
    expect(conn.blocked).toBe(true);
    expect(conn.blockedReason).toBe('low on memory');
    expect(onBlocked).toHaveBeenCalledWith('low on memory');
    let sent = false;
    const p = ch.basicPublish(new Message('held'), { routingKey: 'q' }).then(() => {
      sent = true;
    });
    const timedOut = rejection(ch.basicPublish(new Message('impatient'), { routingKey: 'q', timeout: 50 }));
    const err = await timedOut;
    expect(err).toBeInstanceOf(Timeout);
    expect((err as Error).message).toContain('blocked');
    await broker.expectNothing(30);
    expect(sent).toBe(false);
    broker.send(0, 'connection.unblocked', {});
    const m = await broker.expectContent(1);
    expect(m.body.toString()).toBe('held');
    await p;
    expect(conn.blocked).toBe(false);
    expect(onUnblocked).toHaveBeenCalledTimes(1);
    expect(events).toEqual(['blocked:low on memory', 'unblocked']);
    await broker.expectNothing(30); // the timed-out publish never goes out
  });

  it('a publish held by connection.blocked rejects with ConnectionLost when the socket dies', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    broker.send(0, 'connection.blocked', { reason: 'disk' });
    await new Promise((r) => setTimeout(r, 20));
    const held = rejection(ch.basicPublish(new Message('held')));
    broker.destroy();
    expect(await held).toBeInstanceOf(ConnectionLost);
  });

  it('a publish with an already-aborted signal while blocked -> Timeout', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    broker.send(0, 'connection.blocked', { reason: 'disk' });
    await new Promise((r) => setTimeout(r, 20));
    const held = ch.basicPublish(new Message('held')); // another publisher already waiting
    held.catch(() => {});
    const ac = new AbortController();
    ac.abort();
    await expect(ch.basicPublish(new Message('x'), { signal: ac.signal })).rejects.toBeInstanceOf(Timeout);
    broker.send(0, 'connection.unblocked', {});
    expect((await broker.expectContent(1)).body.toString()).toBe('held');
    await held;
    await broker.expectNothing(30);
  });

  it('publishes keep their call order across an unblock', async () => {
    const { broker, conn } = await connectFake();
    const ch = await openChannel(conn, broker);
    broker.send(0, 'connection.blocked', { reason: 'disk' });
    await new Promise((r) => setTimeout(r, 20));
    const first = ch.basicPublish(new Message('first'));
    conn.once('unblocked', () => {
      void ch.basicPublish(new Message('second'));
    });
    broker.send(0, 'connection.unblocked', {});
    const a = await broker.expectContent(1);
    const b = await broker.expectContent(1);
    await first;
    expect([a.body.toString(), b.body.toString()]).toEqual(['first', 'second']);
  });
});

describe('drainEvents', () => {
  it('resolves after a delivery is dispatched', async () => {
    const { broker, conn } = await connectFake();
    const ch = await openChannel(conn, broker);
    const got: string[] = [];
    const consuming = ch.basicConsume('q', {
      consumerTag: 'c1',
      noAck: true,
      callback: (m) => {
        got.push(String(m.body));
      },
    });
    await broker.expect('basic.consume', 1);
    broker.send(1, 'basic.consume-ok', { consumerTag: 'c1' });
    await consuming;
    const draining = conn.drainEvents({ timeout: 1000 });
    broker.sendContent(
      1,
      'basic.deliver',
      { consumerTag: 'c1', deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' },
      { contentEncoding: 'utf-8' },
      'hi',
    );
    await draining;
    expect(got).toEqual(['hi']);
  });

  it('rejects with Timeout when nothing arrives', async () => {
    const { conn } = await connectFake();
    const t0 = Date.now();
    await expect(conn.drainEvents({ timeout: 50 })).rejects.toBeInstanceOf(Timeout);
    expect(Date.now() - t0).toBeLessThan(500);
  });
});

describe('channel ids', () => {
  async function closeChannel(ch: Channel, broker: FakeBroker): Promise<void> {
    await Promise.all([
      ch.close(),
      broker.expect('channel.close', ch.channelId).then(() => broker.send(ch.channelId, 'channel.close-ok', {})),
    ]);
  }

  it('allocates 1, 2, 3, reuses a closed id, then continues', async () => {
    const { broker, conn } = await connectFake();
    const ids = [];
    const chans = [];
    for (let i = 0; i < 3; i++) chans.push(await openChannel(conn, broker));
    ids.push(...chans.map((c) => c.channelId));
    expect(ids).toEqual([1, 2, 3]);
    await closeChannel(chans[1] as Channel, broker);
    expect(conn.channels.has(2)).toBe(false);
    expect((await openChannel(conn, broker)).channelId).toBe(2);
    expect((await openChannel(conn, broker)).channelId).toBe(4);
  });

  it('an explicit id opens that channel; asking again returns the same channel', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(7), broker.openChannel(7)]);
    expect(ch.channelId).toBe(7);
    await expect(conn.channel(7)).resolves.toBe(ch);
    await expect(conn.channel(0)).rejects.toBeInstanceOf(ArgumentError);
    await expect(conn.channel(2048)).rejects.toBeInstanceOf(ArgumentError);
    await broker.expectNothing(20);
  });

  it('every id taken -> ResourceError, nothing sent', async () => {
    const { broker, conn } = await connectFake({}, { channelMax: 2 });
    await openChannel(conn, broker);
    await openChannel(conn, broker);
    await expect(conn.channel()).rejects.toBeInstanceOf(ResourceError);
    await broker.expectNothing(20);
  });

  it('a closed channel refuses calls and acks by tag; nothing is sent on its (reused) id', async () => {
    const { broker, conn } = await connectFake();
    const old = await openChannel(conn, broker);
    await closeChannel(old, broker);
    const reused = await openChannel(conn, broker);
    expect(reused.channelId).toBe(old.channelId);
    await expect(old.queueDeclare('q')).rejects.toBeInstanceOf(ChannelClosed);
    await expect(old.basicPublish(new Message('x'))).rejects.toBeInstanceOf(ChannelClosed);
    const thrown: unknown[] = [];
    for (const f of [() => old.basicAck(1), () => old.basicNack(1), () => old.basicReject(1)]) {
      try {
        f();
      } catch (e) {
        thrown.push(e);
      }
    }
    await broker.expectNothing(30); // an ack here would settle delivery 1 of `reused`
    expect(thrown).toHaveLength(3);
    for (const e of thrown) expect(e).toBeInstanceOf(ChannelClosed);
  });
});
