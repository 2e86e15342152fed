import { describe, it, expect } from '@jest/globals';

import { Connection } from '../../lib/connection/connection.js';
import type { ConnectionOptions } from '../../lib/connection/options.js';
import {
  AccessRefused,
  ArgumentError,
  ConnectionLost,
  IrrecoverableConnectionError,
  InvalidPath,
  NotAllowed,
  Timeout,
} from '../../lib/errors.js';
import { Reader, type FieldTable } from '../../lib/protocol/primitives.js';
import { VERSION } from '../../lib/version.js';
import { connectFake, FakeBroker, installGuards } from '../support/fake-broker.js';

installGuards();

/** Starts connecting to a new FakeBroker (the promise is already guarded against being unhandled). */
function start(opts: ConnectionOptions = {}): { broker: FakeBroker; connecting: Promise<Connection> } {
  const broker = new FakeBroker();
  const connecting = Connection.connect({ ...opts, socket: broker.clientSocket });
  connecting.catch(() => {});
  return { broker, connecting };
}

/** Plays start / start-ok and tune / tune-ok, then waits for connection.open. */
async function upToOpen(broker: FakeBroker): Promise<void> {
  await broker.protocolHeader();
  broker.sendStart();
  await broker.expect('connection.start-ok', 0);
  broker.send(0, 'connection.tune', { channelMax: 2047, frameMax: 131072, heartbeat: 0 });
  await broker.expect('connection.tune-ok', 0);
  await broker.expect('connection.open', 0);
}

