// Channel modes and lifecycle against the real broker: channel.flow, transactions, publisher
// confirms, mandatory returns, channel ids and members, close(). (Split from channel-methods.)
import { describe, expect, test } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { AMQPNotImplementedError, ChannelClosed, NoRoute, Message } from '../lib/index.js';
import { privateQueue, rejectionOf, suite } from './harness.js';

const s = suite();

describe('flow, tx, confirms, returns, lifecycle', () => {
  test('flow(true) is accepted; flow(false) closes the connection with 540 NotImplemented', async () => {
    const { conn, ch } = await s.open();
    expect(await ch.flow(true)).toBe(true);
    expect(ch.active).toBe(true);
    const err = await rejectionOf(ch.flow(false));
    expect(err).toBeInstanceOf(AMQPNotImplementedError);
    expect(err).toMatchObject({ replyCode: 540, classId: 20, methodId: 20, methodName: 'channel.flow', channelId: 0 });
    expect(conn.isAlive()).toBe(false);
  });

  test('tx: publishes are invisible until txCommit; txRollback drops them', async () => {
    const { conn, ch } = await s.open();
    const q = await privateQueue(ch);
    const peek = await conn.channel();
    await ch.txSelect();
    expect(ch.mode).toBe('tx');
    await ch.basicPublish(new Message('committed'), { routingKey: q });
    await sleep(100);
    expect(await peek.basicGet(q)).toBeNull();
    await ch.txCommit();
    expect((await peek.basicGet(q, { noAck: true }))?.body).toBe('committed');
    await ch.basicPublish(new Message('rolled back'), { routingKey: q });
    await ch.txRollback();
    await ch.txCommit();
    expect(await peek.basicGet(q)).toBeNull();
  });

  test('confirms: basicPublish resolves on the ack, waitForConfirms; mandatory unroutable rejects with NoRoute', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    await ch.confirmSelect();
    expect(ch.mode).toBe('confirm');
    await Promise.all(Array.from({ length: 200 }, (_, i) => ch.basicPublish(new Message(`c${i}`), { routingKey: q })));
    expect((await ch.queueDeclare(q, { passive: true })).messageCount).toBe(200); // confirmed = enqueued
    for (let i = 0; i < 50; i++) void ch.basicPublish(new Message('w'), { routingKey: q });
    await ch.waitForConfirms({ timeout: 10_000 });
    expect((await ch.queueDeclare(q, { passive: true })).messageCount).toBe(250);
    const returned: Message[] = [];
    ch.on('return', (m) => returned.push(m));
    const rk = s.name('nowhere');
    const err = await rejectionOf(ch.basicPublish(new Message('lost', { messageId: 'm-1' }), { routingKey: rk, mandatory: true }));
    expect(err).toBeInstanceOf(NoRoute);
    expect(err.replyCode).toBe(312);
    const carried = (err as NoRoute & { returnedMessage?: Message }).returnedMessage;
    expect(carried?.body).toBe('lost');
    expect(carried?.properties.messageId).toBe('m-1');
    expect(returned).toHaveLength(1);
    await ch.basicPublish(new Message('not mandatory'), { routingKey: rk }); // acked although unroutable
  });

  test("mandatory unroutable without confirms: 'return' event and returnedMessages", async () => {
    const { ch } = await s.open();
    const rk = s.name('nowhere');
    const returned = new Promise<Message>((resolve) => ch.once('return', resolve));
    await ch.basicPublish(new Message('bounce', { correlationId: 'c-9' }), { routingKey: rk, mandatory: true });
    const m = await returned;
    expect(m.body).toBe('bounce');
    expect(m.properties.correlationId).toBe('c-9');
    expect(m.deliveryInfo).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: rk });
    expect(ch.returnedMessages).toEqual([m]);
  });

  test('channel ids, explicit ids, mode/active/isOpen; close() then calls reject with ChannelClosed', async () => {
    const { conn, ch } = await s.open();
    expect([ch.channelId, ch.mode, ch.active, ch.isOpen]).toEqual([1, 'none', true, true]);
    const ch2 = await conn.channel();
    expect(ch2.channelId).toBe(2);
    const ch7 = await conn.channel(7);
    expect(ch7.channelId).toBe(7);
    expect(await conn.channel(7)).toBe(ch7);
    expect(conn.channels.get(2)).toBe(ch2);
    const closed = new Promise((resolve) => ch2.once('close', resolve));
    await ch2.close();
    await ch2.close(); // no-op
    expect(await closed).toBeUndefined();
    expect(ch2.isOpen).toBe(false);
    expect(conn.channels.has(2)).toBe(false);
    for (const p of [ch2.queueDeclare(''), ch2.basicGet('x'), ch2.basicPublish(new Message('x')), ch2.txSelect()]) {
      expect(await rejectionOf(p)).toBeInstanceOf(ChannelClosed);
    }
    expect((await conn.channel()).channelId).toBe(2); // the id is reused
    expect(await privateQueue(ch)).toMatch(/^amq\.gen-/); // the others are unaffected
  });

  test('basicAck/basicNack/basicReject by tag on a closed channel throw ChannelClosed and send nothing', async () => {
    const { conn, ch } = await s.open();
    const ch2 = await conn.channel();
    await ch2.close();
    expect(() => ch2.basicAck(1)).toThrow(ChannelClosed);
    expect(() => ch2.basicNack(1)).toThrow(ChannelClosed);
    expect(() => ch2.basicReject(1)).toThrow(ChannelClosed);
    await sleep(200);
    // Nothing may reach the broker for the closed channel id (it would kill the connection: 504).
    expect(conn.isAlive()).toBe(true);
    expect(await privateQueue(ch)).toMatch(/^amq\.gen-/);
  });
});
