/**
 * Errors of the Session layer: a management response with a status outside 2xx, and a link that
 * would exceed the session's `handleMax`.
 */
import { AMQPError, type AMQPErrorInfo, ArgumentError, type Message } from '../core.js';

/**
 * A management request (`Session.mgmtRequest`) was answered with a status code outside 2xx.
 * Carries the code, the description and the response message.
 */
export class ManagementError extends AMQPError {
  /** The status code of the response (e.g. 404, 500). */
  readonly statusCode: number;
  /** The status description of the response (`''` when it had none). */
  readonly statusDescription: string;
  /** The response message. */
  readonly response: Message;

  /**
   * @param statusCode - the response's status code (0 when it could not be read).
   * @param statusDescription - its description (`''` when none).
   * @param response - the response message.
   */
  constructor(statusCode: number, statusDescription: string, response: Message, info: AMQPErrorInfo = {}) {
    super(`management request failed with status ${statusCode}${statusDescription ? `: ${statusDescription}` : ''}`, info);
    this.statusCode = statusCode;
    this.statusDescription = statusDescription;
    this.response = response;
  }
}

/** A link (sender, receiver, server or management link) would exceed the session's `handleMax`; nothing was sent. */
export class SessionLinkLimitError extends ArgumentError {}
