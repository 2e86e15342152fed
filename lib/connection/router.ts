/**
 * FrameRouter: what a connection's transport calls. Frames for channel 0 go to ChannelZero,
 * frames for other channels to their channel's port (CHANNEL_ERROR 504 for a channel that is not
 * open); a large body's next bytes are read straight into that channel's message buffer. One
 * router per transport, with its methods on the prototype.
 */
import { AMQPError, ConnectionError, errorForCode } from '../errors.js';
import { FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD } from '../protocol/frame.js';
import { decodeMethod } from '../protocol/generated/methods.js';
import { Reader } from '../protocol/primitives.js';
import type { Transport, TransportHandlers } from '../transport/transport.js';
import type { ChannelZero } from './channel-zero.js';
import type { SharedState } from './shared.js';

/**
 * What a frame handler throws: typed errors as they are, anything else as an internal error (541).
 * The transport catches it, sends connection.close with the code (onProtocolError) and fails.
 */
function asConnectionError(err: unknown): AMQPError {
  return err instanceof AMQPError
    ? err
    : new ConnectionError(`internal error handling a frame: ${String(err)}`, { replyCode: 541, cause: err });
}

/** See the file header. */
export class FrameRouter implements TransportHandlers {
  /** The transport this router serves (set as soon as it exists). */
  transport: Transport | null = null;

  constructor(
    private readonly shared: SharedState,
    private readonly zero: ChannelZero,
    private readonly closed: (t: Transport, err: AMQPError | undefined) => void,
  ) {}

  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    try {
      if (channel === 0) {
        if (type === FRAME_METHOD) this.zero.handle(decodeMethod(new Reader(buf, start, end)));
        else if (type !== FRAME_HEARTBEAT)
          throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${type} on channel 0` }, true);
        return;
      }
      this.shared.channels.route(channel).handleFrame(type, buf, start, end);
    } catch (err) {
      throw asConnectionError(err);
    }
  }

  onBodyPart(channel: number, piece: Buffer, frameDone: boolean): void {
    try {
      if (channel === 0) throw errorForCode(505, { replyText: `UNEXPECTED_FRAME - frame type ${FRAME_BODY} on channel 0` }, true);
      this.shared.channels.route(channel).handleBodyPart(piece, frameDone);
    } catch (err) {
      throw asConnectionError(err);
    }
  }

  onClose(err: AMQPError | undefined): void {
    if (this.transport !== null) this.closed(this.transport, err);
  }

  onProtocolError(err: AMQPError): void {
    this.zero.sendClose(err.replyCode || 501, err.replyText || err.message);
  }

  bodyTarget(channel: number, n: number): Buffer | null {
    return this.shared.channels.port(channel)?.bodyTarget(n) ?? null;
  }

  bodyRemaining(channel: number): number {
    return this.shared.channels.port(channel)?.bodyRemaining ?? 0;
  }
}
