/**
 * Establishing one connection attempt: open the socket (TCP, TLS, or the user's stream), build the
 * Transport, send the protocol header and run the handshake, all under `connectTimeout` and the
 * caller's AbortSignal. On failure the transport is failed and the error propagates.
 */
import type { Duplex } from 'node:stream';
import { AMQPError, ConnectionLost } from '../errors.js';
import { PROTOCOL_HEADER } from '../protocol/frame.js';
import { openSocket, type SocketReader } from '../transport/socket.js';
import { type ReadHints, Transport, type TransportHandlers } from '../transport/transport.js';
import { arm, deferred } from '../util/wait.js';
import { type HandshakeIO, handshake, type Negotiated } from './handshake.js';
import type { ResolvedOptions } from './options.js';

/** What an attempt needs from its connection. */
export interface Attempt {
  /** The endpoint, and how it is described in messages (no password). */
  readonly ep: ResolvedOptions;
  readonly where: string;
  /** The user's `socket` option, if any. */
  readonly socket: Duplex | (() => Duplex | Promise<Duplex>) | undefined;
  readonly hints: ReadHints;
  /** Aborts the attempt (the initial connect only). */
  readonly signal: AbortSignal | undefined;
  /** What the transport calls (its frames, its close); told which transport it serves. */
  readonly router: TransportHandlers & { transport: Transport | null };
  /** The transport exists (before the handshake runs on it). */
  attached(t: Transport): void;
  /** The error to give up with when `close()` won the race, else null. */
  closedMeanwhile(): AMQPError | null;
  readonly io: HandshakeIO;
}

/** Runs one attempt; resolves with what was negotiated. */
export async function establish(a: Attempt): Promise<Negotiated> {
  const { ep, signal } = a;
  let transport: Transport | null = null;
  const failed = deferred<never>();
  failed.promise.catch(() => {});
  const disarm = arm({ timeout: ep.connectTimeout === 0 ? undefined : ep.connectTimeout, signal }, `connect to ${a.where}`, (err) => {
    failed.reject(err);
    transport?.fail(err);
  });
  try {
    const s = a.socket;
    const opened: { socket: Duplex; reader: SocketReader | null } =
      s === undefined
        ? await Promise.race([
            openSocket({ host: ep.host, port: ep.port, tls: ep.tls, connectTimeout: ep.connectTimeout, noDelay: ep.noDelay, signal }),
            failed.promise,
          ])
        : { socket: typeof s === 'function' ? await Promise.race([Promise.resolve(s()), failed.promise]) : s, reader: null };
    const closed = a.closedMeanwhile();
    if (closed) {
      opened.socket.destroy(); // close() won the race: no handshake
      throw closed;
    }
    const t = new Transport(opened.socket, a.router, ep.frameMax, opened.reader, a.hints);
    a.router.transport = t;
    transport = t;
    t.coalesceMs = ep.readBatchDelay;
    a.attached(t);
    t.send(PROTOCOL_HEADER.length, (w) => w.bytes(PROTOCOL_HEADER));
    return await Promise.race([
      handshake(a.io, ep, (neg) => {
        t.setFrameMax(neg.frameMax);
        t.startHeartbeat(neg.heartbeat * 1000);
      }),
      failed.promise,
    ]);
  } catch (err) {
    transport?.fail(err instanceof AMQPError ? err : new ConnectionLost(String(err), { cause: err }));
    throw err;
  } finally {
    disarm();
  }
}
