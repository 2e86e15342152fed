// Loopback TCP forwarder for fault injection between a client and the broker.
//   blackhole(): both directions silently drop bytes; sockets stay open and FIN/close is not
//                propagated either (like a network partition). New connections are accepted but
//                get nowhere.
//   resume():    forwarding continues; pairs whose other side went away meanwhile are torn down.
//   cutAll():    destroys every socket pair now (both peers see a reset/close).
//   close():     cutAll() plus stops listening; no timers are used, so nothing leaks.
import net from 'node:net';

export interface ProxyOptions {
  targetHost?: string;
  targetPort: number;
  /** Address to listen on (default 127.0.0.1); the port is always ephemeral. */
  listenHost?: string;
}

export interface TcpProxy {
  port: number;
  host: string;
  /** amqp://guest:guest@<host>:<port>/ going through the proxy. */
  url: string;
  blackhole(): void;
  resume(): void;
  cutAll(): void;
  close(): Promise<void>;
  /** Live client connections (pairs not yet torn down). */
  connections(): number;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** A side ended/closed while blackholed; applied on resume(). */
  deferredTeardown: boolean;
}

export async function startProxy(opts: ProxyOptions): Promise<TcpProxy> {
  const targetHost = opts.targetHost ?? '127.0.0.1';
  const host = opts.listenHost ?? '127.0.0.1';
  const pairs = new Set<Pair>();
  let blackholed = false;

  const teardown = (p: Pair): void => {
    pairs.delete(p);
    p.client.destroy();
    p.upstream.destroy();
  };

  const forward = (p: Pair, from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (blackholed || to.destroyed) return; // dropped on the floor
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => {
      if (blackholed) p.deferredTeardown = true;
      else to.end();
    });
    from.on('close', () => {
      if (blackholed && pairs.has(p)) p.deferredTeardown = true;
      else teardown(p);
    });
    from.on('error', () => {
      /* 'close' follows and handles it */
    });
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: targetHost, port: opts.targetPort, allowHalfOpen: true });
    const pair: Pair = { client, upstream, deferredTeardown: false };
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    pairs.add(pair);
    forward(pair, client, upstream);
    forward(pair, upstream, client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy: no TCP address');
  const port = address.port;

  const cutAll = (): void => {
    for (const p of [...pairs]) teardown(p);
  };

  return {
    port,
    host,
    url: `amqp://guest:guest@${host}:${port}/`,
    blackhole() {
      blackholed = true;
    },
    resume() {
      blackholed = false;
      for (const p of [...pairs]) {
        if (p.deferredTeardown || p.client.destroyed || p.upstream.destroyed) teardown(p);
      }
    },
    cutAll,
    connections: () => pairs.size,
    close() {
      cutAll();
      return new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
      });
    },
  };
}

/** A port nothing listens on. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
