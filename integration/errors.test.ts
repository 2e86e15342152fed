// Every error the real broker can be made to raise, as amqpts types it: class, reply code, the
// class/method that caused it, the channel id; channel errors must leave a reopened, working
// channel, connection errors a dead connection (and a new one works). Local ArgumentErrors must
// reject before anything is sent. Also: many concurrent calls on one channel keep their order.
import { describe, expect, test } from '@jest/globals';
import { once } from 'node:events';
import {
  AccessRefused,
  type AMQPError,
  AMQPNotImplementedError,
  ArgumentError,
  Connection,
  ConnectionForced,
  InvalidCommand,
  IrrecoverableChannelError,
  IrrecoverableConnectionError,
  Message,
  NotAllowed,
  NotFound,
  PreconditionFailed,
  RecoverableChannelError,
  ResourceError,
  ResourceLocked,
  type Channel,
} from '../lib/index.js';
import { brokerUrl, closeConnectionsWhere } from './support/broker.js';
import { privateQueue, rejectionOf, suite } from './harness.js';

const s = suite();

type ErrorClass = abstract new (...args: never[]) => AMQPError;
interface Where {
  replyCode: number;
  classId: number;
  methodId: number;
  methodName: string;
}

/** Asserts a channel error from `p`, then that the channel reopened and the next call works. */
async function channelError(ch: Channel, p: Promise<unknown>, Cls: ErrorClass, where: Where): Promise<AMQPError> {
  const reopened = once(ch, 'reopen');
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(Cls);
  expect(err).toMatchObject({ ...where, channelId: ch.channelId });
  expect(err.message).toContain(String(where.replyCode));
  await reopened;
  expect(ch.isOpen).toBe(true);
  expect(await privateQueue(ch)).toMatch(/^amq\.gen-/);
  return err;
}

/** Asserts a connection error from `p` and on 'close'; the connection is dead, a new one works. */
async function connectionError(conn: Connection, p: Promise<unknown>, Cls: ErrorClass, where: Where): Promise<AMQPError> {
  const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(Cls);
  expect(err).toBeInstanceOf(IrrecoverableConnectionError);
  expect(err).toMatchObject({ ...where, channelId: 0 });
  expect((await closed)[0]).toBeInstanceOf(Cls);
  expect(conn.isAlive()).toBe(false);
  const { ch } = await s.open();
  expect(await privateQueue(ch)).toMatch(/^amq\.gen-/);
  return err;
}

