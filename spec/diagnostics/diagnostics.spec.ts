// Diagnostics channels through a connection to the fake broker: every documented channel fires
// with its documented payload, at the documented moment, and nothing is published once the
// subscriber is gone.
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import type { ReceivedMessage } from '../../lib/channel/types.js';
import { DIAGNOSTICS_CHANNELS } from '../../lib/diagnostics.js';
import { ConnectionLost, PublishNacked } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { deliver, once, openChannel, rpc, serve, setup, tick } from '../support/recovery-harness.js';
import type { ConnectionDiagnosticState, RecoveryDiagnostic } from '../../lib/diagnostics.js';
import type { ConnectionState, RecoveryPhase } from '../../lib/diagnostics-publish.js';

type Name = keyof typeof DIAGNOSTICS_CHANNELS;
const seen: Array<{ name: Name; payload: Record<string, unknown> }> = [];
const unsubscribers: Array<() => void> = [];

function subscribeAll(): void {
  for (const name of Object.keys(DIAGNOSTICS_CHANNELS) as Name[]) {
    const fn = (payload: unknown): void => void seen.push({ name, payload: payload as Record<string, unknown> });
    diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS[name], fn);
    unsubscribers.push(() => diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNELS[name], fn));
  }
}

const on = (name: Name) => seen.filter((s) => s.name === name).map((s) => s.payload);

afterEach(() => {
  for (const u of unsubscribers.splice(0)) u();
  seen.length = 0;
});

