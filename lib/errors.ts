/**
 * The amqpts error tree, shaped after amqpy's `amqpy.exceptions`.
 *
 * ```
 * AMQPError
 * ├── ArgumentError                 bad input, caught locally before anything is sent
 * │   ├── UnencodableValue          a value the wire cannot carry (also `instanceof FrameSyntaxError`)
 * │   └── NotSupportedByServer      a feature this server lacks (e.g. stream filtering before 3.13)
 * ├── Timeout                       a call's own timeout or AbortSignal fired
 * ├── ChannelError
 * │   ├── RecoverableChannelError   ContentTooLarge 311, NoRoute 312, NoConsumers 313,
 * │   │                             ResourceLocked 405, PreconditionFailed 406,
 * │   │                             PublishNacked, ChannelClosed, StaleDelivery
 * │   └── IrrecoverableChannelError AccessRefused 403, NotFound 404
 * └── ConnectionError
 *     ├── ConnectionClosed           the client closed the connection (close())
 *     ├── RecoverableConnectionError ConnectionForced 320, ResourceError 506, PublishBufferFull,
 *     │                              ConsumerCancelled, ConnectionLost (HeartbeatTimeout)
 *     └── IrrecoverableConnectionError InvalidPath 402, FrameError 501, FrameSyntaxError 502,
 *                                    InvalidCommand 503, ChannelNotOpen 504, UnexpectedFrame 505,
 *                                    NotAllowed 530, AMQPNotImplementedError 540, InternalError 541
 * ```
 *
 * Every error carries the AMQP reply code and text and, when the server named it, the class and
 * method that caused it. `errorForCode()` maps a reply code to its class; the code table it
 * covers is checked against the generated reply codes in spec/errors.spec.ts.
 */

/** Where an error came from, as reported by the server's `channel.close` / `connection.close`. */
export interface AMQPErrorInfo {
  /** The AMQP reply code (0 when the error did not come from the server). */
  replyCode?: number;
  /** The server's reply text, or a client-side description. */
  replyText?: string;
  /** Class id of the method that caused the error (0 if none). */
  classId?: number;
  /** Method id of the method that caused the error (0 if none). */
  methodId?: number;
  /** Name of the method that caused the error, e.g. `queue.declare`, when known. */
  methodName?: string;
  /** Channel the error happened on (0 for the connection). */
  channelId?: number;
  /** The underlying error, e.g. a socket error. */
  cause?: unknown;
}

/** Base class of every error amqpts raises. */
export class AMQPError extends Error {
  /** The AMQP reply code (0 when the error did not come from the server). */
  readonly replyCode: number;
  /** The server's reply text, or a client-side description. */
  readonly replyText: string;
  /** Class id of the method that caused the error (0 if unknown). */
  readonly classId: number;
  /** Method id of the method that caused the error (0 if unknown). */
  readonly methodId: number;
  /** Name of the method that caused the error, e.g. `queue.declare`, or `''`. */
  readonly methodName: string;
  /** Channel id the error happened on (0 for connection-level errors). */
  readonly channelId: number;

  constructor(message?: string, info: AMQPErrorInfo = {}) {
    const text = message ?? info.replyText ?? '';
    super(text, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = new.target.name;
    this.replyCode = info.replyCode ?? 0;
    this.replyText = info.replyText ?? text;
    this.classId = info.classId ?? 0;
    this.methodId = info.methodId ?? 0;
    this.methodName = info.methodName ?? '';
    this.channelId = info.channelId ?? 0;
  }
}

/** An argument was rejected locally, before anything went on the wire. */
export class ArgumentError extends AMQPError {}

/**
 * A value the AMQP wire cannot carry (an integer out of range, a string too long, a header value
 * of no field type...), refused before anything was sent. It is an ArgumentError, and amqpy code
 * that catches `FrameSyntaxError` for the same mistakes catches it too (`instanceof` holds for both).
 */
export class UnencodableValue extends ArgumentError {}

/**
 * A feature the connected server does not have (by its connection.start version or
 * capabilities), e.g. stream filtering before RabbitMQ 3.13; refused locally, before sending.
 */
export class NotSupportedByServer extends ArgumentError {
  /** The feature, e.g. `stream filtering`. */
  readonly feature: string;
  /** The server as it introduced itself, e.g. `RabbitMQ 3.10.8`. */
  readonly server: string;

