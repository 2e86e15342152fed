// Typed queue declarations: every rule of queueArguments() (queue-types.ts), and queueDeclare
// sending the merged arguments or refusing before anything reaches the (fake) broker.
import { describe, expect, it } from '@jest/globals';

import { queueArguments, type QueueFlags, type TypedQueueOptions } from '../../lib/channel/queue-types.js';
import { ArgumentError } from '../../lib/errors.js';
import { connectFake, installGuards } from '../support/fake-broker.js';

installGuards();

const durable = { durable: true } as const;

/** The ArgumentError queueArguments throws for `opts` (fails the test when it returns). */
function refusal(opts: TypedQueueOptions & QueueFlags, queue = 'q'): ArgumentError {
  try {
    queueArguments(queue, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ArgumentError);
    return err as ArgumentError;
  }
  throw new Error(`expected queueArguments to refuse ${JSON.stringify(opts)}`);
}

describe('queueArguments: arguments it builds', () => {
  it('maps every classic option to its x- argument, keeping raw arguments', () => {
    expect(
      queueArguments('q', {
        type: 'classic',
        maxLength: 10,
        maxLengthBytes: 2048,
        overflow: 'reject-publish-dlx',
        messageTtl: 0,
        expires: 60_000,
        deadLetterExchange: 'dlx',
        deadLetterRoutingKey: 'dead',
        singleActiveConsumer: true,
        arguments: { 'x-max-priority': 5 },
      }),
    ).toEqual({
      'x-queue-type': 'classic',
      'x-max-length': 10,
      'x-max-length-bytes': 2048,
      'x-overflow': 'reject-publish-dlx',
      'x-message-ttl': 0,
      'x-expires': 60_000,
      'x-dead-letter-exchange': 'dlx',
      'x-dead-letter-routing-key': 'dead',
      'x-single-active-consumer': true,
      'x-max-priority': 5,
    });
  });

  it('maps quorum options, initialClusterSize as x-quorum-initial-group-size', () => {
    expect(
      queueArguments('q', {
        ...durable,
        type: 'quorum',
        deliveryLimit: 3,
        queueLeaderLocator: 'balanced',
        initialClusterSize: 3,
        overflow: 'reject-publish',
        maxLength: 100,
        messageTtl: 5000,
        singleActiveConsumer: false,
      }),
    ).toEqual({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 3,
      'x-queue-leader-locator': 'balanced',
      'x-quorum-initial-group-size': 3,
      'x-overflow': 'reject-publish',
      'x-max-length': 100,
      'x-message-ttl': 5000,
      'x-single-active-consumer': false,
    });
  });

  it('maps stream options, initialClusterSize as x-initial-cluster-size, maxAge in ms as seconds', () => {
    expect(
      queueArguments('s', {
        ...durable,
        type: 'stream',
        maxAge: 3_600_000,
        maxLengthBytes: 1e9,
        streamMaxSegmentSizeBytes: 3_000_000_000,
        initialClusterSize: 2,
        queueLeaderLocator: 'client-local',
      }),
    ).toEqual({
      'x-queue-type': 'stream',
      'x-max-age': '3600s',
      'x-max-length-bytes': 1e9,
      'x-stream-max-segment-size-bytes': 3_000_000_000,
      'x-initial-cluster-size': 2,
      'x-queue-leader-locator': 'client-local',
    });
    expect(queueArguments('s', { ...durable, type: 'stream', maxAge: '7D' })['x-max-age']).toBe('7D');
  });

  it('passes raw arguments through untouched when no typed option is given', () => {
    const raw = { 'x-anything': 'goes', 'x-max-length': 5 };
    expect(queueArguments('q', { arguments: raw })).toEqual(raw);
    expect(queueArguments('q', {})).toEqual({});
  });

  it('takes a raw x-queue-type as the type (and applies its rules)', () => {
    expect(queueArguments('q', { ...durable, deliveryLimit: 2, arguments: { 'x-queue-type': 'quorum' } })).toEqual({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 2,
    });
    expect(refusal({ arguments: { 'x-queue-type': 'quorum' } }).message).toMatch(/quorum queues must be durable/);
  });

  it('accepts a raw argument that agrees with a typed option', () => {
    expect(queueArguments('q', { type: 'classic', maxLength: 3, arguments: { 'x-max-length': 3, 'x-queue-type': 'classic' } })).toEqual({
      'x-queue-type': 'classic',
      'x-max-length': 3,
    });
  });
});

