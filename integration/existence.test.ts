// Existence checks that return a Result and never close the caller's channel.
import { describe, expect, test } from '@jest/globals';
import { NotFound } from '../lib/index.js';
import { suite } from './harness.js';

const s = suite();

describe('conn.checkQueue / conn.checkExchange', () => {
  test('a missing queue is Err(NotFound); an existing one Ok with its counts; the caller channel stays open', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('exists'));
    await ch.queueDeclare(q);
    const missing = await conn.checkQueue(s.name('missing'));
    expect(missing.isErr()).toBe(true);
    expect(missing.isErr() && missing.error).toBeInstanceOf(NotFound);
    const found = await conn.checkQueue(q);
    expect(found.isOk() && found.value).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    // the caller's channel never saw the 404, and the scratch channels are gone
    expect(ch.isOpen).toBe(true);
    expect([...conn.channels.keys()]).toEqual([ch.channelId]);
    await ch.queueDeclare(q, { passive: true });
  });

  test('exchanges likewise', async () => {
    const { conn, ch } = await s.open();
    const x = s.exchange(s.name('x'));
    await ch.exchangeDeclare(x, 'fanout');
    expect((await conn.checkExchange(x)).isOk()).toBe(true);
    const missing = await conn.checkExchange(s.name('no-x'));
    expect(missing.isErr() && missing.error.replyCode).toBe(404);
    expect(ch.isOpen).toBe(true);
  });
});