  constructor(message: string, details: { feature: string; server: string }, info: AMQPErrorInfo = {}) {
    super(message, info);
    this.feature = details.feature;
    this.server = details.server;
  }
}

/** A call's timeout elapsed or its AbortSignal fired before the reply arrived. */
export class Timeout extends AMQPError {}

/** A channel-level error: the channel was closed, the connection lives on. */
export class ChannelError extends AMQPError {}
/** A channel error after which retrying (on the reopened channel) can succeed. */
export class RecoverableChannelError extends ChannelError {}
/** A channel error that retrying the same call will not fix. */
export class IrrecoverableChannelError extends ChannelError {}
/** A connection-level error: the connection is closed. */
export class ConnectionError extends AMQPError {}
/** The client closed the connection (`close()`): calls pending then, or made after, reject with it. */
export class ConnectionClosed extends ConnectionError {}
/** A connection error after which reconnecting can succeed. */
export class RecoverableConnectionError extends ConnectionError {}
/** A connection error that reconnecting with the same settings will not fix. */
export class IrrecoverableConnectionError extends ConnectionError {}

/** 311: the client tried to send content larger than the server accepts. */
export class ContentTooLarge extends RecoverableChannelError {}
/** 312: a mandatory message could not be routed to any queue. */
export class NoRoute extends RecoverableChannelError {}
/** 313: an immediate message found no consumer. */
export class NoConsumers extends RecoverableChannelError {}
/** 405: the resource is locked, e.g. an exclusive queue of another connection. */
export class ResourceLocked extends RecoverableChannelError {}
/** 406: a precondition failed, e.g. redeclaring a queue with other arguments, or an unknown delivery tag. */
export class PreconditionFailed extends RecoverableChannelError {}
/** 403: access to the resource is refused (permissions, reserved `amq.` names). */
export class AccessRefused extends IrrecoverableChannelError {}
/** 404: the entity (queue, exchange) does not exist. */
export class NotFound extends IrrecoverableChannelError {}

/** 320: the server (or an operator) closed the connection. */
export class ConnectionForced extends RecoverableConnectionError {}
/** 506: the server ran out of a resource (e.g. channels). */
export class ResourceError extends RecoverableConnectionError {}
/** 402: the virtual host does not exist. */
export class InvalidPath extends IrrecoverableConnectionError {}
/** 501: a malformed frame was sent or received. */
export class FrameError extends IrrecoverableConnectionError {}
/**
 * 502: a frame carried illegal field values. As in amqpy, a value the client refuses to encode
 * (`UnencodableValue`, raised before sending) is `instanceof FrameSyntaxError` too.
 */
export class FrameSyntaxError extends IrrecoverableConnectionError {}
Object.defineProperty(FrameSyntaxError, Symbol.hasInstance, {
  // `this` is the class `instanceof` was asked about: a subclass of FrameSyntaxError does not match
  value: function hasInstance(this: object, value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === FrameSyntaxError && value instanceof UnencodableValue;
  },
});
/** 503: an invalid command sequence. */
export class InvalidCommand extends IrrecoverableConnectionError {}
/** 504: a frame was sent on a channel that is not open. */
export class ChannelNotOpen extends IrrecoverableConnectionError {}
/** 505: a frame of an unexpected type arrived (e.g. a method frame mid-content). */
export class UnexpectedFrame extends IrrecoverableConnectionError {}
/** 530: the operation is not allowed (e.g. no access to the virtual host). */
export class NotAllowed extends IrrecoverableConnectionError {}
/** 540: the server does not implement the requested functionality. */
export class AMQPNotImplementedError extends IrrecoverableConnectionError {}
/** 541: the server hit an internal error. */
export class InternalError extends IrrecoverableConnectionError {}

/** The socket closed or failed, or the peer could not be reached. */
export class ConnectionLost extends RecoverableConnectionError {}
/** The peer sent nothing for two heartbeat intervals. */
export class HeartbeatTimeout extends ConnectionLost {}

/** The channel (or its connection) was closed while the call was pending or before it started. */
export class ChannelClosed extends RecoverableChannelError {}
/** The broker nacked a published message (confirm mode). */
export class PublishNacked extends RecoverableChannelError {}
/** An ack/nack/reject for a delivery of a channel that has since closed; refused locally. */
export class StaleDelivery extends RecoverableChannelError {}
/** The server cancelled a consumer (e.g. its queue was deleted). */
export class ConsumerCancelled extends RecoverableConnectionError {}
/** A publish issued while the connection is recovering found the outage buffer full. */
export class PublishBufferFull extends RecoverableConnectionError {}

type ErrorClass = new (message?: string, info?: AMQPErrorInfo) => AMQPError;

/** Reply code -> error class, for every error code of AMQP 0.9.1 (the spec's soft and hard errors). Not exported from the package. */
export const ERROR_CLASSES: Readonly<Record<number, ErrorClass>> = {
  311: ContentTooLarge,
  312: NoRoute,
  313: NoConsumers,
  320: ConnectionForced,
  402: InvalidPath,
  403: AccessRefused,
  404: NotFound,
  405: ResourceLocked,
  406: PreconditionFailed,
  501: FrameError,
  502: FrameSyntaxError,
  503: InvalidCommand,
  504: ChannelNotOpen,
  505: UnexpectedFrame,
  506: ResourceError,
  530: NotAllowed,
  540: AMQPNotImplementedError,
  541: InternalError,
};

/**
 * The typed error for a reply code from `channel.close` or `connection.close`. Unknown codes map to
 * `ChannelError` or `ConnectionError` depending on `connectionLevel`.
 */
export function errorForCode(replyCode: number, info: AMQPErrorInfo = {}, connectionLevel = false): AMQPError {
  const Cls = ERROR_CLASSES[replyCode] ?? (connectionLevel ? ConnectionError : ChannelError);
  const where = info.methodName ? ` (${info.methodName})` : '';
  return new Cls(`${replyCode} ${info.replyText ?? ''}${where}`.trim(), { ...info, replyCode });
}
