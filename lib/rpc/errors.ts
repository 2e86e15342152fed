/**
 * Errors of the request/response layer (client.ts, server.ts): a reply that can no longer arrive,
 * and a server handler's failure carried back to the caller.
 */
import { AMQPError, type AMQPErrorInfo, type Message, RecoverableChannelError } from '../core.js';

/**
 * The reply to a call can no longer arrive: the channel (or connection) that consumed direct
 * reply-to closed, reopened or was lost after the request went out, so the broker has nowhere to
 * deliver the reply. The request may or may not have been handled by a server. `cause` holds the
 * channel's or connection's error when there was one.
 */
export class RpcReplyLost extends RecoverableChannelError {}

/**
 * The server's handler failed: the reply carried the error header (`RPC_ERROR_HEADER`) instead of
 * a result. `reply` is the reply message; the message text is the server's description.
 */
export class RpcRemoteError extends AMQPError {
  /** The reply message the server sent. */
  readonly reply: Message;

  /**
   * @param message - the error text (with the server's description).
   * @param reply - the reply message that carried the error.
   */
  constructor(message: string, reply: Message, info: AMQPErrorInfo = {}) {
    super(message, info);
    this.reply = reply;
  }
}
