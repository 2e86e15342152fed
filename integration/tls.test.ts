// TLS (amqps): a TLS terminator in front of the broker, with a throwaway CA and server certificate
// made by openssl for 127.0.0.1 / localhost. Proves the handshake over TLS, certificate checking
// on by default, servername (SNI and the name checked), and rejectUnauthorized: false.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { ConnectionLost, Message } from '../lib/index.js';
import { brokerUrl } from './support/broker.js';
import { makeTestPki, startTlsTerminator, type TestPki, type TlsTerminator } from './support/tls-terminator.js';
import { suite } from './harness.js';

const s = suite();
let pki: TestPki;
let terminator: TlsTerminator;
let ca = '';
let port = 0;

beforeAll(async () => {
  pki = makeTestPki('amqpts-tls-', 'amqpts test CA', 'DNS:localhost,DNS:rabbit.test,IP:127.0.0.1');
  ca = readFileSync(pki.path('ca.pem'), 'utf8');
  terminator = await startTlsTerminator(
    { key: readFileSync(pki.path('server.key')), cert: readFileSync(pki.path('server.pem')) },
    brokerUrl(),
  );
  port = terminator.port;
});

afterAll(async () => {
  await terminator?.close();
  pki?.remove();
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
