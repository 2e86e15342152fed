// TLS (amqps): a TLS terminator in front of the broker, with a throwaway CA and server certificate
// made by openssl for 127.0.0.1 / localhost. Proves the handshake over TLS, certificate checking
// on by default, servername (SNI and the name checked), and rejectUnauthorized: false.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ConnectionLost, Message } from '../lib/index.js';
import { brokerUrl } from './support/broker.js';
import { suite } from './harness.js';

const s = suite();
let dir = '';
let ca = '';
let server: tls.Server;
let port = 0;
const sockets = new Set<net.Socket>();

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'amqpts-tls-'));
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=amqpts test CA',
  );
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,DNS:rabbit.test,IP:127.0.0.1\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'san.cnf',
  );
  ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const target = new URL(brokerUrl());
  server = tls.createServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) }, (client) => {
    const upstream = net.connect(Number(target.port || 5672), target.hostname);
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const sock of sockets) sock.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS', () => {
  test('amqps with the CA: handshake, publish and get over TLS', async () => {
    const conn = await s.connect(`amqps://guest:guest@127.0.0.1:${port}/`, { ssl: { ca }, reconnect: false });
    expect(conn.connected).toBe(true);
    const ch = await conn.channel();
    const q = s.queue(s.name('tls'));
    await ch.queueDeclare(q);
    await ch.basicPublish(new Message('over tls'), { routingKey: q });
    const got = await ch.basicGet(q, { noAck: true });
    expect(got?.body).toBe('over tls');
  });

  test('certificates are verified by default: an unknown CA is refused with ConnectionLost', async () => {
    const err = await s
      .connect(`amqps://guest:guest@127.0.0.1:${port}/`, { reconnect: false, connectTimeout: 5000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLost);
    expect(String((err as Error).message)).toMatch(/certificate/i);
  });

  test('servername is what gets checked: a name the certificate does not carry is refused', async () => {
    const err = await s
      .connect({ host: '127.0.0.1', port, ssl: { ca, servername: 'other.test' }, reconnect: false })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionLost);
    const ok = await s.connect({ host: '127.0.0.1', port, ssl: { ca, servername: 'rabbit.test' }, reconnect: false });
    expect(ok.connected).toBe(true);
  });

  test('rejectUnauthorized: false connects without the CA (explicit opt-out)', async () => {
    const conn = await s.connect({ host: '127.0.0.1', port, ssl: { rejectUnauthorized: false }, reconnect: false });
    expect(conn.connected).toBe(true);
  });
});
