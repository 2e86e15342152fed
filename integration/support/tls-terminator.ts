// Shared by the TLS tests: a throwaway PKI made with openssl (a CA and a server certificate for
// 127.0.0.1 / localhost, valid one day) and a TLS terminator in front of the broker that pipes
// every accepted connection to it in plain AMQP.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

export interface TestPki {
  /** The folder holding ca.pem/ca.key, server.pem/server.key and whatever `openssl` makes there. */
  readonly dir: string;
  /** The file `name` of the folder. */
  path(name: string): string;
  /** Runs openssl in the folder (e.g. to sign a client certificate with ca.pem/ca.key). */
  openssl(...args: string[]): void;
  /** Deletes the folder. */
  remove(): void;
}

/** A CA named `caName` and a server certificate for CN localhost with the subjectAltNames `san`. */
export function makeTestPki(prefix: string, caName: string, san: string): TestPki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', `/CN=${caName}`);
  writeFileSync(join(dir, 'san.cnf'), `subjectAltName=${san}\n`);
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
  return { dir, path: (name) => join(dir, name), openssl, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TlsTerminator {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Stops listening and drops every connection it holds. */
  close(): Promise<void>;
}

/** A TLS server on 127.0.0.1 (options: key, cert, and for client certificates ca/requestCert) piping to `upstreamUrl`. */
export async function startTlsTerminator(options: tls.TlsOptions, upstreamUrl: string): Promise<TlsTerminator> {
  const target = new URL(upstreamUrl);
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(options, (client) => {
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
  server.on('tlsClientError', () => undefined); // a refused client (unknown CA, no certificate) is what some tests want
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