describe('channel errors (the channel reopens)', () => {
  test('404 NotFound: passive declare of a missing queue, bind to a missing exchange, publish to a missing exchange (confirm mode)', async () => {
    const { ch } = await s.open();
    const missing = s.name('missing');
    const e1 = await channelError(ch, ch.queueDeclare(missing, { passive: true }), NotFound, {
      replyCode: 404,
      classId: 50,
      methodId: 10,
      methodName: 'queue.declare',
    });
    expect(e1).toBeInstanceOf(IrrecoverableChannelError);
    expect(e1.replyText).toMatch(/^NOT_FOUND - no queue/);
    const q = await privateQueue(ch);
    await channelError(ch, ch.queueBind(q, { exchange: missing }), NotFound, {
      replyCode: 404,
      classId: 50,
      methodId: 20,
      methodName: 'queue.bind',
    });
    await ch.confirmSelect();
    await channelError(ch, ch.basicPublish(new Message('x'), { exchange: missing }), NotFound, {
      replyCode: 404,
      classId: 60,
      methodId: 40,
      methodName: 'basic.publish',
    });
    expect(ch.mode).toBe('confirm'); // restored by the reopen
    await ch.basicPublish(new Message('confirmed'), { routingKey: q });
    expect((await ch.basicGet(q, { noAck: true }))?.body).toBe('confirmed');
  });

  test("403 AccessRefused: the reserved 'amq.' prefix, and a user without permissions", async () => {
    const { ch } = await s.open();
    const e = await channelError(ch, ch.exchangeDeclare('amq.foo', 'direct'), AccessRefused, {
      replyCode: 403,
      classId: 40,
      methodId: 10,
      methodName: 'exchange.declare',
    });
    expect(e.replyText).toMatch(/reserved prefix/);
    const user = await s.user(s.name('noperm'), 'pw', { vhost: '/', configure: '^$', write: '^$', read: '^$' });
    const conn = await s.connect(`amqp://${user}:pw@127.0.0.1:5672/`);
    const limited = await conn.channel();
    const reopened = once(limited, 'reopen');
    const err = await rejectionOf(limited.queueDeclare(s.name('forbidden')));
    expect(err).toBeInstanceOf(AccessRefused);
    expect(err).toMatchObject({ replyCode: 403, classId: 50, methodId: 10, methodName: 'queue.declare', channelId: limited.channelId });
    expect(err.replyText).toContain(`refused for user '${user}'`);
    await reopened;
    await limited.exchangeDeclare('amq.direct', 'direct', { passive: true }); // allowed: works on the reopened channel
    // An exclusive consumer locks the queue for other consumers: 403 too.
    const q = await privateQueue(ch);
    await ch.basicConsume(q, { exclusive: true, callback: () => undefined });
    const excl = await channelError(ch, ch.basicConsume(q, { callback: () => undefined }), AccessRefused, {
      replyCode: 403,
      classId: 60,
      methodId: 20,
      methodName: 'basic.consume',
    });
    expect(excl.replyText).toMatch(/in exclusive use/);
  });

  test("405 ResourceLocked: another connection's exclusive queue", async () => {
    const owner = await s.open();
    const q = (await owner.ch.queueDeclare(s.name('q-locked'), { exclusive: true })).queue;
    const { ch } = await s.open();
    const where = { replyCode: 405, classId: 50, methodId: 10, methodName: 'queue.declare' };
    const e = await channelError(ch, ch.queueDeclare(q, { passive: true }), ResourceLocked, where);
    expect(e).toBeInstanceOf(RecoverableChannelError);
    await channelError(ch, ch.basicConsume(q, { callback: () => undefined }), ResourceLocked, {
      replyCode: 405,
      classId: 60,
      methodId: 20,
      methodName: 'basic.consume',
    });
    await channelError(ch, ch.basicGet(q), ResourceLocked, { replyCode: 405, classId: 60, methodId: 70, methodName: 'basic.get' });
  });

  test('406 PreconditionFailed: redeclare with other arguments; ack of an unknown delivery tag', async () => {
    const { ch } = await s.open();
    const q = (await ch.queueDeclare(s.name('q-args'), { exclusive: true, arguments: { 'x-max-length': 5 } })).queue;
    const e = await channelError(ch, ch.queueDeclare(q, { exclusive: true, arguments: { 'x-max-length': 6 } }), PreconditionFailed, {
      replyCode: 406,
      classId: 50,
      methodId: 10,
      methodName: 'queue.declare',
    });
    expect(e.replyText).toMatch(/inequivalent arg 'x-max-length'/);
    // basic.ack has no reply: the channel close arrives later and fails the next call.
    ch.basicAck(4242);
    const err = await channelError(ch, ch.queueDeclare(q, { passive: true }), PreconditionFailed, {
      replyCode: 406,
      classId: 60,
      methodId: 80,
      methodName: 'basic.ack',
    });
    expect(err.replyText).toMatch(/unknown delivery tag 4242/);
  });
});