describe('protocol header and SASL', () => {
  it('sends the AMQP 0-9-1 protocol header first', async () => {
    const { broker, conn } = await connectFake();
    expect([...(broker.header ?? [])]).toEqual([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
    expect(conn.connected).toBe(true);
    conn.close().catch(() => {});
  });

  it('PLAIN: response is \\0user\\0password in UTF-8', async () => {
    const { hs } = await connectFake({ userid: 'üser', password: 'p@ss wörd' });
    expect(hs.startOk.mechanism).toBe('PLAIN');
    expect(Buffer.from(hs.startOk.response)).toEqual(Buffer.from('\0üser\0p@ss wörd', 'utf8'));
    expect(hs.startOk.locale).toBe('en_US');
  });

  it('PLAIN with the default guest/guest credentials', async () => {
    const { hs } = await connectFake();
    expect(hs.startOk.response.toString('utf8')).toBe('\0guest\0guest');
  });

  it('AMQPLAIN: response is a field table body (no length prefix) with LOGIN and PASSWORD', async () => {
    const { hs } = await connectFake({ loginMethod: 'AMQPLAIN', userid: 'bob', password: 'secret' });
    expect(hs.startOk.mechanism).toBe('AMQPLAIN');
    const body = Buffer.from(hs.startOk.response);
    const prefixed = Buffer.concat([Buffer.alloc(4), body]);
    prefixed.writeUInt32BE(body.length, 0);
    expect({ ...new Reader(prefixed).table() }).toEqual({ LOGIN: 'bob', PASSWORD: 'secret' });
  });

  it('EXTERNAL: empty response', async () => {
    const { hs } = await connectFake({ loginMethod: 'EXTERNAL' }, { mechanisms: 'PLAIN EXTERNAL' });
    expect(hs.startOk.mechanism).toBe('EXTERNAL');
    expect(hs.startOk.response.length).toBe(0);
  });

  it('answers connection.secure with secure-ok and carries on', async () => {
    const { broker, connecting } = start();
    await broker.protocolHeader();
    broker.sendStart();
    await broker.expect('connection.start-ok', 0);
    broker.send(0, 'connection.secure', { challenge: 'more?' });
    const ok = await broker.expect('connection.secure-ok', 0);
    expect(ok.args.response.toString()).toBe('\0guest\0guest');
    broker.send(0, 'connection.tune', { channelMax: 10, frameMax: 8192, heartbeat: 0 });
    await broker.expect('connection.tune-ok', 0);
    await broker.expect('connection.open', 0);
    broker.send(0, 'connection.open-ok', {});
    await expect(connecting).resolves.toBeInstanceOf(Connection);
  });
});

describe('client properties', () => {
  it('include product, version, platform and every capability amqpts implements', async () => {
    const { hs } = await connectFake();
    const p = hs.startOk.clientProperties;
    expect(p['product']).toBe('amqpts');
    expect(p['version']).toBe(VERSION);
    expect(String(p['platform'])).toContain(process.version);
    expect(p['capabilities']).toMatchObject({
      publisher_confirms: true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      'basic.nack': true,
      exchange_exchange_bindings: true,
      per_consumer_qos: true,
    });
  });

  it('merge user clientProperties over ours', async () => {
    const { hs } = await connectFake({ clientProperties: { connection_name: 'worker-7', product: 'my-app', nested: { n: 1 } } });
    const p = hs.startOk.clientProperties;
    expect(p['connection_name']).toBe('worker-7');
    expect(p['product']).toBe('my-app');
    expect({ ...(p['nested'] as FieldTable) }).toEqual({ n: 1 });
    expect(p['capabilities']).toMatchObject({ publisher_confirms: true });
  });

  it('keeps the server properties', async () => {
    const { conn } = await connectFake({}, { serverProperties: { product: 'RabbitMQ', capabilities: { publisher_confirms: true } } });
    expect(conn.serverProperties['product']).toBe('RabbitMQ');
    expect(conn.serverCapabilities).toMatchObject({ publisher_confirms: true });
  });

  it('connections given the same server properties share one frozen table; different or unfreezable ones do not', async () => {
    const props = { product: 'RabbitMQ', version: '3.10.8', capabilities: { publisher_confirms: true } };
    const a = (await connectFake({}, { serverProperties: props })).conn;
    const b = (await connectFake({}, { serverProperties: props })).conn;
    expect(b.serverProperties).toBe(a.serverProperties);
    expect(Object.isFrozen(a.serverProperties)).toBe(true);
    expect(Object.isFrozen(a.serverProperties['capabilities'])).toBe(true);
    const c = (await connectFake({}, { serverProperties: { ...props, version: '3.13.0' } })).conn;
    expect(c.serverProperties).not.toBe(a.serverProperties);
    expect(c.serverProperties['version']).toBe('3.13.0');
    const withBytes = { ...props, blob: Buffer.from('x') };
    const d = (await connectFake({}, { serverProperties: withBytes })).conn;
    const e = (await connectFake({}, { serverProperties: withBytes })).conn;
    expect(e.serverProperties).not.toBe(d.serverProperties);
    expect(Object.isFrozen(d.serverProperties)).toBe(false);
  });
});

describe('tune negotiation', () => {
  it('takes the lower non-zero frameMax and channelMax', async () => {
    const { conn, hs } = await connectFake({ frameMax: 65536, channelMax: 100 }, { frameMax: 16384, channelMax: 2047 });
    expect(hs.tuneOk).toMatchObject({ frameMax: 16384, channelMax: 100 });
    expect(conn.frameMax).toBe(16384);
    expect(conn.channelMax).toBe(100);
  });

  it('uses ours when the server proposes 0 (no limit)', async () => {
    const { conn, hs } = await connectFake({ frameMax: 32768 }, { frameMax: 0, channelMax: 0 });
    expect(hs.tuneOk).toMatchObject({ frameMax: 32768, channelMax: 65535 });
    expect(conn.channelMax).toBe(65535);
  });

  it('uses the server limit when lower than our default', async () => {
    const { hs } = await connectFake({}, { frameMax: 8192, channelMax: 7 });
    expect(hs.tuneOk).toMatchObject({ frameMax: 8192, channelMax: 7 });
  });

  it('heartbeat defaults to the server proposal', async () => {
    const { conn, hs } = await connectFake({}, { heartbeat: 60 });
    expect(hs.tuneOk.heartbeat).toBe(60);
    expect(conn.heartbeat).toBe(60);
  });

  it('the user heartbeat wins', async () => {
    const { hs } = await connectFake({ heartbeat: 30 }, { heartbeat: 60 });
    expect(hs.tuneOk.heartbeat).toBe(30);
  });

  it('heartbeat 0 disables heartbeats', async () => {
    const { conn, hs } = await connectFake({ heartbeat: 0 }, { heartbeat: 60 });
    expect(hs.tuneOk.heartbeat).toBe(0);
    expect(conn.heartbeat).toBe(0);
  });

  it('URL parameters feed the negotiation', async () => {
    const broker = new FakeBroker();
    const connecting = Connection.connect('amqp://u%40x:p%2Fw@example.com:5673/my%2Fvhost?heartbeat=5&frame_max=10000&channel_max=9', {
      socket: broker.clientSocket,
    });
    const [conn, hs] = await Promise.all([connecting, broker.handshake({ heartbeat: 60, frameMax: 131072, channelMax: 2047 })]);
    expect(hs.startOk.response.toString()).toBe('\0u@x\0p/w');
    expect(hs.tuneOk).toEqual({ heartbeat: 5, frameMax: 10000, channelMax: 9 });
    expect(hs.open.virtualHost).toBe('my/vhost');
    expect(conn.heartbeat).toBe(5);
  });
});

describe('connection.open', () => {
  it('sends the default vhost /', async () => {
    const { hs } = await connectFake();
    expect(hs.open.virtualHost).toBe('/');
  });

  it('sends the configured vhost', async () => {
    const { hs } = await connectFake({ virtualHost: 'staging' });
    expect(hs.open.virtualHost).toBe('staging');
  });
});

describe('handshake failures', () => {
  it('connection.close 403 after start-ok -> AccessRefused, and the client answers close-ok', async () => {
    const { broker, connecting } = start({ password: 'wrong' });
    await broker.protocolHeader();
    broker.sendStart();
    await broker.expect('connection.start-ok', 0);
    broker.send(0, 'connection.close', { replyCode: 403, replyText: 'ACCESS_REFUSED - Login was refused', classId: 10, methodId: 11 });
    const err = await connecting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AccessRefused);
    expect(err).toMatchObject({ replyCode: 403, classId: 10, methodId: 11, methodName: 'connection.start-ok' });
    expect((err as Error).message).toContain('ACCESS_REFUSED');
    await broker.expect('connection.close-ok', 0);
    await broker.closed;
  });

  it('connection.close 530 after connection.open -> NotAllowed', async () => {
    const { broker, connecting } = start({ virtualHost: 'forbidden' });
    await upToOpen(broker);
    broker.send(0, 'connection.close', {
      replyCode: 530,
      replyText: "NOT_ALLOWED - access to vhost 'forbidden' refused",
      classId: 10,
      methodId: 40,
    });
    const err = await connecting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotAllowed);
    expect(err).toMatchObject({ replyCode: 530, methodName: 'connection.open' });
    await broker.expect('connection.close-ok', 0);
  });

  it('connection.close 402 after connection.open -> InvalidPath', async () => {
    const { broker, connecting } = start({ virtualHost: 'nope' });
    await upToOpen(broker);
    broker.send(0, 'connection.close', { replyCode: 402, replyText: 'INVALID_PATH', classId: 10, methodId: 40 });
    await expect(connecting).rejects.toBeInstanceOf(InvalidPath);
    await expect(connecting).rejects.toMatchObject({ replyCode: 402 });
  });

  it('socket destroyed mid-handshake -> ConnectionLost', async () => {
    const { broker, connecting } = start();
    await broker.protocolHeader();
    broker.sendStart();
    await broker.expect('connection.start-ok', 0);
    broker.destroy();
    await expect(connecting).rejects.toBeInstanceOf(ConnectionLost);
  });

  it('socket ended (FIN) after tune -> ConnectionLost', async () => {
    const { broker, connecting } = start();
    await upToOpen(broker);
    broker.end();
    await expect(connecting).rejects.toBeInstanceOf(ConnectionLost);
    await broker.closed;
  });

  it('server never answers -> Timeout after connectTimeout, socket closed', async () => {
    const t0 = Date.now();
    const { broker, connecting } = start({ connectTimeout: 150 });
    await broker.protocolHeader();
    const err = await connecting.then(
      () => null,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(Timeout);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    await broker.closed;
  });

  it('server stalls after start-ok -> Timeout', async () => {
    const { broker, connecting } = start({ connectTimeout: 100 });
    await broker.protocolHeader();
    broker.sendStart();
    await broker.expect('connection.start-ok', 0);
    await expect(connecting).rejects.toBeInstanceOf(Timeout);
  });

  it('an aborted signal -> Timeout', async () => {
    const ac = new AbortController();
    const { broker, connecting } = start({ signal: ac.signal });
    await broker.protocolHeader();
    ac.abort(new Error('user gave up'));
    await expect(connecting).rejects.toBeInstanceOf(Timeout);
  });

  it('login method not offered by the server -> IrrecoverableConnectionError, no start-ok sent', async () => {
    const { broker, connecting } = start({ loginMethod: 'EXTERNAL' });
    await broker.protocolHeader();
    broker.sendStart({ mechanisms: 'PLAIN AMQPLAIN' });
    const err = await connecting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IrrecoverableConnectionError);
    expect((err as Error).message).toContain('EXTERNAL');
    await broker.closed;
    expect(broker.received.map((m) => m.name)).not.toContain('connection.start-ok');
  });

  it.each<[string, ConnectionOptions]>([
    ['frameMax below 8192', { frameMax: 4096 }],
    ['channelMax 0', { channelMax: 0 }],
    ['negative heartbeat', { heartbeat: -1 }],
    ['unknown login method', { loginMethod: 'CRAM-MD5' as never }],
    ['malformed URL', { url: 'not a url' }],
    ['wrong URL scheme', { url: 'http://localhost/' }],
    ['bad URL parameter', { url: 'amqp://localhost/?frame_max=100' }],
    ['port out of range', { port: 70000 }],
  ])('invalid option (%s) -> ArgumentError before anything is sent', async (_what, opts) => {
    const { broker, connecting } = start(opts);
    await expect(connecting).rejects.toBeInstanceOf(ArgumentError);
    await new Promise((r) => setTimeout(r, 20));
    expect(broker.header).toBeNull();
  });
});