describe('queueArguments: flags quorum and stream queues refuse', () => {
  for (const type of ['quorum', 'stream'] as const) {
    it(`${type}: must be durable (omitted or false)`, () => {
      expect(refusal({ type }).message).toMatch(new RegExp(`${type} queues must be durable`));
      expect(refusal({ type, durable: false }).message).toMatch(/durable: true/);
    });
    it(`${type}: not exclusive, not auto-delete, not server-named`, () => {
      expect(refusal({ type, ...durable, exclusive: true }).message).toMatch(/cannot be exclusive/);
      expect(refusal({ type, ...durable, autoDelete: true }).message).toMatch(/cannot be auto-delete/);
      expect(refusal({ type, ...durable }, '').message).toMatch(/cannot be server-named/);
    });
  }

  it('classic queues may be exclusive, auto-delete, transient and server-named', () => {
    expect(queueArguments('', { type: 'classic', exclusive: true, autoDelete: true })).toEqual({ 'x-queue-type': 'classic' });
  });

  it('passive declares skip the combination rules (the broker ignores everything but the name)', () => {
    expect(queueArguments('q', { passive: true, type: 'quorum', deliveryLimit: 1 })).toEqual({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 1,
    });
    expect(queueArguments('q', { passive: true, type: 'stream', maxLength: 1 })['x-max-length']).toBe(1);
  });
});

describe('queueArguments: options a type does not support', () => {
  const cases: Array<[string, TypedQueueOptions, RegExp]> = [
    ['maxLength on a stream', { type: 'stream', maxLength: 1 }, /maxLength is not supported by stream queues/],
    ['overflow on a stream', { type: 'stream', overflow: 'drop-head' }, /overflow is not supported by stream/],
    ['messageTtl on a stream', { type: 'stream', messageTtl: 1 }, /messageTtl is not supported by stream/],
    ['expires on a stream', { type: 'stream', expires: 1 }, /expires is not supported by stream/],
    ['deadLetterExchange on a stream', { type: 'stream', deadLetterExchange: 'x' }, /deadLetterExchange is not supported by stream/],
    ['singleActiveConsumer on a stream', { type: 'stream', singleActiveConsumer: true }, /singleActiveConsumer is not supported by stream/],
    [
      'deliveryLimit on a stream',
      { type: 'stream', deliveryLimit: 1 },
      /deliveryLimit is not supported by stream queues \(only 'quorum'\)/,
    ],
    ['deliveryLimit on a classic queue', { type: 'classic', deliveryLimit: 1 }, /deliveryLimit is not supported by classic/],
    ['maxAge on a quorum queue', { type: 'quorum', maxAge: '1D' }, /maxAge is not supported by quorum queues \(only 'stream'\)/],
    ['maxAge on a classic queue', { type: 'classic', maxAge: '1D' }, /maxAge is not supported by classic/],
    [
      'segment size on a quorum queue',
      { type: 'quorum', streamMaxSegmentSizeBytes: 1 },
      /streamMaxSegmentSizeBytes is not supported by quorum/,
    ],
    [
      'leader locator on a classic queue',
      { type: 'classic', queueLeaderLocator: 'balanced' },
      /queueLeaderLocator is not supported by classic/,
    ],
    ['initialClusterSize on a classic queue', { type: 'classic', initialClusterSize: 3 }, /initialClusterSize is not supported by classic/],
  ];
  for (const [what, opts, re] of cases) {
    it(`refuses ${what}`, () => {
      expect(refusal({ ...durable, ...opts }).message).toMatch(re);
    });
  }

  it("refuses quorum overflow 'reject-publish-dlx' (RabbitMQ would silently use drop-head)", () => {
    expect(refusal({ ...durable, type: 'quorum', overflow: 'reject-publish-dlx' }).message).toMatch(/not implemented by quorum/);
  });

  it('refuses a dead-letter routing key without a dead-letter exchange', () => {
    expect(refusal({ type: 'classic', deadLetterRoutingKey: 'k' }).message).toMatch(/deadLetterRoutingKey needs deadLetterExchange/);
  });

  it('refuses raw arguments the type does not support', () => {
    expect(refusal({ ...durable, type: 'stream', arguments: { 'x-max-length': 1 } }).message).toMatch(
      /arguments\['x-max-length'\] is not supported by stream/,
    );
    expect(refusal({ ...durable, type: 'quorum', arguments: { 'x-max-priority': 3 } }).message).toMatch(/x-max-priority.*quorum/);
    expect(refusal({ ...durable, type: 'quorum', arguments: { 'x-initial-cluster-size': 3 } }).message).toMatch(
      /x-initial-cluster-size.*only stream/,
    );
  });

  it('refuses a type-specific option without a type (it depends on the queue type)', () => {
    expect(refusal({ deliveryLimit: 1 }).message).toMatch(/deliveryLimit depends on the queue type: set type \('quorum'\)/);
    expect(refusal({ maxAge: '1D' }).message).toMatch(/set type \('stream'\)/);
  });
});

