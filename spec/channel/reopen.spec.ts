import { describe, it, expect, jest } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import type { Connection } from '../../lib/connection/connection.js';
import { type AMQPError, NotFound, PreconditionFailed, StaleDelivery } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import type { MethodInit, MethodName } from '../../lib/protocol/generated/methods.js';
import { connectFake, installGuards, type FakeBroker } from '../support/fake-broker.js';

installGuards();

interface Setup {
  broker: FakeBroker;
  conn: Connection;
  ch: Channel;
  got: Message[];
  cancels: { c1: jest.Mock<(err: AMQPError) => void>; c2: jest.Mock<(err: AMQPError) => void> };
}

/** Expects `name` on channel 1 and answers `reply`. */
async function serve<R extends MethodName>(broker: FakeBroker, name: MethodName, reply: R, args: MethodInit[R]): Promise<void> {
  await broker.expect(name, 1);
  broker.send(1, reply, args);
}

/** Channel 1 with prefetch (per consumer and global), confirm mode and consumers c1 (q1), c2 (q2). */
async function setup(): Promise<Setup> {
  const { broker, conn } = await connectFake();
  const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
  await Promise.all([ch.basicQos({ prefetchCount: 10 }), serve(broker, 'basic.qos', 'basic.qos-ok', {})]);
  await Promise.all([ch.basicQos({ prefetchCount: 50, global: true }), serve(broker, 'basic.qos', 'basic.qos-ok', {})]);
  await Promise.all([ch.confirmSelect(), serve(broker, 'confirm.select', 'confirm.select-ok', {})]);
  const got: Message[] = [];
  const cancels = { c1: jest.fn<(err: AMQPError) => void>(), c2: jest.fn<(err: AMQPError) => void>() };
  for (const [tag, queue] of [
    ['c1', 'q1'],
    ['c2', 'q2'],
  ] as const) {
    await Promise.all([
      ch.basicConsume(queue, {
        consumerTag: tag,
        callback: (m) => {
          got.push(m);
        },
        onCancel: cancels[tag],
        arguments: { 'x-priority': 3 },
      }),
      serve(broker, 'basic.consume', 'basic.consume-ok', { consumerTag: tag }),
    ]);
  }
  return { broker, conn, ch, got, cancels };
}

/** Plays the broker side of a reopen of channel 1 with `tags` restored successfully. */
async function expectRestore(broker: FakeBroker, tags: string[]): Promise<void> {
  await broker.openChannel(1);
  expect((await broker.expect('basic.qos', 1)).args).toMatchObject({ prefetchCount: 10, global: false });
  broker.send(1, 'basic.qos-ok', {});
  expect((await broker.expect('basic.qos', 1)).args).toMatchObject({ prefetchCount: 50, global: true });
  broker.send(1, 'basic.qos-ok', {});
  await serve(broker, 'confirm.select', 'confirm.select-ok', {});
  for (const tag of tags) {
    const m = await broker.expect('basic.consume', 1);
    expect(m.args).toMatchObject({ consumerTag: tag, queue: tag === 'c1' ? 'q1' : 'q2', noAck: false, nowait: false });
    expect({ ...m.args.arguments }).toEqual({ 'x-priority': 3 });
    broker.send(1, 'basic.consume-ok', { consumerTag: tag });
  }
}

function deliver(broker: FakeBroker, tag: string, deliveryTag: number, body: string): void {
  broker.sendContent(
    1,
    'basic.deliver',
    { consumerTag: tag, deliveryTag, redelivered: false, exchange: '', routingKey: 'q' },
    {},
    Buffer.from(body),
  );
}

