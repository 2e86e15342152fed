/**
 * Azure uamqp's Session on AMQP 0.9.1: a channel with incoming/outgoing windows, a link limit and
 * attach callbacks; MessageSender / MessageReceiver links; `mgmtRequest` (request/response to a
 * named node on direct reply-to) and `serveRequests` (its other end).
 */
export { ManagementError, SessionLinkLimitError } from './errors.js';
export {
  MessageReceiver,
  MessageSender,
  type SessionLinkHost,
  type SessionLinkProperties,
  type SessionReceiverCallback,
  type SessionReceiverOptions,
  type SessionSendOptions,
} from './links.js';
export type { MgmtRequestOptions } from './management.js';
export { Session, type SessionOnAttach, type SessionSenderOptions, type SessionOptions } from './session.js';
