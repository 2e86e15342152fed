/**
 * ChannelZero: the connection's own channel. It sends channel-0 methods, hands the handshake and
 * close their replies (`expect`), and handles what the server sends unasked: connection.close
 * (answered with close-ok; the error is kept for the transport's close), connection.blocked and
 * connection.unblocked. Anything else on channel 0 is UNEXPECTED_FRAME (505).
 */
import { type AMQPError, ConnectionLost, errorForCode } from '../errors.js';
import { encodeMethodFrame } from '../protocol/encode.js';
import { METHOD_NAME, type Method, type MethodInit, type MethodName } from '../protocol/generated/methods.js';
import type { SharedState } from './shared.js';
import { type Deferred, deferred } from '../util/wait.js';

/** See the file header. */
export class ChannelZero {
  private waiter: { names: readonly MethodName[]; d: Deferred<Method> } | null = null;
  /** The error of a server connection.close, kept until the transport closes. */
  serverCloseError: AMQPError | null = null;

  /**
   * @param host - the connection's shared state.
   * @param blocking - told when the broker blocks publishing (`reason`) or lifts the block (null).
   */
  constructor(
    private readonly host: SharedState,
    private readonly blocking: (reason: string | null) => void,
  ) {}

  /** A method on channel 0. @throws UnexpectedFrame (505) for one nothing waits for. */
  handle(m: Method): void {
    const w = this.waiter;
    if (w?.names.includes(m.name)) {
      this.waiter = null;
      w.d.resolve(m);
      return;
    }
    switch (m.name) {
      case 'connection.close': {
        const a = m.args;
        const methodName = METHOD_NAME[(a.classId << 16) | a.methodId] ?? '';
        this.serverCloseError = errorForCode(
          a.replyCode,
          { replyText: a.replyText, classId: a.classId, methodId: a.methodId, methodName },
          true,
        );
        this.send('connection.close-ok', {});
        this.host.transport?.close();
        return;
      }
      case 'connection.blocked':
        this.blocking(m.args.reason);
        return;
      case 'connection.unblocked':
        this.blocking(null);
        return;
      default:
        throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - unexpected ${m.name} on channel 0` }, true);
    }
  }

  /** Waits for the next channel-0 method among `names` (the handshake's and close's replies). */
  expect(...names: MethodName[]): Promise<Method> {
    const d = deferred<Method>();
    const t = this.host.transport;
    if (!t || t.isDead) d.reject(t?.error ?? this.host.closeError ?? new ConnectionLost('the connection is closed'));
    else this.waiter = { names, d };
    return d.promise;
  }

  /** Rejects what `expect()` waits for (the transport closed). */
  failWaiter(err: AMQPError): void {
    const w = this.waiter;
    this.waiter = null;
    w?.d.reject(err);
  }

  /** Sends a channel-0 method. @throws the connection's error when it is closed. */
  send<N extends MethodName>(name: N, args: MethodInit[N]): void {
    const t = this.host.transport;
    if (!t || t.isDead) throw this.host.closeError ?? new ConnectionLost('the connection is closed');
    const frameMax = this.host.frameMax || this.host.current.frameMax; // the configured one during the handshake
    t.send(1024, (w) => encodeMethodFrame(w, 0, name, args, frameMax));
  }

  /** Tells the broker why we close (malformed input from it), flushing at once; never throws. */
  sendClose(code: number, text: string): void {
    try {
      this.send('connection.close', { replyCode: code, replyText: text.slice(0, 255), classId: 0, methodId: 0 });
      this.host.transport?.flush();
    } catch {
      /* the transport is already gone */
    }
  }
}
