// The Messenger's TLS properties (certificate, privateKey, password, trustedCertificates: PEM file
// paths, as Proton's) over amqps, through a TLS terminator in front of the broker that requires a
// client certificate signed by a throwaway CA (openssl). Also: a message that cannot be sent stays
// in the outgoing queue, and the error reaches send().
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type tls from 'node:tls';
import { ArgumentError, ConnectionLost, Message, Messenger, TrackerStatus } from '../../lib/index.js';
import { brokerUrl } from '../support/broker.js';
import { makeTestPki, startTlsTerminator, type TestPki, type TlsTerminator } from '../support/tls-terminator.js';
import { suite } from '../harness.js';

const s = suite();
let pki: TestPki;
let terminator: TlsTerminator;
let dir = '';
let port = 0;

beforeAll(async () => {
  pki = makeTestPki('amqpts-messenger-tls-', 'amqpts messenger test CA', 'DNS:localhost,IP:127.0.0.1');
  dir = pki.dir;
  // the client key is encrypted: `password` unlocks it
  pki.openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-keyout',
    'client.key',
    '-passout',
    'pass:s3cret',
    '-out',
    'client.csr',
    '-subj',
    '/CN=messenger',
  );
  pki.openssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.pem',
    '-days',
    '1',
  );
  const options: tls.TlsOptions = {
    key: readFileSync(pki.path('server.key')),
    cert: readFileSync(pki.path('server.pem')),
    ca: readFileSync(pki.path('ca.pem')),
    requestCert: true,
    rejectUnauthorized: true,
  };
  terminator = await startTlsTerminator(options, brokerUrl());
  port = terminator.port;
});

afterAll(async () => {
  await terminator?.close();
  pki?.remove();
});

async function messenger(setup: (m: Messenger) => void): Promise<Messenger> {
  const m = new Messenger(s.name('tls'), { connectionOptions: { reconnect: false, connectTimeout: 5000 } });
  m.timeout = 10_000;
  m.outgoingWindow = 10;
  setup(m);
  await m.start();
  s.defer(() => m.stop());
  return m;
}

describe('Messenger over amqps', () => {
  test('certificate, privateKey, password and trustedCertificates: a client-authenticated round trip', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('tls'));
    await ch.queueDeclare(q);
    const m = await messenger((x) => {
      x.certificate = join(dir, 'client.pem');
      x.privateKey = join(dir, 'client.key');
      x.password = 's3cret';
      x.trustedCertificates = join(dir, 'ca.pem');
    });
    const msg = new Message('over tls');
    msg.address = `amqps://guest:guest@127.0.0.1:${port}/${q}`;
    msg.subject = 'secure';
    const t = m.put(msg);
    await m.send();
    expect(m.status(t)).toBe(TrackerStatus.ACCEPTED);
    m.subscribe(`amqps://guest:guest@127.0.0.1:${port}/${q}`);
    await m.recv(1);
    const got = m.get()?.message;
    expect([got?.subject, got?.address, String(got?.body)]).toEqual(['secure', `amqps://127.0.0.1:${port}/${q}`, 'over tls']);
  });

  test('without a client certificate the terminator refuses the handshake: send() fails and the message stays queued', async () => {
    const m = await messenger((x) => {
      x.trustedCertificates = join(dir, 'ca.pem');
    });
    const msg = new Message('x');
    msg.address = `amqps://guest:guest@127.0.0.1:${port}/anything`;
    const t = m.put(msg);
    await expect(m.send()).rejects.toBeInstanceOf(ConnectionLost);
    expect(m.outgoing).toBe(1);
    expect(m.status(t)).toBe(TrackerStatus.PENDING);
  });

  test('a certificate file that cannot be read is an ArgumentError; nothing is lost', async () => {
    const m = await messenger((x) => {
      x.certificate = join(dir, 'no-such-file.pem');
    });
    const msg = new Message('x');
    msg.address = `amqps://127.0.0.1:${port}/anything`;
    m.put(msg);
    await expect(m.send()).rejects.toThrow(ArgumentError);
    expect(m.outgoing).toBe(1);
  });
});
