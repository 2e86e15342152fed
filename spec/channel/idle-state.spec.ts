// What an idle channel holds: no publisher, no consumer registry and no call-queue array of its own until
// it uses them (heap per idle channel is an issue-16 target, measured by the scale bench; this pins the shape).
import { describe, expect, it } from '@jest/globals';

import { type Channel, channelPort } from '../../lib/channel/channel.js';
import type { Lifecycle } from '../../lib/channel/lifecycle.js';
import { Message } from '../../lib/message.js';
import { connectFake, installGuards } from '../support/fake-broker.js';

installGuards();

const lifecycleOf = (ch: Channel): Lifecycle => channelPort(ch) as Lifecycle;
const callQueueOf = (ch: Channel): unknown[] => (lifecycleOf(ch) as unknown as { link: { rpc: { queue: unknown[] } } }).link.rpc.queue;

describe('an idle channel holds only what it uses', () => {
  it('has no publisher or consumers until it publishes or consumes, and shares one empty call queue', async () => {
    const { broker, conn } = await connectFake();
    const [a] = await Promise.all([conn.channel(), broker.openChannel()]);
    const [b] = await Promise.all([conn.channel(), broker.openChannel()]);
    for (const ch of [a, b]) {
      expect(lifecycleOf(ch).publisherIfAny).toBeNull();
      expect(lifecycleOf(ch).consumersIfAny).toBeNull();
    }
    expect(callQueueOf(a)).toHaveLength(0);
    expect(callQueueOf(a)).toBe(callQueueOf(b)); // one shared array, not one per channel

    // a call in flight gets its own array, which goes again once the call is answered
    const declared = a.queueDeclare('q1');
    await broker.expect('queue.declare', a.channelId);
    broker.send(a.channelId, 'queue.declare-ok', { queue: 'q1', messageCount: 0, consumerCount: 0 });
    await declared;
    expect(callQueueOf(a)).toBe(callQueueOf(b));

    await a.basicPublish(new Message('x'), { routingKey: 'q1' });
    await broker.expectContent(a.channelId);
    expect(lifecycleOf(a).publisherIfAny).not.toBeNull();
    expect(lifecycleOf(b).publisherIfAny).toBeNull();

    const got: string[] = [];
    const consuming = b.basicConsume('q1', { noAck: true, callback: (m) => void got.push(String(m.body)) });
    await broker.expect('basic.consume', b.channelId);
    broker.send(b.channelId, 'basic.consume-ok', { consumerTag: 'c1' });
    await consuming;
    expect(lifecycleOf(b).consumersIfAny?.size).toBe(1);
    broker.sendContent(
      b.channelId,
      'basic.deliver',
      { consumerTag: 'c1', deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q1' },
      {},
      'hello',
    );
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 2));
    expect(got).toEqual(['hello']);
    const closing = conn.close();
    await broker.expect('connection.close', 0);
    broker.send(0, 'connection.close-ok', {});
    await closing;
  });
});