describe('diagnostics channels', () => {
  it('names the seven channels amqpts: publish, confirm, return, deliver, settle, connection, recovery', () => {
    expect(Object.values(DIAGNOSTICS_CHANNELS).sort()).toEqual(
      [
        'amqpts:confirm',
        'amqpts:connection',
        'amqpts:deliver',
        'amqpts:publish',
        'amqpts:recovery',
        'amqpts:return',
        'amqpts:settle',
      ].sort(),
    );
  });

  it('publish, confirm (ack and nack) and return carry the connection, the channel and their fields', async () => {
    subscribeAll();
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const p1 = ch.basicPublish(new Message('abc', { messageId: 'm1' }), { exchange: 'x', routingKey: 'k', mandatory: true });
    const p2 = ch.basicPublish(new Message('de'), { routingKey: 'q' });
    const p3 = ch.basicPublish(new Message('f'), { routingKey: 'q' });
    expect(on('publish')).toEqual([
      expect.objectContaining({ connection: conn, channel: ch, exchange: 'x', routingKey: 'k', mandatory: true, bodySize: 3 }),
      expect.objectContaining({ connection: conn, channel: ch, exchange: '', routingKey: 'q', mandatory: false, bodySize: 2 }),
      expect.objectContaining({ exchange: '', routingKey: 'q', bodySize: 1 }),
    ]);
    expect((on('publish')[0]?.['properties'] as { messageId?: string } | undefined)?.messageId).toBe('m1');
    for (let i = 0; i < 3; i++) await b1.expectContent(1);
    b1.sendContent(1, 'basic.return', { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'x', routingKey: 'k' }, {}, Buffer.from('abc'));
    b1.send(1, 'basic.ack', { deliveryTag: 2, multiple: true });
    b1.send(1, 'basic.nack', { deliveryTag: 3, multiple: false, requeue: false });
    await expect(p1).rejects.toThrow('returned');
    await p2;
    await expect(p3).rejects.toBeInstanceOf(PublishNacked);
    const [ret] = on('return');
    expect(ret).toMatchObject({ connection: conn, channel: ch });
    expect((ret?.['message'] as ReceivedMessage | undefined)?.deliveryInfo).toMatchObject({
      replyCode: 312,
      exchange: 'x',
      routingKey: 'k',
    });
    expect(on('confirm')).toEqual([
      { connection: conn, channel: ch, ack: true, deliveryTag: 2, multiple: true },
      { connection: conn, channel: ch, ack: false, deliveryTag: 3, multiple: false },
    ]);
  });

  it('deliver (consumer and basicGet) and settle (ack, nack, reject; by message and by tag)', async () => {
    subscribeAll();
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const got: ReceivedMessage[] = [];
    const consume = ch.basicConsume('q', { consumerTag: 'c', callback: (m) => void got.push(m) });
    await rpc(b1, 1, consume, 'basic.consume', 'basic.consume-ok', { consumerTag: 'c' });
    for (let t = 1; t <= 3; t++) deliver(b1, 1, 'c', t, `m${t}`);
    await tick();
    const deliveries = on('deliver');
    expect(deliveries).toHaveLength(3);
    expect(deliveries[0]).toEqual({ connection: conn, channel: ch, message: got[0], queue: 'q', consumerTag: 'c' });
    got[0]?.ack();
    ch.basicNack(2, { multiple: true, requeue: false });
    (got[2] as ReceivedMessage).reject({ requeue: true });
    ch.basicAck(3);
    expect(on('settle')).toEqual([
      { connection: conn, channel: ch, operation: 'ack', deliveryTag: 1, multiple: false, requeue: false },
      { connection: conn, channel: ch, operation: 'nack', deliveryTag: 2, multiple: true, requeue: false },
      { connection: conn, channel: ch, operation: 'reject', deliveryTag: 3, multiple: false, requeue: true },
      { connection: conn, channel: ch, operation: 'ack', deliveryTag: 3, multiple: false, requeue: false },
    ]);
    for (const name of ['basic.ack', 'basic.nack', 'basic.reject', 'basic.ack'] as const) await b1.expect(name, 1);
    const get = ch.basicGet('q2');
    await b1.expect('basic.get', 1);
    b1.sendContent(
      1,
      'basic.get-ok',
      { deliveryTag: 4, redelivered: false, exchange: '', routingKey: 'q2', messageCount: 0 },
      {},
      Buffer.from('g'),
    );
    const msg = await get;
    expect(on('deliver')[3]).toEqual({ connection: conn, channel: ch, message: msg, queue: 'q2', consumerTag: undefined });
  });

  it('a settle that is refused (channel closed) publishes nothing', async () => {
    subscribeAll();
    const { conn, b1 } = await setup();
    const ch: Channel = await openChannel(conn, b1, 1);
    const closing = ch.close();
    await serve(b1, 1, 'channel.close', 'channel.close-ok', {});
    await closing;
    expect(() => ch.basicAck(1)).toThrow();
    expect(on('settle')).toEqual([]);
  });

  it('connection: open, blocked, unblocked, lost, recovering, recovered, closed; recovery: attempt, recovered', async () => {
    subscribeAll();
    const { f, conn, b1 } = await setup();
    b1.send(0, 'connection.blocked', { reason: 'low on memory' });
    b1.send(0, 'connection.unblocked', {});
    await tick();
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await once(conn, 'recovered');
    const closing = conn.close();
    await serve(b2, 0, 'connection.close', 'connection.close-ok', {});
    await closing;
    const states = on('connection');
    expect(states.map((s) => s['state'])).toEqual(['open', 'blocked', 'unblocked', 'lost', 'recovering', 'recovered', 'closed']);
    for (const s of states) expect(s['connection']).toBe(conn);
    expect(states[1]).toMatchObject({ reason: 'low on memory', error: undefined });
    expect(states[3]?.['error']).toBeInstanceOf(ConnectionLost);
    expect(states[6]?.['error']).toBeUndefined(); // a clean close
    const recovery = on('recovery');
    expect(recovery.map((r) => r['phase'])).toEqual(['attempt', 'recovered']);
    expect(recovery[0]).toMatchObject({ connection: conn, attempt: 1, ms: 0, entity: undefined, error: undefined });
    expect(recovery[0]?.['url']).toMatch(/^amqp:\/\/guest@/);
    expect(recovery[1]).toMatchObject({ connection: conn, attempt: 1 });
  });

  it('a subscriber that unsubscribed sees nothing more', async () => {
    subscribeAll();
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    for (const u of unsubscribers.splice(0)) u();
    const before = seen.length;
    await ch.basicPublish(new Message('x'), { routingKey: 'q' });
    await b1.expectContent(1);
    expect(seen.length).toBe(before);
  });
});

// The publishing leaf (diagnostics-publish.ts) keeps its own copies of two public unions so that the
// channel code imports nothing above it; `tsc` (CI's typecheck step) fails here if they drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameUnions: [Same<ConnectionState, ConnectionDiagnosticState>, Same<RecoveryPhase, RecoveryDiagnostic['phase']>] = [true, true];
describe('the publishing leaf and the public payload types', () => {
  it('list the same connection states and recovery phases (checked by tsc)', () => {
    expect(sameUnions).toEqual([true, true]);
  });
});