describe('queueArguments: values', () => {
  const bad: Array<[string, TypedQueueOptions]> = [
    ['a negative maxLength', { maxLength: -1 }],
    ['a fractional maxLengthBytes', { maxLengthBytes: 1.5 }],
    ['an unsafe maxLength', { maxLength: 2 ** 60 }],
    ['a negative messageTtl', { messageTtl: -1 }],
    ['expires 0', { expires: 0 }],
    ['a negative deliveryLimit', { deliveryLimit: -1 }],
    ['initialClusterSize 0', { initialClusterSize: 0 }],
    ['segment size 0', { streamMaxSegmentSizeBytes: 0 }],
    ['segment size over 3e9', { streamMaxSegmentSizeBytes: 3_000_000_001 }],
    ['maxAge in ms not whole seconds', { maxAge: 1500 }],
    ['maxAge 0', { maxAge: 0 }],
    ['maxAge with a bad unit', { maxAge: '10x' as never }],
    ['maxAge with a fraction', { maxAge: '1.5h' as never }],
    ['maxAge 0s', { maxAge: '0s' }],
    ['an unknown overflow', { overflow: 'drop-tail' as never }],
    ['an unknown leader locator', { queueLeaderLocator: 'random' as never }],
    ['a non-boolean singleActiveConsumer', { singleActiveConsumer: 'yes' as never }],
    ['a non-string deadLetterExchange', { deadLetterExchange: 1 as never }],
    ['a string maxLength', { maxLength: '10' as never }],
  ];
  const streamOnly = ['maxAge', 'streamMaxSegmentSizeBytes'];
  for (const [what, opts] of bad) {
    it(`refuses ${what}, naming the option`, () => {
      const key = Object.keys(opts)[0] as string;
      // a type that supports the option, so that only its value can be wrong
      const type = streamOnly.includes(key) ? 'stream' : 'quorum';
      expect(refusal({ type, ...durable, ...opts }).message).toMatch(new RegExp(`: ${key} must be`));
    });
  }

  it('refuses an unknown type', () => {
    expect(refusal({ type: 'lazy' as never }).message).toMatch(/type must be 'classic', 'quorum' or 'stream', got lazy/);
  });

  it('refuses typed options that contradict raw arguments', () => {
    expect(refusal({ type: 'quorum', ...durable, arguments: { 'x-queue-type': 'stream' } }).message).toMatch(/contradicts/);
    expect(refusal({ type: 'classic', maxLength: 3, arguments: { 'x-max-length': 4 } }).message).toMatch(
      /maxLength contradicts arguments\['x-max-length'\]/,
    );
  });

  it('names the queue in the message', () => {
    expect(refusal({ type: 'quorum' }, 'orders').message).toMatch(/^queueDeclare\('orders'\): /);
  });
});

describe('Channel.queueDeclare with typed options', () => {
  it('sends the typed options as x- arguments', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    const declared = ch.queueDeclare('orders', { type: 'quorum', durable: true, deliveryLimit: 5, deadLetterExchange: 'dlx' });
    const m = await broker.expect('queue.declare', 1);
    expect(m.args).toMatchObject({ queue: 'orders', durable: true, exclusive: false, autoDelete: false });
    expect({ ...m.args.arguments }).toEqual({ 'x-queue-type': 'quorum', 'x-delivery-limit': 5, 'x-dead-letter-exchange': 'dlx' });
    broker.send(1, 'queue.declare-ok', { queue: 'orders', messageCount: 0, consumerCount: 0 });
    await expect(declared).resolves.toEqual({ queue: 'orders', messageCount: 0, consumerCount: 0 });
  });

  it('refuses a combination the type does not allow before sending anything', async () => {
    const { broker, conn } = await connectFake();
    const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
    await expect(ch.queueDeclare('q', { type: 'quorum', durable: true, exclusive: true })).rejects.toThrow(ArgumentError);
    await expect(ch.queueDeclare('s', { type: 'stream', durable: true, maxLength: 1 })).rejects.toThrow(/maxLength is not supported/);
    await broker.expectNothing(50);
    // the channel is still usable
    const ok = ch.queueDeclare('c', { type: 'classic' });
    await broker.expect('queue.declare', 1);
    broker.send(1, 'queue.declare-ok', { queue: 'c', messageCount: 0, consumerCount: 0 });
    await expect(ok).resolves.toMatchObject({ queue: 'c' });
  });
});
