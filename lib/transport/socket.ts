/**
 * Opens the TCP or TLS socket under a connect timeout. TCP_NODELAY is on by default (AMQP is a
 * request/response protocol: Nagle plus delayed ACKs cost ~40 ms per round trip). TLS verifies the
 * server certificate unless the caller turns `rejectUnauthorized` off explicitly.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ConnectionLost, Timeout } from '../errors.js';
import { landing } from './buffers.js';

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

/**
 * @internal Inbound buffers for a plain TCP socket (Node's `onread` mode). Every connection of the
 * process reads into the same landing buffer (`landing` in buffers.ts): libuv hands each read to
 * its callback synchronously, and what the transport keeps of a chunk it copies before the
 * callback returns (the frame parser copies split frames, the content assembler copies bodies),
 * so an idle connection holds no read memory of its own. A large message body is read straight
 * into its own buffer instead (`plan`). No 'data' events are emitted. When `sink` returns false,
 * reading stops (the kernel buffers what arrives) until `resume()`.
 */
export class SocketReader {
  /** Receives every chunk read; set by the transport before any byte arrives. */
  sink: (chunk: Buffer) => boolean = () => true;
  /**
   * Where the next read goes: a buffer to read straight into (a message body), a byte limit for
   * a read into the landing buffer, or 0 for a full read there. Set by the transport.
   */
  plan: () => Buffer | number = () => 0;
  private socket: net.Socket | null = null;
  /** The `onread` option for `net.connect`. */
  readonly onread = {
    buffer: (): Buffer => this.next(),
    callback: (n: number, buf: Uint8Array): boolean => {
      const chunk = buf as Buffer;
      return this.sink(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  };

  /** @internal */
  attach(socket: net.Socket): void {
    this.socket = socket;
  }

  /** Starts reading again after `sink` returned false. */
  resume(): void {
    const s = this.socket;
    if (s && !s.destroyed) s.resume();
  }

  private next(): Buffer {
    let want: Buffer | number = 0;
    try {
      want = this.plan();
    } catch {
      // never let an exception escape into Node's read path: fall back to the landing buffer
    }
    if (typeof want !== 'number') return want;
    return want > 0 && want < landing.length ? landing.subarray(0, want) : landing;
  }
}

/** @internal An open socket and, for plain TCP, the reader its bytes arrive through. */
export interface OpenedSocket {
  socket: net.Socket;
  reader: SocketReader | null;
}

/** @internal Connects and resolves with the open socket, or rejects with ConnectionLost / Timeout. */
export function openSocket(opts: SocketOptions): Promise<OpenedSocket> {
  return new Promise((resolve, reject) => {
    const where = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
    let sock: net.Socket;
    let reader: SocketReader | null = null;
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
      reader = new SocketReader();
      sock = net.connect({ host: opts.host, port: opts.port, onread: reader.onread });
      reader.attach(sock);
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
      resolve({ socket: sock, reader });
    }
    sock.once('error', onError);
    sock.once(readyEvent, onReady);
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.connectTimeout > 0 && opts.connectTimeout !== Infinity) {
      timer = setTimeout(() => {
        fail(new Timeout(`connect to ${where}: timed out after ${opts.connectTimeout} ms`));
      }, opts.connectTimeout);
    }
  });
}
