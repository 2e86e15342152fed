// Every public Channel method against the real broker, each effect proven by what the broker does
// (routing a message, counts, rabbitmqctl listings), not just by the call resolving.
import { describe, expect, test } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccessRefused, Message, NotFound, PreconditionFailed } from '../lib/index.js';
import { rabbitmqctl } from './support/broker.js';
import { bodies, eventually, expectCount, privateQueue, rejectionOf, suite } from './harness.js';

const s = suite();

async function brokerList(
  what: 'list_exchanges' | 'list_queues',
  cols: string[],
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const rows = JSON.parse(await rabbitmqctl(what, 'name', ...cols, '--formatter', 'json')) as Array<Record<string, unknown>>;
  return rows.find((r) => r['name'] === name);
}

describe('exchanges', () => {
  test('exchangeDeclare: every type with durable/autoDelete/internal/arguments as the broker records them; passive', async () => {
    const { ch } = await s.open();
    const cases = [
      { type: 'direct', durable: true, autoDelete: false, internal: false },
      { type: 'fanout', durable: false, autoDelete: true, internal: false },
      { type: 'topic', durable: false, autoDelete: false, internal: true },
      { type: 'headers', durable: true, autoDelete: true, internal: true },
    ];
    for (const c of cases) {
      const name = s.exchange(s.name(`x-${c.type}`));
      await ch.exchangeDeclare(name, c.type, {
        durable: c.durable,
        autoDelete: c.autoDelete,
        internal: c.internal,
        arguments: { 'x-note': c.type },
      });
      await ch.exchangeDeclare(name, c.type, {
        durable: c.durable,
        autoDelete: c.autoDelete,
        internal: c.internal,
        arguments: { 'x-note': c.type },
      });
      await ch.exchangeDeclare(name, 'ignored-when-passive', { passive: true });
      expect(await brokerList('list_exchanges', ['type', 'durable', 'auto_delete', 'internal', 'arguments'], name)).toEqual({
        name,
        type: c.type,
        durable: c.durable,
        auto_delete: c.autoDelete,
        internal: c.internal,
        arguments: [['x-note', 'longstr', c.type]],
      });
    }
    const err = await rejectionOf(ch.exchangeDeclare(s.name('x-missing'), 'direct', { passive: true }));
    expect(err).toBeInstanceOf(NotFound);
    await ch.exchangeDeclare('amq.topic', 'topic', { passive: true }); // reopened, works
  });

  test('alternate-exchange argument: unroutable messages land in the AE', async () => {
    const { ch } = await s.open();
    const ae = s.exchange(s.name('x-ae'));
    const main = s.exchange(s.name('x-main'));
    await ch.exchangeDeclare(ae, 'fanout');
    await ch.exchangeDeclare(main, 'direct', { arguments: { 'alternate-exchange': ae } });
    const q = await privateQueue(ch);
    await ch.queueBind(q, { exchange: ae });
    await ch.confirmSelect();
    await ch.basicPublish(new Message('to nowhere'), { exchange: main, routingKey: 'unbound', mandatory: true });
    expect(await bodies(ch, q)).toEqual(['to nowhere']);
    expect(ch.returnedMessages).toHaveLength(0); // routed via the AE, so not returned
  });

  test('exchangeBind/exchangeUnbind route end to end, also into an internal exchange', async () => {
    const { ch } = await s.open();
    const src = s.exchange(s.name('x-src'));
    const dst = s.exchange(s.name('x-dst'));
    await ch.exchangeDeclare(src, 'topic');
    await ch.exchangeDeclare(dst, 'fanout', { internal: true });
    const q = await privateQueue(ch);
    await ch.queueBind(q, { exchange: dst });
    await ch.exchangeBind(dst, src, { routingKey: 'a.*' });
    await ch.basicPublish(new Message('a.1'), { exchange: src, routingKey: 'a.1' });
    await ch.basicPublish(new Message('b.1'), { exchange: src, routingKey: 'b.1' });
    expect(await bodies(ch, q)).toEqual(['a.1']);
    await ch.exchangeUnbind(dst, src, { routingKey: 'a.*' });
    await ch.basicPublish(new Message('a.2'), { exchange: src, routingKey: 'a.2' });
    expect(await bodies(ch, q)).toEqual([]);
    // An internal exchange refuses direct publishes: 403 closes the channel, the next call says so.
    await ch.basicPublish(new Message('direct'), { exchange: dst });
    const err = await rejectionOf(ch.queueDeclare(q, { passive: true }));
    expect(err).toBeInstanceOf(AccessRefused);
    expect(err.methodName).toBe('basic.publish');
  });

  test('an autoDelete exchange goes away with its last binding', async () => {
    const { ch } = await s.open();
    const x = s.exchange(s.name('x-autodel'));
    await ch.exchangeDeclare(x, 'direct', { autoDelete: true });
    const q = await privateQueue(ch);
    await ch.queueBind(q, { exchange: x, routingKey: 'k' });
    await ch.exchangeDeclare(x, 'direct', { passive: true, autoDelete: true });
    await ch.queueUnbind(q, { exchange: x, routingKey: 'k' });
    expect(await rejectionOf(ch.exchangeDeclare(x, 'direct', { passive: true }))).toBeInstanceOf(NotFound);
  });

  test('exchangeDelete: ifUnused refuses a bound exchange (406); plain delete removes it', async () => {
    const { ch } = await s.open();
    const x = s.exchange(s.name('x-del'));
    await ch.exchangeDeclare(x, 'fanout');
    const q = await privateQueue(ch);
    await ch.queueBind(q, { exchange: x });
    const err = await rejectionOf(ch.exchangeDelete(x, { ifUnused: true }));
    expect(err).toBeInstanceOf(PreconditionFailed);
    expect(err).toMatchObject({ replyCode: 406, methodName: 'exchange.delete' });
    await ch.exchangeDelete(x);
    expect(await rejectionOf(ch.exchangeDeclare(x, 'fanout', { passive: true }))).toBeInstanceOf(NotFound);
  });
});