const tick = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('server channel.close', () => {
  it('404 on queue.declare: typed error, close-ok, reopen on the same id with everything restored, then queued calls', async () => {
    const { broker, ch, got } = await setup();
    const events: string[] = [];
    ch.on('channelError', (e) => events.push(`channelError:${e.replyCode}`));
    ch.on('reopen', () => events.push('reopen'));
    const failing = ch.queueDeclare('missing', { passive: true }).then(
      () => null,
      (e: unknown) => e,
    );
    const queuedBefore = ch.queueDeclare('next');
    await broker.expect('queue.declare', 1);
    broker.send(1, 'channel.close', {
      replyCode: 404,
      replyText: "NOT_FOUND - no queue 'missing' in vhost '/'",
      classId: 50,
      methodId: 10,
    });

    const err = await failing;
    expect(err).toBeInstanceOf(NotFound);
    expect(err).toMatchObject({
      replyCode: 404,
      replyText: "NOT_FOUND - no queue 'missing' in vhost '/'",
      classId: 50,
      methodId: 10,
      methodName: 'queue.declare',
      channelId: 1,
    });
    expect(ch.isOpen).toBe(true);
    const queuedDuring = ch.queuePurge('next');
    await broker.expect('channel.close-ok', 1);
    await expectRestore(broker, ['c1', 'c2']);

    expect((await broker.expect('queue.declare', 1)).args.queue).toBe('next');
    broker.send(1, 'queue.declare-ok', { queue: 'next', messageCount: 0, consumerCount: 0 });
    await serve(broker, 'queue.purge', 'queue.purge-ok', { messageCount: 4 });
    await expect(queuedBefore).resolves.toMatchObject({ queue: 'next' });
    await expect(queuedDuring).resolves.toBe(4);
    expect(events).toEqual(['channelError:404', 'reopen']);

    deliver(broker, 'c2', 1, 'after reopen'); // restored consumers get deliveries again
    await tick();
    expect(got.map((m) => String(m.body))).toEqual(['after reopen']);
    got[0]?.ack();
    expect((await broker.expect('basic.ack', 1)).args).toMatchObject({ deliveryTag: 1 });
  });

  it('pending confirms reject with the typed error; publishing resumes with tags from 1', async () => {
    const { broker, ch } = await setup();
    const p1 = ch.basicPublish(new Message('a'), { exchange: 'nope' }).then(
      () => null,
      (e: unknown) => e,
    );
    const p2 = ch.basicPublish(new Message('b'), { exchange: 'nope' }).then(
      () => null,
      (e: unknown) => e,
    );
    const all = ch.waitForConfirms().then(
      () => null,
      (e: unknown) => e,
    );
    await broker.expectContent(1);
    await broker.expectContent(1);
    broker.send(1, 'channel.close', {
      replyCode: 404,
      replyText: "NOT_FOUND - no exchange 'nope' in vhost '/'",
      classId: 60,
      methodId: 40,
    });
    for (const e of await Promise.all([p1, p2, all])) {
      expect(e).toBeInstanceOf(NotFound);
      expect(e).toMatchObject({ replyCode: 404, methodName: 'basic.publish', channelId: 1 });
    }
    const p3 = ch.basicPublish(new Message('c'), { routingKey: 'q' }); // waits for the reopen
    await broker.expect('channel.close-ok', 1);
    await expectRestore(broker, ['c1', 'c2']);
    expect((await broker.expectContent(1)).body.toString()).toBe('c');
    broker.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await expect(p3).resolves.toBeUndefined();
  });

  it('a message delivered before the close cannot be acked afterwards (StaleDelivery, nothing sent)', async () => {
    const { broker, ch, got } = await setup();
    deliver(broker, 'c1', 1, 'old');
    deliver(broker, 'c1', 2, 'old too');
    await tick();
    expect(got).toHaveLength(2);
    const [old, old2] = got as [Message, Message];
    broker.send(1, 'channel.close', {
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - unknown delivery tag 9',
      classId: 60,
      methodId: 80,
    });
    const errs: AMQPError[] = [];
    ch.on('channelError', (e) => errs.push(e));
    await broker.expect('channel.close-ok', 1);
    expect(errs[0]).toBeInstanceOf(PreconditionFailed);
    expect(() => old.ack()).toThrow(StaleDelivery); // while reopening
    await expectRestore(broker, ['c1', 'c2']);
    await tick();
    expect(() => old.ack()).toThrow(StaleDelivery); // after the reopen
    expect(() => old2.nack()).toThrow(StaleDelivery);
    expect(() => old2.reject()).toThrow(StaleDelivery);
    expect(() => ch.basicAck(old)).toThrow(StaleDelivery);
    await broker.expectNothing(30);
    for (const name of ['basic.ack', 'basic.nack', 'basic.reject']) expect(broker.received.map((m) => m.name)).not.toContain(name);
  });

  it('a consumer whose restore fails (404) gets onCancel; the reopen continues without it', async () => {
    const { broker, ch, got, cancels } = await setup();
    const reopened = new Promise<void>((r) => ch.once('reopen', () => r()));
    const failing = ch.queueDeclare('x', { passive: true }).then(
      () => null,
      (e: unknown) => e,
    );
    const queued = ch.queueDelete('after');
    await broker.expect('queue.declare', 1);
    broker.send(1, 'channel.close', { replyCode: 404, replyText: 'NOT_FOUND - no queue x', classId: 50, methodId: 10 });
    expect(await failing).toBeInstanceOf(NotFound);
    await broker.expect('channel.close-ok', 1);
    await broker.openChannel(1);
    await serve(broker, 'basic.qos', 'basic.qos-ok', {});
    await serve(broker, 'basic.qos', 'basic.qos-ok', {});
    await serve(broker, 'confirm.select', 'confirm.select-ok', {});
    expect((await broker.expect('basic.consume', 1)).args.consumerTag).toBe('c1');
    broker.send(1, 'channel.close', { replyCode: 404, replyText: "NOT_FOUND - no queue 'q1'", classId: 60, methodId: 20 });
    await broker.expect('channel.close-ok', 1);
    await expectRestore(broker, ['c2']);
    await reopened;
    await tick();
    expect(cancels.c1).toHaveBeenCalledTimes(1);
    expect(cancels.c1.mock.calls[0]?.[0]).toBeInstanceOf(NotFound);
    expect(cancels.c1.mock.calls[0]?.[0]).toMatchObject({ methodName: 'basic.consume', channelId: 1 });
    expect(cancels.c2).not.toHaveBeenCalled();
    await serve(broker, 'queue.delete', 'queue.delete-ok', { messageCount: 0 });
    await expect(queued).resolves.toBe(0);
    deliver(broker, 'c2', 1, 'still here');
    await tick();
    expect(got.map((m) => String(m.body))).toEqual(['still here']);
  });

  it('a channel.close while the client is closing the channel finishes the close', async () => {
    const { broker, ch } = await setup();
    const closing = ch.close().then(
      () => null,
      (e: unknown) => e,
    );
    await broker.expect('channel.close', 1);
    broker.send(1, 'channel.close', { replyCode: 406, replyText: 'PRECONDITION_FAILED', classId: 60, methodId: 80 });
    await broker.expect('channel.close-ok', 1);
    await closing;
    expect(ch.isOpen).toBe(false);
    await broker.expectNothing(30); // no reopen
  });
});
