// The confirmTimeout watchdog (confirm-watchdog.ts): the pure stall detector, and a connection
// whose broker stops confirming being treated as lost, reconnected and its unconfirmed publish
// republished (scripted FakeBroker); plus close() destroying a socket the broker no longer reads.
import { describe, expect, it } from '@jest/globals';

import { REPUBLISHED_HEADER } from '../../lib/channel/types.js';
import { type ConfirmProgress, ConfirmWatchdog } from '../../lib/connection/confirm-watchdog.js';
import { Connection } from '../../lib/connection/connection.js';
import { type AMQPError, ArgumentError, ConnectionLost } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { connectFake } from '../support/fake-broker.js';
import { once, openChannel, rpc, setup, tick, track } from '../support/recovery-harness.js';

describe('ConfirmWatchdog.check', () => {
  function watchdog(timeoutMs: number, progress: Map<number, ConfirmProgress | null>, paused = () => false) {
    const stalls: Array<[number, number, number]> = [];
    const w = new ConfirmWatchdog(
      timeoutMs,
      () => progress,
      paused,
      (id, n, ms) => stalls.push([id, n, ms]),
    );
    return { w, stalls };
  }

  it('reports a channel whose outstanding publishes got no confirm for timeoutMs, once, then counts again', () => {
    const p = new Map<number, ConfirmProgress | null>([[1, { outstanding: 3, acked: 10, nacked: 0 }]]);
    const { w, stalls } = watchdog(100, p);
    w.check(0);
    w.check(99);
    expect(stalls).toEqual([]);
    w.check(100);
    expect(stalls).toEqual([[1, 3, 100]]);
    w.check(150); // starts over
    expect(stalls).toHaveLength(1);
    w.check(250);
    expect(stalls).toHaveLength(2);
  });

  it('any confirm restarts the clock; no outstanding publishes, or no confirm mode, never stall', () => {
    const p = new Map<number, ConfirmProgress | null>([
      [1, { outstanding: 3, acked: 10, nacked: 0 }],
      [2, { outstanding: 0, acked: 5, nacked: 0 }],
      [3, null],
    ]);
    const { w, stalls } = watchdog(100, p);
    w.check(0);
    p.set(1, { outstanding: 4, acked: 11, nacked: 0 });
    w.check(90);
    w.check(180); // 90 ms since the last confirm
    expect(stalls).toEqual([]);
    w.check(190);
    expect(stalls).toEqual([[1, 4, 100]]);
  });

  it('does not count while paused (blocked or not open), and forgets what it saw', () => {
    let paused = false;
    const p = new Map<number, ConfirmProgress | null>([[7, { outstanding: 1, acked: 0, nacked: 0 }]]);
    const { w, stalls } = watchdog(100, p, () => paused);
    w.check(0);
    paused = true;
    w.check(500);
    paused = false;
    w.check(510);
    w.check(600);
    expect(stalls).toEqual([]);
    w.check(610);
    expect(stalls).toEqual([[7, 1, 100]]);
  });

  it('nacks are no progress, even with pauses where nothing is outstanding (a publisher retrying after a delay)', () => {
    const p = new Map<number, ConfirmProgress | null>([[1, { outstanding: 1, acked: 5, nacked: 0 }]]);
    const { w, stalls } = watchdog(100, p);
    w.check(0);
    p.set(1, { outstanding: 0, acked: 5, nacked: 1 }); // nacked; the publisher waits before trying again
    w.check(40);
    p.set(1, { outstanding: 1, acked: 5, nacked: 1 });
    w.check(80);
    p.set(1, { outstanding: 0, acked: 5, nacked: 2 });
    w.check(100);
    expect(stalls).toEqual([[1, 0, 100]]);
  });

  it('a channel that stopped waiting is forgotten', () => {
    const p = new Map<number, ConfirmProgress | null>([[1, { outstanding: 1, acked: 0, nacked: 0 }]]);
    const { w, stalls } = watchdog(100, p);
    w.check(0);
    p.set(1, { outstanding: 0, acked: 0, nacked: 0 }); // e.g. its publishes were rejected as the channel closed
    w.check(50);
    p.set(1, { outstanding: 1, acked: 0, nacked: 0 });
    w.check(120);
    expect(stalls).toEqual([]);
    w.check(220);
    expect(stalls).toHaveLength(1);
  });
});

