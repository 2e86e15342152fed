/**
 * Opens the TCP or TLS socket under a connect timeout. TCP_NODELAY is on by default (AMQP is a
 * request/response protocol: Nagle plus delayed ACKs cost ~40 ms per round trip). TLS verifies the
 * server certificate unless the caller turns `rejectUnauthorized` off explicitly.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ConnectionLost, Timeout } from '../errors.js';

/** TLS settings for `amqps` connections (a subset of Node's `tls.ConnectionOptions`). */
export interface TlsOptions {
  /** Trusted CA certificates (PEM). Default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate chain (PEM), for mutual TLS / the EXTERNAL login method. */
  cert?: string | Buffer | Array<string | Buffer>;
  /** Client private key (PEM). */
  key?: string | Buffer | Array<string | Buffer>;
  /** Passphrase of the private key. */
  passphrase?: string;
  /** Server name for SNI and certificate checking (default: the host, unless it is an IP). */
  servername?: string;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
}

/** @internal What `openSocket()` needs. */
export interface SocketOptions {
  host: string;
  port: number;
  tls: TlsOptions | undefined;
  connectTimeout: number;
  noDelay: boolean;
  signal?: AbortSignal | undefined;
}

/** @internal Connects and resolves with the open socket, or rejects with ConnectionLost / Timeout. */
export function openSocket(opts: SocketOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const where = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
    let sock: net.Socket;
    if (opts.tls) {
      const t = opts.tls;
      const servername = t.servername ?? (net.isIP(opts.host) ? undefined : opts.host);
      sock = tls.connect({
        host: opts.host,
        port: opts.port,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.cert !== undefined ? { cert: t.cert } : {}),
        ...(t.key !== undefined ? { key: t.key } : {}),
        ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
        ...(servername !== undefined ? { servername } : {}),
      });
    } else {
      sock = net.connect({ host: opts.host, port: opts.port });
    }
    const readyEvent = opts.tls ? 'secureConnect' : 'connect';
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      sock.removeListener('error', onError);
      sock.removeListener(readyEvent, onReady);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    function onError(err: Error): void {
      fail(new ConnectionLost(`could not connect to ${where}: ${err.message}`, { cause: err }));
    }
    function onAbort(): void {
      fail(new Timeout(`connect to ${where}: aborted`, { cause: opts.signal?.reason }));
    }
    function onReady(): void {
      cleanup();
      sock.setNoDelay(opts.noDelay);
      resolve(sock);
    }
    sock.once('error', onError);
    sock.once(readyEvent, onReady);
    if (opts.signal?.aborted) { onAbort(); return; }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.connectTimeout > 0 && opts.connectTimeout !== Infinity) {
      timer = setTimeout(() => {
        fail(new Timeout(`connect to ${where}: timed out after ${opts.connectTimeout} ms`));
      }, opts.connectTimeout);
    }
  });
}