describe('connection errors (the connection closes)', () => {
  test('on connect: unknown vhost and a user without access to the vhost are NotAllowed (530)', async () => {
    const err = await rejectionOf(Connection.connect(`${brokerUrl()}${s.name('no-vhost')}`));
    expect(err).toBeInstanceOf(NotAllowed);
    expect(err).toMatchObject({ replyCode: 530, classId: 10, methodId: 40, methodName: 'connection.open', channelId: 0 });
    const user = await s.user(s.name('novhost'), 'pw'); // no permissions anywhere
    const err2 = await rejectionOf(Connection.connect(`amqp://${user}:pw@127.0.0.1:5672/`));
    expect(err2).toBeInstanceOf(NotAllowed);
    expect(err2).toMatchObject({ replyCode: 530, methodName: 'connection.open' });
    expect(err2.replyText).toMatch(/access to vhost '\/' refused/);
  });

  test('320 ConnectionForced from rabbitmqctl close_connection', async () => {
    const name = s.name('forced');
    const conn = await s.connect(brokerUrl(), { reconnect: false, clientProperties: { connection_name: name } });
    const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
    await closeConnectionsWhere((c) => c.connectionName === name, 'by errors.test');
    const [err] = await closed;
    expect(err).toBeInstanceOf(ConnectionForced);
    expect(err).toMatchObject({ replyCode: 320, classId: 0, methodId: 0, channelId: 0 });
    expect(err?.replyText).toBe('CONNECTION_FORCED - by errors.test');
  });

  test('503 InvalidCommand: an unknown exchange type', async () => {
    const { conn, ch } = await s.open();
    await connectionError(conn, ch.exchangeDeclare(s.name('x-badtype'), 'no-such-type'), InvalidCommand, {
      replyCode: 503,
      classId: 40,
      methodId: 10,
      methodName: 'exchange.declare',
    });
  });

  test('530 NotAllowed: reusing a consumer tag on the channel', async () => {
    const { conn, ch } = await s.open();
    const q = await privateQueue(ch);
    await ch.basicConsume(q, { consumerTag: 'dup', callback: () => undefined });
    await connectionError(conn, ch.basicConsume(q, { consumerTag: 'dup', callback: () => undefined }), NotAllowed, {
      replyCode: 530,
      classId: 60,
      methodId: 20,
      methodName: 'basic.consume',
    });
  });

  test('540 NotImplemented: prefetchSize, immediate, basic.recover-async without requeue', async () => {
    const a = await s.open();
    await connectionError(a.conn, a.ch.basicQos({ prefetchSize: 10 }), AMQPNotImplementedError, {
      replyCode: 540,
      classId: 60,
      methodId: 10,
      methodName: 'basic.qos',
    });
    const b = await s.open();
    await connectionError(
      b.conn,
      b.ch.basicPublish(new Message('x'), { routingKey: 'q', immediate: true }).then(() => b.ch.queueDeclare('')),
      AMQPNotImplementedError,
      { replyCode: 540, classId: 60, methodId: 40, methodName: 'basic.publish' },
    );
    const c = await s.open();
    c.ch.basicRecoverAsync({ requeue: true }); // RabbitMQ implements this one...
    expect(await privateQueue(c.ch)).toMatch(/^amq\.gen-/);
    c.ch.basicRecoverAsync(); // ...but not requeue=false (the default)
    await connectionError(c.conn, c.ch.queueDeclare(''), AMQPNotImplementedError, {
      replyCode: 540,
      classId: 60,
      methodId: 100,
      methodName: 'basic.recover-async',
    });
  });
});

