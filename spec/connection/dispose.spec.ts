// amqpy's `with Connection() as conn:` in TypeScript: `await using` closes channels and
// connections at the end of the block, also when the block throws.
import { describe, expect, it } from '@jest/globals';
import { ConnectionClosed, Timeout } from '../../lib/errors.js';
import { connectFake, installGuards } from '../support/fake-broker.js';

installGuards();

describe('await using (Symbol.asyncDispose)', () => {
  it('closes a channel at the end of its block (channel.close sent), then the connection', async () => {
    const { broker, conn } = await connectFake();
    const served = (async () => {
      await broker.openChannel();
      const m = await broker.expect('channel.close', 1);
      broker.send(1, 'channel.close-ok', {});
      expect(m.args.replyCode).toBe(200);
      await broker.expect('connection.close', 0);
      broker.send(0, 'connection.close-ok', {});
    })();
    {
      await using c = conn;
      {
        await using ch = await c.channel();
        expect(ch.isOpen).toBe(true);
      }
      expect(c.channels.size).toBe(0);
    }
    await served;
    expect(conn.state).toBe('closed');
  });

  it('closes the connection when the block throws, and the error propagates', async () => {
    const { broker, conn } = await connectFake();
    const served = (async () => {
      await broker.expect('connection.close', 0);
      broker.send(0, 'connection.close-ok', {});
    })();
    const run = async (): Promise<void> => {
      await using c = conn;
      expect(c.connected).toBe(true);
      throw new Error('boom');
    };
    await expect(run()).rejects.toThrow('boom');
    await served;
    expect(conn.state).toBe('closed');
    await expect(conn.channel()).rejects.toBeInstanceOf(ConnectionClosed);
  });

  it('disposing a closed channel or connection does nothing and never throws', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    const closing = ch.close();
    await broker.expect('channel.close', 1);
    broker.send(1, 'channel.close-ok', {});
    await closing;
    await ch[Symbol.asyncDispose]();
    const closeConn = conn.close();
    await broker.expect('connection.close', 0);
    broker.send(0, 'connection.close-ok', {});
    await closeConn;
    await conn[Symbol.asyncDispose]();
    await broker.expectNothing(20);
  });
});

describe('zero timeouts', () => {
  it('close({ timeout: 0 }) closes at once without an unhandled rejection', async () => {
    const { broker, conn } = await connectFake();
    await conn.close({ timeout: 0 });
    expect(conn.state).toBe('closed');
    await broker.expect('connection.close', 0); // it still told the broker
  });

  it('a call with timeout 0 rejects with Timeout unless the reply is already there', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    await expect(ch.queueDeclare('q', { timeout: 0 })).rejects.toBeInstanceOf(Timeout);
    await expect(conn.drainEvents({ timeout: 0 })).rejects.toBeInstanceOf(Timeout);
  });
});
