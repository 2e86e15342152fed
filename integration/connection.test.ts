// Connection against the real broker: connecting (options, URL, percent-encoded vhost), what the
// handshake negotiates (checked on the broker side too), refusals, timeouts, server-forced close,
// heartbeat loss through a blackholing proxy, close(), drainEvents() and loop().
import { describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { once } from 'node:events';
import {
  AccessRefused,
  type AMQPError,
  ConnectionClosed,
  Connection,
  ConnectionForced,
  ConnectionLost,
  HeartbeatTimeout,
  Message,
  NotAllowed,
  InvalidPath,
  RecoverableConnectionError,
  Timeout,
} from '../lib/index.js';
import { brokerUrl, closeConnectionsWhere, listConnections, rabbitmqctl, waitForConnections } from './support/broker.js';
import { freePort, startProxy } from './support/tcp-proxy.js';
import { eventually, rejectionOf, suite } from './harness.js';

const s = suite();

interface BrokerSide {
  frame_max: number;
  channel_max: number;
  timeout: number;
  user: string;
  vhost: string;
}

/** The broker's view (negotiated frame_max / channel_max / heartbeat, user, vhost) of a named connection. */
async function brokerSide(connectionName: string): Promise<BrokerSide> {
  await waitForConnections((c) => c.connectionName === connectionName);
  const rows = JSON.parse(
    await rabbitmqctl(
      'list_connections',
      'frame_max',
      'channel_max',
      'timeout',
      'user',
      'vhost',
      'client_properties',
      '--formatter',
      'json',
    ),
  ) as Array<BrokerSide & { client_properties: Array<[string, string, unknown]> }>;
  const row = rows.find((r) => r.client_properties.some(([k, , v]) => k === 'connection_name' && v === connectionName));
  if (!row) throw new Error(`connection ${connectionName} not listed`);
  return row;
}

describe('connecting', () => {
  test('via options: connected, server properties and capabilities, negotiated defaults', async () => {
    const name = s.name('conn-opts');
    const conn = await s.connect({
      host: '127.0.0.1',
      port: 5672,
      userid: 'guest',
      password: 'guest',
      virtualHost: '/',
      clientProperties: { connection_name: name },
    });
    expect(conn.connected).toBe(true);
    expect(conn.isAlive()).toBe(true);
    expect(conn.serverProperties['product']).toBe('RabbitMQ');
    expect(String(conn.serverProperties['version'])).toMatch(/^3\.10\./);
    expect(conn.serverCapabilities).toMatchObject({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      per_consumer_qos: true,
    });
    // RabbitMQ 3.10 defaults: frame_max 131072, channel_max 2047, heartbeat 60 s.
    expect([conn.frameMax, conn.channelMax, conn.heartbeat]).toEqual([131072, 2047, 60]);
    expect(await brokerSide(name)).toMatchObject({ frame_max: 131072, channel_max: 2047, timeout: 60, user: 'guest', vhost: '/' });
    const ch = await conn.channel();
    expect(ch.channelId).toBe(1);
    expect((await ch.queueDeclare('', { exclusive: true })).queue).toMatch(/^amq\.gen-/);
  });

  test('options lower the limits; URL query parameters do too; heartbeat 0 disables it', async () => {
    const a = s.name('conn-lim-a');
    const ca = await s.connect({
      url: brokerUrl(),
      frameMax: 8192,
      channelMax: 10,
      heartbeat: 5,
      loginMethod: 'AMQPLAIN',
      clientProperties: { connection_name: a },
    });
    expect([ca.frameMax, ca.channelMax, ca.heartbeat]).toEqual([8192, 10, 5]);
    expect(await brokerSide(a)).toMatchObject({ frame_max: 8192, channel_max: 10, timeout: 5 });

    const b = s.name('conn-lim-b');
    const cb = await s.connect('amqp://guest:guest@127.0.0.1:5672/?heartbeat=7&frame_max=16384&channel_max=7', {
      clientProperties: { connection_name: b },
    });
    expect([cb.frameMax, cb.channelMax, cb.heartbeat]).toEqual([16384, 7, 7]);
    expect(await brokerSide(b)).toMatchObject({ frame_max: 16384, channel_max: 7, timeout: 7 });

    const c = s.name('conn-lim-c');
    const cc = await s.connect(brokerUrl(), { heartbeat: 0, clientProperties: { connection_name: c } });
    expect(cc.heartbeat).toBe(0);
    expect((await brokerSide(c)).timeout).toBe(0);
    // A large publish still works with the small frame size (body split in 8 KiB frames).
    const ch = await ca.channel();
    const q = s.queue((await ch.queueDeclare(s.name('q-frames'))).queue);
    const body = Buffer.alloc(100_000, 7);
    await ch.basicPublish(new Message(body), { routingKey: q });
    const got = await ch.basicGet(q, { noAck: true });
    expect(Buffer.compare(got?.body as Buffer, body)).toBe(0);
  });

  test('via URL with a percent-encoded vhost and its own user', async () => {
    const vhost = await s.vhost(s.name(' test/vh'));
    expect(vhost).toMatch(/ test\/vh-/);
    const user = await s.user(s.name('user'), 'p@ss w:rd/%', { vhost, configure: '.*', write: '.*', read: '.*' });
    const name = s.name('conn-url');
    const url = `amqp://${encodeURIComponent(user)}:${encodeURIComponent('p@ss w:rd/%')}@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
    expect(url).toContain('%20test%2Fvh-');
    const conn = await s.connect(url, { clientProperties: { connection_name: name } });
    expect(await brokerSide(name)).toMatchObject({ user, vhost });
    const ch = await conn.channel();
    const q = (await ch.queueDeclare('', { exclusive: true })).queue;
    await ch.basicPublish(new Message('in the vhost'), { routingKey: q });
    expect((await ch.basicGet(q, { noAck: true }))?.body).toBe('in the vhost');
    await conn.close();
  });

  test('clientProperties.connection_name (and amqpts properties) show in listConnections', async () => {
    const name = s.name('conn-name');
    await s.connect(brokerUrl(), { clientProperties: { connection_name: name, extra: 42 } });
    const [seen] = await waitForConnections((c) => c.connectionName === name);
    expect(seen?.user).toBe('guest');
    expect(seen?.properties).toMatchObject({
      connection_name: name,
      extra: 42,
      product: 'amqpts',
      capabilities: { publisher_confirms: true, 'connection.blocked': true },
    });
  });

  test('wrong credentials reject fast with AccessRefused (403)', async () => {
    const t0 = Date.now();
    const err = await rejectionOf(Connection.connect('amqp://guest:wrong@127.0.0.1:5672/'));
    expect(err).toBeInstanceOf(AccessRefused);
    expect(err.replyCode).toBe(403);
    expect(err.message).toMatch(/ACCESS_REFUSED/);
    const amqplain = await rejectionOf(Connection.connect('amqp://nobody:wrong@127.0.0.1:5672/?auth_mechanism=amqplain'));
    expect(amqplain).toBeInstanceOf(AccessRefused);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test('an unknown vhost rejects with NotAllowed (530) naming connection.open', async () => {
    const err = await rejectionOf(Connection.connect(`${brokerUrl().replace(/\/$/, '')}/${s.name('no-such-vhost')}`));
    expect(err instanceof NotAllowed || err instanceof InvalidPath).toBe(true);
    expect(err).toBeInstanceOf(NotAllowed); // what RabbitMQ 3.10 really sends
    expect(err).toMatchObject({ replyCode: 530, classId: 10, methodId: 40, methodName: 'connection.open', channelId: 0 });
  });

  test('an unreachable port rejects with ConnectionLost', async () => {
    const port = await freePort();
    const err = await rejectionOf(Connection.connect({ host: '127.0.0.1', port, connectTimeout: 5000 }));
    expect(err).toBeInstanceOf(ConnectionLost);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  test('connectTimeout: a socket that never answers, and a blackholed proxy, reject with Timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((sock) => {
      sockets.add(sock);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    s.defer(
      () =>
        new Promise<void>((resolve) => {
          for (const x of sockets) x.destroy();
          silent.close(() => resolve());
        }),
    );
    let t0 = Date.now();
    const e1 = await rejectionOf(
      Connection.connect({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, connectTimeout: 400 }),
    );
    expect(e1).toBeInstanceOf(Timeout);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(Date.now() - t0).toBeLessThan(2000);

    const proxy = await startProxy({ targetPort: 5672 });
    s.defer(() => proxy.close());
    proxy.blackhole();
    t0 = Date.now();
    const e2 = await rejectionOf(Connection.connect(proxy.url, { connectTimeout: 400 }));
    expect(e2).toBeInstanceOf(Timeout);
    expect(Date.now() - t0).toBeLessThan(2000);
    // The same through the URL parameter.
    const e3 = await rejectionOf(Connection.connect(`${proxy.url}?connection_timeout=300`));
    expect(e3).toBeInstanceOf(Timeout);
  });
});

describe('failures of a live connection', () => {
  test('rabbitmqctl close_connection: pending calls on several channels reject with ConnectionForced (320)', async () => {
    const name = s.name('conn-forced');
    const conn = await s.connect(brokerUrl(), { reconnect: false, clientProperties: { connection_name: name } });
    const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
    const channels = await Promise.all([conn.channel(), conn.channel(), conn.channel()]);
    const chClosed = channels.map((ch) => once(ch, 'close') as Promise<[AMQPError | undefined]>);
    const q = (await channels[0]!.queueDeclare('', { exclusive: true })).queue;
    await channels[2]!.confirmSelect();
    let calls = 0;
    // Each channel keeps a call in flight (and one queued) until the connection dies.
    const busy = channels.map(async (ch, i) => {
      for (;;) {
        calls++;
        if (i === 2) await Promise.all([ch.basicPublish(new Message('x'), { routingKey: q }), ch.waitForConfirms()]);
        else await Promise.all([ch.basicGet(q, { noAck: true }), ch.queueDeclare(q, { passive: true })]);
      }
    });
    // drainEvents() is woken by every confirm; keep one pending until the connection dies.
    busy.push(
      (async () => {
        for (;;) await conn.drainEvents();
      })(),
    );
    // Observe the outcomes now: they settle while rabbitmqctl still runs.
    const outcomes = Promise.allSettled(busy);
    const forced = await closeConnectionsWhere((c) => c.connectionName === name, 'forced by the test');
    expect(forced).toHaveLength(1);
    for (const o of await outcomes) {
      expect(o.status).toBe('rejected');
      const err = (o as PromiseRejectedResult).reason as AMQPError;
      expect(err).toBeInstanceOf(ConnectionForced);
      expect(err.replyCode).toBe(320);
      expect(err.replyText).toMatch(/CONNECTION_FORCED.*forced by the test/);
    }
    expect(calls).toBeGreaterThan(3);
    const [cause] = await closed;
    expect(cause).toBeInstanceOf(ConnectionForced);
    expect(cause).toBeInstanceOf(RecoverableConnectionError);
    for (const c of await Promise.all(chClosed)) expect(c[0]).toBeInstanceOf(ConnectionForced);
    expect(conn.connected).toBe(false);
    expect(conn.isAlive()).toBe(false);
    expect(await rejectionOf(channels[1]!.queueDeclare('', { exclusive: true }))).toBeInstanceOf(ConnectionForced);
    expect(await rejectionOf(conn.channel())).toBeInstanceOf(ConnectionForced);
    expect(await rejectionOf(conn.drainEvents())).toBeInstanceOf(ConnectionForced);
    await conn.close(); // closing a dead connection is a no-op
  });

  test('with the default reconnect, close_connection: disconnected (ConnectionForced), calls fail or wait, then recovered', async () => {
    const name = s.name('conn-recover');
    const conn = await s.connect(brokerUrl(), { clientProperties: { connection_name: name } });
    const ch = await conn.channel();
    const q = s.queue(s.name('q-recover'));
    await ch.queueDeclare(q);
    const disconnected = once(conn, 'disconnected') as Promise<[AMQPError]>;
    const recovered = once(conn, 'recovered');
    const failures: unknown[] = [];
    let ok = 0;
    let stop = false;
    // The call in flight when the close lands (if any: RabbitMQ may close between two calls)
    // rejects with ConnectionForced; calls made while recovering wait and then succeed.
    const busy = (async () => {
      while (!stop) {
        try {
          await ch.basicGet(q, { noAck: true });
          ok++;
        } catch (err) {
          failures.push(err);
        }
      }
    })();
    await closeConnectionsWhere((c) => c.connectionName === name, 'recover please');
    expect((await disconnected)[0]).toBeInstanceOf(ConnectionForced);
    await recovered;
    const okAtRecovery = ok;
    await eventually(() => ok > okAtRecovery + 5, { what: 'calls after recovery' });
    stop = true;
    await busy;
    expect(failures.length).toBeLessThanOrEqual(1);
    for (const f of failures) expect(f).toBeInstanceOf(ConnectionForced);
    expect(conn.isAlive()).toBe(true);
    await ch.basicPublish(new Message('after recovery'), { routingKey: q });
    expect((await ch.basicGet(q, { noAck: true }))?.body).toBe('after recovery');
    await waitForConnections((c) => c.connectionName === name);
  });

  test('heartbeat loss (blackholed proxy, heartbeat=1): every pending promise rejects with HeartbeatTimeout within 2 intervals', async () => {
    const proxy = await startProxy({ targetPort: 5672 });
    s.defer(() => proxy.close());
    const conn = await s.connect(proxy.url, { heartbeat: 1, reconnect: false });
    expect(conn.heartbeat).toBe(1);
    const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
    const ch1 = await conn.channel();
    const ch2 = await conn.channel();
    await ch2.confirmSelect();
    const q = (await ch1.queueDeclare('', { exclusive: true })).queue;
    const cancelled: AMQPError[] = [];
    await ch1.basicConsume(q, {
      callback: () => undefined,
      onCancel: (err) => {
        cancelled.push(err);
      },
    });
    // Quiet but alive for a while: heartbeats alone keep it up.
    await new Promise((r) => setTimeout(r, 2500));
    expect(conn.isAlive()).toBe(true);

    proxy.blackhole();
    const t0 = Date.now();
    const settled = (p: Promise<unknown>): Promise<{ err: unknown; at: number }> =>
      p.then(
        () => ({ err: undefined, at: Date.now() - t0 }),
        (err: unknown) => ({ err, at: Date.now() - t0 }),
      );
    const queueName = s.queue(s.name('q-never-declared'));
    const pending = [
      settled(ch1.basicGet(q)), // in flight
      settled(ch1.queueDeclare(queueName)), // queued behind it
      settled(ch2.basicPublish(new Message('lost'), { routingKey: q })), // awaits its confirm
      settled(ch2.waitForConfirms()),
      settled(conn.drainEvents()),
      settled(conn.channel()), // channel.open in flight
    ];
    const results = await Promise.all(pending);
    const [cause] = await closed;
    for (const r of results) {
      expect(r.err).toBeInstanceOf(HeartbeatTimeout);
      expect(r.err).toBeInstanceOf(ConnectionLost);
      expect(r.at).toBeLessThanOrEqual(2 * 1000 + 750); // detection runs on a 250 ms tick
    }
    expect(Math.max(...results.map((r) => r.at))).toBeGreaterThanOrEqual(500);
    expect(cause).toBeInstanceOf(HeartbeatTimeout);
    expect(cancelled.map((e) => e.constructor)).toEqual([HeartbeatTimeout]);
    expect(conn.isAlive()).toBe(false);
    expect(await rejectionOf(ch1.queueDeclare(queueName))).toBeInstanceOf(HeartbeatTimeout);
  });
});

describe('close, drainEvents, loop', () => {
  test('close() twice (concurrently and again later) is fine; the connection is gone on the broker', async () => {
    const name = s.name('conn-close');
    const conn = await s.connect(brokerUrl(), { clientProperties: { connection_name: name } });
    const ch = await conn.channel();
    const chClosed = once(ch, 'close') as Promise<[AMQPError | undefined]>;
    const closed = once(conn, 'close') as Promise<[AMQPError | undefined]>;
    await waitForConnections((c) => c.connectionName === name);
    const a = conn.close();
    const b = conn.close();
    await Promise.all([a, b]);
    await conn.close();
    expect((await closed)[0]).toBeUndefined();
    expect((await chClosed)[0]).toBeInstanceOf(ConnectionClosed);
    expect(conn.connected).toBe(false);
    expect(conn.isAlive()).toBe(false);
    expect(ch.isOpen).toBe(false);
    expect(await rejectionOf(ch.queueDeclare(''))).toBeInstanceOf(ConnectionClosed);
    expect(await rejectionOf(conn.channel())).toBeInstanceOf(ConnectionClosed);
    for (let i = 0; i < 50 && (await listConnections()).some((c) => c.connectionName === name); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await listConnections()).some((c) => c.connectionName === name)).toBe(false);
  });

  test('drainEvents resolves on a delivery and times out with Timeout when nothing comes', async () => {
    const conn = await s.connect();
    const ch = await conn.channel();
    const q = (await ch.queueDeclare('', { exclusive: true })).queue;
    const got: Message[] = [];
    await ch.basicConsume(q, {
      noAck: true,
      callback: (m) => {
        got.push(m);
      },
    });
    const drain = conn.drainEvents({ timeout: 5000 });
    await ch.basicPublish(new Message('wake up'), { routingKey: q });
    await drain;
    expect(got.map((m) => m.body)).toEqual(['wake up']);
    const t0 = Date.now();
    const err = await rejectionOf(conn.drainEvents({ timeout: 200 }));
    expect(err).toBeInstanceOf(Timeout);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(conn.isAlive()).toBe(true); // a drain timeout harms nothing
  });

  test('loop() processes events until close(), then resolves', async () => {
    const conn = await s.connect();
    const ch = await conn.channel();
    const q = (await ch.queueDeclare('', { exclusive: true })).queue;
    const got: string[] = [];
    await ch.basicConsume(q, {
      noAck: true,
      callback: (m) => {
        got.push(String(m.body));
      },
    });
    const loop = conn.loop({ timeout: 5000 });
    for (let i = 0; i < 5; i++) await ch.basicPublish(new Message(`m${i}`), { routingKey: q });
    while (got.length < 5) await new Promise((r) => setTimeout(r, 10));
    await conn.close();
    await expect(loop).resolves.toBeUndefined();
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  test('loop({ timeout }) rejects with Timeout when no traffic arrives', async () => {
    const conn = await s.connect();
    await conn.channel();
    const t0 = Date.now();
    const err = await rejectionOf(conn.loop({ timeout: 300 }));
    expect(err).toBeInstanceOf(Timeout);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(conn.isAlive()).toBe(true);
  });
});