describe('local errors and ordering', () => {
  /** Runs `fn`, returning the error it throws or its promise rejects with. */
  async function failure(fn: () => unknown): Promise<unknown> {
    try {
      await fn();
    } catch (err) {
      return err;
    }
    return new Error('no error');
  }

  test('ArgumentError before anything is sent; the connection stays healthy', async () => {
    const { conn, ch } = await s.open();
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const cases: Array<[string, () => unknown, RegExp?]> = [
      ['256-byte queue name', () => ch.queueDeclare('q'.repeat(256))],
      ['256-byte UTF-8 queue name', () => ch.queueDeclare('é'.repeat(128))],
      ['256-byte exchange name', () => ch.exchangeDeclare('x'.repeat(256), 'direct')],
      ['256-byte routing key', () => ch.basicPublish(new Message('x'), { routingKey: 'k'.repeat(256) })],
      ['negative prefetch', () => ch.basicQos({ prefetchCount: -1 })],
      ['prefetch > 65535', () => ch.basicQos({ prefetchCount: 65536 })],
      ['function header', () => ch.basicPublish(new Message('x', { applicationHeaders: { fn: (() => 1) as never } })), /fn/],
      ['symbol header', () => ch.basicPublish(new Message('x', { applicationHeaders: { sym: Symbol('s') as never } })), /sym/],
      ['Map header', () => ch.basicPublish(new Message('x', { applicationHeaders: { m: new Map() as never } })), /m/],
      ['circular header', () => ch.basicPublish(new Message('x', { applicationHeaders: circular as never })), /circular/],
      ['unsafe integer header', () => ch.basicPublish(new Message('x', { applicationHeaders: { n: 2 ** 53 } })), /n/],
      ['nested function argument', () => ch.queueDeclare('', { arguments: { a: [1, { b: (() => 2) as never }] } }), /a\[1\]\.b/],
      ['priority 256', () => ch.basicPublish(new Message('x', { priority: 256 }))],
      ['not a Message', () => ch.basicPublish('text' as never)],
      ['consume without callback', () => ch.basicConsume('q', {} as never)],
      ['nowait consume without a tag', () => ch.basicConsume('q', { nowait: true, callback: () => undefined })],
      ['negative maxUnconfirmed', () => ch.confirmSelect({ maxUnconfirmed: -1 })],
      ['negative timeout', () => ch.queueDeclare('', { timeout: -5 })],
      ['negative delivery tag', () => ch.basicAck(-1)],
      ['channel id 0', () => conn.channel(0)],
      ['channel id above channelMax', () => conn.channel(conn.channelMax + 1)],
      ['port out of range', () => Connection.connect({ port: 70000 })],
      ['negative heartbeat', () => Connection.connect({ heartbeat: -1 })],
      ['http URL', () => Connection.connect('http://127.0.0.1:5672/')],
    ];
    for (const [what, fn, mentions] of cases) {
      const err = await failure(fn);
      expect([what, err]).toEqual([what, expect.any(ArgumentError)]);
      if (mentions) expect([what, (err as Error).message]).toEqual([what, expect.stringMatching(mentions)]);
    }
    expect(conn.isAlive()).toBe(true);
    expect(ch.isOpen).toBe(true);
    expect(ch.mode).toBe('none');
    const q = await privateQueue(ch);
    await ch.basicPublish(new Message('still fine', { applicationHeaders: { ok: true } }), { routingKey: q });
    expect((await ch.basicGet(q, { noAck: true }))?.body).toBe('still fine');
    expect(await privateQueue(await conn.channel())).toMatch(/^amq\.gen-/);
  });

  test('ResourceError (506) locally when every channel id is taken', async () => {
    const conn = await s.connect(brokerUrl(), { channelMax: 2 });
    await conn.channel();
    await conn.channel();
    const err = await rejectionOf(conn.channel());
    expect(err).toBeInstanceOf(ResourceError);
    expect(err.replyCode).toBe(506);
    expect(conn.isAlive()).toBe(true);
  });

  test('50 concurrent queueDeclares on one channel resolve in call order, also across a channel error', async () => {
    const { ch } = await s.open();
    const names = Array.from({ length: 50 }, (_, i) => `${s.name('order')}-${String(i).padStart(2, '0')}`);
    const missing = s.name('missing');
    const order: number[] = [];
    const calls = names.map((n, i) =>
      (i === 25 ? ch.queueDeclare(missing, { passive: true }) : ch.queueDeclare(n, { exclusive: true })).then(
        (r) => {
          order.push(i);
          return { queue: r.queue };
        },
        (err: unknown) => {
          order.push(i);
          return { err };
        },
      ),
    );
    const results = await Promise.all(calls);
    expect(order).toEqual(names.map((_, i) => i));
    results.forEach((r, i) => {
      if (i === 25) expect((r as { err: unknown }).err).toBeInstanceOf(NotFound);
      else expect((r as { queue: string }).queue).toBe(names[i]);
    });
  });
});