describe('queues', () => {
  test('queueDeclare: server-named and named, counts of ready messages and consumers', async () => {
    const { conn, ch } = await s.open();
    const gen = await ch.queueDeclare('', { exclusive: true });
    expect(gen).toEqual({ queue: expect.stringMatching(/^amq\.gen-/), messageCount: 0, consumerCount: 0 });
    const q = s.queue(s.name('q-counts'));
    expect(await ch.queueDeclare(q, { durable: true })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    for (const b of ['1', '2', '3']) await ch.basicPublish(new Message(b), { routingKey: q });
    await expectCount(ch, q, 3);
    expect(await ch.queueDeclare(q, { passive: true })).toEqual({ queue: q, messageCount: 3, consumerCount: 0 });
    const ch2 = await conn.channel();
    await ch2.basicQos({ prefetchCount: 1 });
    const got: Message[] = [];
    await ch2.basicConsume(q, {
      callback: (m) => {
        got.push(m);
      },
    });
    await eventually(() => got.length === 1);
    expect(await ch.queueDeclare(q, { durable: true })).toEqual({ queue: q, messageCount: 2, consumerCount: 1 });
    expect(await brokerList('list_queues', ['durable', 'exclusive', 'auto_delete'], q)).toEqual({
      name: q,
      durable: true,
      exclusive: false,
      auto_delete: false,
    });
  });

  test('exclusive queues belong to their connection and vanish with it', async () => {
    const { conn, ch } = await s.open();
    const q = (await ch.queueDeclare(s.name('q-excl'), { exclusive: true })).queue;
    expect(await brokerList('list_queues', ['exclusive'], q)).toEqual({ name: q, exclusive: true });
    await conn.close();
    const other = await (await s.connect()).channel();
    expect(await rejectionOf(other.queueDeclare(q, { passive: true }))).toBeInstanceOf(NotFound);
  });

  test('arguments: x-message-ttl expires messages, x-max-length drops the oldest', async () => {
    const { ch } = await s.open();
    const ttl = (await ch.queueDeclare('', { exclusive: true, arguments: { 'x-message-ttl': 100 } })).queue;
    await ch.basicPublish(new Message('short-lived'), { routingKey: ttl });
    await sleep(300);
    expect(await ch.basicGet(ttl)).toBeNull();
    const max = (await ch.queueDeclare(s.name('q-max'), { exclusive: true, arguments: { 'x-max-length': 2 } })).queue;
    for (const b of ['m1', 'm2', 'm3', 'm4', 'm5']) await ch.basicPublish(new Message(b), { routingKey: max });
    await expectCount(ch, max, 2);
    expect(await bodies(ch, max)).toEqual(['m4', 'm5']);
    // Redeclaring with other arguments is a 406.
    const err = await rejectionOf(ch.queueDeclare(max, { exclusive: true, arguments: { 'x-max-length': 3 } }));
    expect(err).toBeInstanceOf(PreconditionFailed);
  });

  test('queueBind/queueUnbind proven by routing (direct and headers exchanges)', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    await ch.queueBind(q, { exchange: 'amq.direct', routingKey: q });
    await ch.basicPublish(new Message('bound'), { exchange: 'amq.direct', routingKey: q });
    await ch.basicPublish(new Message('other key'), { exchange: 'amq.direct', routingKey: `${q}.x` });
    expect(await bodies(ch, q)).toEqual(['bound']);
    await ch.queueUnbind(q, { exchange: 'amq.direct', routingKey: q });
    await ch.basicPublish(new Message('unbound'), { exchange: 'amq.direct', routingKey: q });
    expect(await bodies(ch, q)).toEqual([]);
    const args = { 'x-match': 'all', tenant: q, kind: 'k1' };
    await ch.queueBind(q, { exchange: 'amq.headers', arguments: args });
    await ch.basicPublish(new Message('all', { applicationHeaders: { tenant: q, kind: 'k1' } }), { exchange: 'amq.headers' });
    await ch.basicPublish(new Message('partial', { applicationHeaders: { tenant: q } }), { exchange: 'amq.headers' });
    expect(await bodies(ch, q)).toEqual(['all']);
    await ch.queueUnbind(q, { exchange: 'amq.headers', arguments: args });
    await ch.basicPublish(new Message('after', { applicationHeaders: { tenant: q, kind: 'k1' } }), { exchange: 'amq.headers' });
    expect(await bodies(ch, q)).toEqual([]);
  });

  test('queuePurge and queueDelete return counts; ifEmpty/ifUnused refuse with 406', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-purge'));
    await ch.queueDeclare(q);
    for (let i = 0; i < 4; i++) await ch.basicPublish(new Message(`p${i}`), { routingKey: q });
    expect(await ch.queuePurge(q)).toBe(4);
    expect(await ch.queuePurge(q)).toBe(0);
    for (let i = 0; i < 3; i++) await ch.basicPublish(new Message(`d${i}`), { routingKey: q });
    const notEmpty = await rejectionOf(ch.queueDelete(q, { ifEmpty: true }));
    expect(notEmpty).toBeInstanceOf(PreconditionFailed);
    expect(notEmpty).toMatchObject({ replyCode: 406, methodName: 'queue.delete' });
    const consumer = await conn.channel();
    await consumer.basicConsume(q, { noAck: true, callback: () => undefined }); // takes the 3 messages
    const inUse = await rejectionOf(ch.queueDelete(q, { ifUnused: true }));
    expect(inUse).toBeInstanceOf(PreconditionFailed);
    expect(inUse.replyText).toMatch(/in use/);
    await consumer.close();
    expect(await ch.queueDelete(q, { ifUnused: true, ifEmpty: true })).toBe(0);
    expect(await rejectionOf(ch.queueDeclare(q, { passive: true }))).toBeInstanceOf(NotFound);
    const q2 = s.queue(s.name('q-delcount'));
    await ch.queueDeclare(q2);
    for (let i = 0; i < 5; i++) await ch.basicPublish(new Message(`x${i}`), { routingKey: q2 });
    expect(await ch.queueDelete(q2, { ifUnused: true })).toBe(5);
  });
});