describe('the confirmTimeout connection option', () => {
  it('is validated', async () => {
    for (const bad of [-1, Number.NaN, Infinity]) {
      await expect(Connection.connect({ confirmTimeout: bad, socket: () => undefined as never })).rejects.toThrow(ArgumentError);
    }
  });

  it('a broker that stops confirming: the connection is lost (ConnectionLost), recovers and republishes; the publish resolves', async () => {
    const { f, conn, b1 } = await setup({ confirmTimeout: 100 });
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const causes: AMQPError[] = [];
    conn.on('disconnected', (e) => causes.push(e));
    const pub = track(ch.basicPublish(new Message('m1', { messageId: 'm1' }), { routingKey: 'q' }));
    expect((await b1.expectContent(1)).properties.messageId).toBe('m1');
    // b1 never acks
    const recovered = once(conn, 'recovered');
    const b2 = await f.next(5000);
    expect(causes).toHaveLength(1);
    expect(causes[0]).toBeInstanceOf(ConnectionLost);
    expect(causes[0]?.message).toMatch(/no publish acked for \d+ ms on channel 1 \(1 outstanding\): confirmTimeout/);
    await b2.handshake();
    await b2.openChannel(1);
    await b2.expect('confirm.select', 1);
    b2.send(1, 'confirm.select-ok', {});
    const again = await b2.expectContent(1);
    expect(again.properties.messageId).toBe('m1');
    expect(again.properties.applicationHeaders?.[REPUBLISHED_HEADER]).toBe(true);
    await recovered;
    b2.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await expect(pub.p).resolves.toBeUndefined();
  });

  it('nacks are no progress: a channel whose every publish is nacked trips it too', async () => {
    const { f, conn, b1 } = await setup({ confirmTimeout: 100 });
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const lost = new Promise<AMQPError>((r) => conn.once('disconnected', r));
    let tag = 0;
    let gone = false;
    void lost.then(() => (gone = true));
    // an at-least-once publisher: each nacked message is published again; the broker nacks them all
    // (a publish outstanding when the connection is lost waits for the republish: not awaited then)
    while (!gone) {
      const p = track(ch.basicPublish(new Message('again'), { routingKey: 'q' }));
      const sent = await Promise.race([
        b1.expectContent(1).then(
          () => true,
          () => false,
        ),
        lost.then(() => false),
      ]);
      if (!sent || gone) break;
      b1.send(1, 'basic.nack', { deliveryTag: ++tag, multiple: false, requeue: false });
      await Promise.race([p.p.catch(() => undefined), lost]);
    }
    expect((await lost).message).toMatch(/no publish acked/);
    expect(tag).toBeGreaterThan(1);
    await f.next(5000); // and it reconnects
  });

  it('confirms that keep coming, or a broker blocking publishing, do not trip it; it is off by default', async () => {
    const { conn, b1 } = await setup({ confirmTimeout: 60 });
    let lost = 0;
    conn.on('disconnected', () => lost++);
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    // a slow but steady broker: one confirm every 30 ms, always something outstanding
    const pubs = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ch.basicPublish(new Message(`m${i}`), { routingKey: 'q' }));
    for (let tag = 1; tag <= 8; tag++) {
      await tick(30);
      b1.send(1, 'basic.ack', { deliveryTag: tag, multiple: false });
    }
    await Promise.all(pubs);
    // blocked: a publish sent just before is not expected to be confirmed until the block lifts
    const held = track(ch.basicPublish(new Message('held'), { routingKey: 'q' }));
    await b1.expectContent(1);
    const blocked = new Promise((r) => conn.once('blocked', r));
    b1.send(0, 'connection.blocked', { reason: 'low on memory' });
    await blocked;
    await tick(250);
    expect(lost).toBe(0);
    b1.send(0, 'connection.unblocked', {});
    b1.send(1, 'basic.ack', { deliveryTag: 9, multiple: false });
    await held.p;
    expect(lost).toBe(0);

    const off = await setup();
    let offLost = 0;
    off.conn.on('disconnected', () => offLost++);
    const och = await openChannel(off.conn, off.b1, 1);
    await rpc(off.b1, 1, och.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    track(och.basicPublish(new Message('never confirmed'), { routingKey: 'q' }));
    await tick(250);
    expect(offLost).toBe(0);
  });
});

describe('close() when the broker does not read', () => {
  it('without close-ok in time the socket is destroyed, not left waiting to flush', async () => {
    const { broker, conn } = await connectFake();
    // from now on nothing the client writes is taken: the socket never drains, as when the broker stopped reading
    (broker.clientSocket as unknown as { _write: (c: Buffer, e: string, cb: () => void) => void })._write = () => {};
    await conn.close({ timeout: 50 });
    expect(conn.state).toBe('closed');
    expect(broker.clientSocket.destroyed).toBe(true);
  });
});
