// declare, purge and delete through the CLI, each checked through the API: the typed queue options
// really reach the broker (an equivalent redeclare succeeds, a different one fails with 406),
// bindings route, purge empties, delete removes (and a missing entity exits 4).
import { describe, expect, test } from '@jest/globals';
import { Message, NotFound, PreconditionFailed } from '../../lib/index.js';
import { expectCount, rejectionOf, suite } from '../harness.js';
import { cli } from './cli.js';

const s = suite();

describe('declare', () => {
  test('declare queue with typed options: the broker has exactly those arguments', async () => {
    const q = s.queue(s.name('cli-typed'));
    const r = await cli([
      'declare',
      'queue',
      q,
      '--durable',
      '--max-length',
      '5',
      '--message-ttl',
      '1m',
      '--dead-letter-exchange',
      'dlx',
      '--arg',
      'x-overflow=reject-publish',
    ]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`queue '${q}' declared (classic, durable): 0 messages, 0 consumers\n`);
    const { ch } = await s.open();
    const same = {
      durable: true,
      arguments: { 'x-max-length': 5, 'x-message-ttl': 60_000, 'x-dead-letter-exchange': 'dlx', 'x-overflow': 'reject-publish' },
    };
    await expect(ch.queueDeclare(q, same)).resolves.toMatchObject({ queue: q });
    const err = await rejectionOf(ch.queueDeclare(q, { ...same, arguments: { ...same.arguments, 'x-max-length': 6 } }));
    expect(err).toBeInstanceOf(PreconditionFailed);
  });

  test('declare queue --type quorum --json; redeclaring it as classic exits 5', async () => {
    const q = s.queue(s.name('cli-quorum'));
    const r = await cli(['declare', 'queue', q, '--type', 'quorum', '--delivery-limit', '3', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    const { ch } = await s.open();
    await expect(
      ch.queueDeclare(q, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 3 } }),
    ).resolves.toBeTruthy();
    const again = await cli(['declare', 'queue', q, '--durable']);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^amqpts: PreconditionFailed \(406\): inequivalent arg 'x-queue-type'/);
  });

  test('declare queue --passive: exists -> 0 with counts; missing -> exit 4', async () => {
    const q = s.queue(s.name('cli-passive'));
    const { ch } = await s.open();
    await ch.queueDeclare(q);
    await ch.basicPublish(new Message('m'), { routingKey: q });
    await expectCount(ch, q, 1);
    expect(await cli(['declare', 'queue', q, '--passive'])).toMatchObject({
      code: 0,
      stdout: `queue '${q}' exists: 1 message, 0 consumers\n`,
    });
    const missing = s.name('cli-missing');
    const r = await cli(['declare', 'queue', missing, '--passive']);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`amqpts: NotFound (404): no queue '${missing}' in vhost '/'\n`);
  });

  test('declare exchange and binding: a message published to the exchange reaches the queue', async () => {
    const x = s.exchange(s.name('cli-x'));
    const q = s.queue(s.name('cli-bound'));
    expect(await cli(['declare', 'exchange', x, '--type', 'topic'])).toMatchObject({
      code: 0,
      stdout: `exchange '${x}' declared (topic)\n`,
    });
    expect((await cli(['declare', 'queue', q])).code).toBe(0);
    const bind = await cli(['declare', 'binding', x, q, '-r', 'orders.*', '--json']);
    expect(bind.code).toBe(0);
    expect(JSON.parse(bind.stdout)).toEqual({ source: x, destination: q, destinationType: 'queue', routingKey: 'orders.*' });
    const { ch } = await s.open();
    await ch.exchangeDeclare(x, 'topic', { passive: true });
    await ch.basicPublish(new Message('routed'), { exchange: x, routingKey: 'orders.new' });
    await ch.basicPublish(new Message('not routed'), { exchange: x, routingKey: 'invoices.new' });
    await expectCount(ch, q, 1);
    expect(String((await ch.basicGet(q, { noAck: true }))?.body)).toBe('routed');
    // delete binding: the same publish no longer arrives
    expect(await cli(['delete', 'binding', x, q, '-r', 'orders.*'])).toMatchObject({
      code: 0,
      stdout: `unbound queue '${q}' to exchange '${x}' with routing key 'orders.*'\n`,
    });
    await ch.basicPublish(new Message('after unbind'), { exchange: x, routingKey: 'orders.new' });
    await ch.basicPublish(new Message('marker'), { routingKey: q });
    await expectCount(ch, q, 1);
    expect(String((await ch.basicGet(q, { noAck: true }))?.body)).toBe('marker');
  });
});

describe('purge and delete', () => {
  test('purge says how many it removed; the queue is empty', async () => {
    const q = s.queue(s.name('cli-purge'));
    const { ch } = await s.open();
    await ch.queueDeclare(q);
    for (let i = 0; i < 3; i++) await ch.basicPublish(new Message(`m${i}`), { routingKey: q });
    await expectCount(ch, q, 3);
    expect(await cli(['purge', q])).toMatchObject({ code: 0, stdout: `purged 3 messages from queue '${q}'\n` });
    await expectCount(ch, q, 0);
    expect(JSON.parse((await cli(['purge', q, '--json'])).stdout)).toEqual({ queue: q, purged: 0 });
  });

  test('delete queue and exchange: gone through the API; a second delete exits 4', async () => {
    const q = s.queue(s.name('cli-del'));
    const x = s.exchange(s.name('cli-delx'));
    const { ch } = await s.open();
    await ch.queueDeclare(q);
    await ch.exchangeDeclare(x, 'fanout');
    await ch.basicPublish(new Message('m'), { routingKey: q });
    await expectCount(ch, q, 1);
    expect(await cli(['delete', 'queue', q])).toMatchObject({ code: 0, stdout: `deleted queue '${q}' (1 message)\n` });
    expect(await cli(['delete', 'exchange', x, '--json'])).toMatchObject({
      code: 0,
      stdout: `${JSON.stringify({ exchange: x, deleted: true })}\n`,
    });
    expect(await rejectionOf(ch.queueDeclare(q, { passive: true }))).toBeInstanceOf(NotFound);
    expect(await rejectionOf(ch.exchangeDeclare(x, 'fanout', { passive: true }))).toBeInstanceOf(NotFound);
    const again = await cli(['delete', 'queue', q]);
    expect(again.code).toBe(4);
    expect(again.stderr).toBe(`amqpts: NotFound (404): no queue '${q}' in vhost '/'\n`);
  });

  test('delete queue --if-empty on a queue with messages exits 5 and keeps it', async () => {
    const q = s.queue(s.name('cli-ifempty'));
    const { ch } = await s.open();
    await ch.queueDeclare(q);
    await ch.basicPublish(new Message('m'), { routingKey: q });
    await expectCount(ch, q, 1);
    const r = await cli(['delete', 'queue', q, '--if-empty']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^amqpts: PreconditionFailed \(406\): queue '.*' not empty/);
    await expectCount(ch, q, 1);
  });
});