describe('basic', () => {
  test('basicQos: with prefetch 2 only 2 unacked deliveries arrive; acking lets the next in', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    for (let i = 0; i < 5; i++) await ch.basicPublish(new Message(`m${i}`), { routingKey: q });
    await ch.basicQos({ prefetchCount: 2 });
    const got: Message[] = [];
    await ch.basicConsume(q, {
      callback: (m) => {
        got.push(m);
      },
    });
    await eventually(() => got.length === 2);
    await sleep(300);
    expect(got.map((m) => m.body)).toEqual(['m0', 'm1']);
    got[0]!.ack();
    await eventually(() => got.length === 3);
    await sleep(200);
    expect(got).toHaveLength(3);
    ch.basicAck(got[2]!.deliveryTag, { multiple: true });
    await eventually(() => got.length === 5);
    expect(got.map((m) => m.body)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  test('basicConsume returns server and explicit tags; basicCancel stops deliveries', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    const got: string[] = [];
    const serverTag = await ch.basicConsume(q, {
      noAck: true,
      callback: (m) => {
        got.push(`s:${String(m.body)}`);
      },
    });
    expect(serverTag).toMatch(/^amq\.ctag-/);
    const mine = s.name('ctag');
    expect(
      await ch.basicConsume(q, {
        noAck: true,
        consumerTag: mine,
        callback: (m) => {
          got.push(`e:${String(m.body)}`);
        },
      }),
    ).toBe(mine);
    expect((await ch.queueDeclare(q, { passive: true })).consumerCount).toBe(2);
    await ch.basicCancel(serverTag);
    for (const b of ['a', 'b', 'c']) await ch.basicPublish(new Message(b), { routingKey: q });
    await eventually(() => got.length === 3);
    expect(got).toEqual(['e:a', 'e:b', 'e:c']);
    await ch.basicCancel(mine);
    expect((await ch.queueDeclare(q, { passive: true })).consumerCount).toBe(0);
    await ch.basicPublish(new Message('kept'), { routingKey: q });
    expect((await ch.basicGet(q, { noAck: true }))?.body).toBe('kept');
    expect(got).toHaveLength(3);
  });

  test('basicGet: null when empty; delivery info with messageCount', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    expect(await ch.basicGet(q)).toBeNull();
    await ch.basicPublish(new Message('one'), { routingKey: q });
    await ch.basicPublish(new Message('two'), { routingKey: q });
    const m = await ch.basicGet(q);
    expect(m?.body).toBe('one');
    expect(m?.deliveryInfo).toEqual({ deliveryTag: 1, redelivered: false, exchange: '', routingKey: q, messageCount: 1 });
    m?.ack();
    expect((await ch.basicGet(q, { noAck: true }))?.deliveryInfo?.messageCount).toBe(0);
    expect(await ch.basicGet(q)).toBeNull();
  });

  test('ack / nack / reject, requeue true and false, proven by redelivered flags and counts', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    for (const b of ['r', 'n1', 'n2', 'a']) await ch.basicPublish(new Message(b), { routingKey: q });
    const r = await ch.basicGet(q);
    ch.basicReject(r!.deliveryTag, { requeue: true });
    const r2 = await ch.basicGet(q); // requeued to the head
    expect([r2?.body, r2?.deliveryInfo?.redelivered]).toEqual(['r', true]);
    r2!.reject({ requeue: false });
    await expectCount(ch, q, 3);
    const n1 = await ch.basicGet(q);
    const n2 = await ch.basicGet(q);
    expect([n1?.body, n2?.body]).toEqual(['n1', 'n2']);
    ch.basicNack(n2!.deliveryTag, { multiple: true, requeue: true });
    const again = [await ch.basicGet(q), await ch.basicGet(q)];
    expect(again.map((m) => [m?.body, m?.deliveryInfo?.redelivered])).toEqual([
      ['n1', true],
      ['n2', true],
    ]);
    again[0]!.nack({ requeue: false });
    ch.basicNack(again[1]!, { requeue: false });
    await expectCount(ch, q, 1);
    const a = await ch.basicGet(q);
    ch.basicAck(a!);
    await expectCount(ch, q, 0);
    expect(await ch.basicGet(q)).toBeNull();
  });

  test('basicRecover(requeue) redelivers the unacked messages', async () => {
    const { ch } = await s.open();
    const q = await privateQueue(ch);
    const got: Message[] = [];
    await ch.basicConsume(q, {
      callback: (m) => {
        got.push(m);
      },
    });
    await ch.basicPublish(new Message('once'), { routingKey: q });
    await eventually(() => got.length === 1);
    await ch.basicRecover({ requeue: true });
    await eventually(() => got.length === 2);
    expect(got.map((m) => [m.body, m.deliveryInfo?.redelivered])).toEqual([
      ['once', false],
      ['once', true],
    ]);
    got[1]!.ack();
  });

  test('nowait variants of declare/bind/delete/purge/consume/cancel take effect', async () => {
    const { ch } = await s.open();
    const x = s.exchange(s.name('x-nowait'));
    const q = s.queue(s.name('q-nowait'));
    await ch.exchangeDeclare(x, 'direct', { nowait: true });
    expect(await ch.queueDeclare(q, { nowait: true })).toBeNull();
    await ch.queueBind(q, { exchange: x, routingKey: 'k', nowait: true });
    const x2 = s.exchange(s.name('x-nowait2'));
    await ch.exchangeDeclare(x2, 'fanout', { nowait: true });
    await ch.exchangeBind(x, x2, { nowait: true });
    await ch.basicPublish(new Message('via x2'), { exchange: x2, routingKey: 'k' }); // x2 -> x -> q
    await ch.basicPublish(new Message('via x'), { exchange: x, routingKey: 'k' });
    await expectCount(ch, q, 2);
    await ch.exchangeUnbind(x, x2, { nowait: true });
    expect(await ch.queuePurge(q, { nowait: true })).toBe(0);
    await expectCount(ch, q, 0);
    const got: string[] = [];
    await ch.basicConsume(q, {
      consumerTag: 'nowait-tag',
      noAck: true,
      nowait: true,
      callback: (m) => {
        got.push(String(m.body));
      },
    });
    await ch.basicPublish(new Message('consumed'), { exchange: x, routingKey: 'k' });
    await eventually(() => got.length === 1);
    await ch.basicCancel('nowait-tag', { nowait: true });
    expect((await ch.queueDeclare(q, { passive: true })).consumerCount).toBe(0);
    expect(await ch.queueDelete(q, { nowait: true })).toBe(0);
    await ch.exchangeDelete(x2, { nowait: true });
    expect(await rejectionOf(ch.queueDeclare(q, { passive: true }))).toBeInstanceOf(NotFound);
    expect(await rejectionOf(ch.exchangeDeclare(x2, 'fanout', { passive: true }))).toBeInstanceOf(NotFound);
    expect(got).toEqual(['consumed']);
  });
});
