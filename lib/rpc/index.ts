/**
 * Request/response on RabbitMQ's direct reply-to: `rpcCall` / `RpcClient` (many calls in flight
 * over one reply consumer, matched by correlation id) and `rpcServer` / `serveRequests` (the
 * serving side; the latter for management-style nodes). Usable with a core Connection or Channel;
 * the Session layer builds `mgmtRequest` on it.
 */
export {
  DEFAULT_RPC_TIMEOUT,
  DIRECT_REPLY_TO,
  RPC_ERROR_HEADER,
  RpcClient,
  rpcCall,
  rpcClient,
  type RpcCallOptions,
  type RpcClientStats,
} from './client.js';
export type { DeadlineOptions } from './deadline.js';
export { RpcRemoteError, RpcReplyLost } from './errors.js';
export {
  RpcServer,
  rpcServer,
  serveRequests,
  type ManagementHandler,
  type ManagementResponse,
  type RpcHandler,
  type RpcReply,
  type RpcServerOptions,
  type RpcServerStats,
  type ServeRequestsOptions,
} from './server.js';
