/**
 * The Proton layer's errors: the two control-flow exceptions a message handler throws (`Reject`,
 * `Release`, as in `proton.handlers`), and the typed failures of containers, links, link options,
 * transactions and `connect.json` discovery. Each extends the core's error tree (lib/errors.ts).
 *
 * ```
 * AMQPError
 * ├── HandlerError            a handler threw or rejected (cause: what it threw)
 * ├── Reject, Release         thrown by onMessage: reject (dead-letter) or requeue the delivery
 * ├── ArgumentError
 * │   ├── ConfigError         a malformed connect.json (names the file and the key)
 * │   ├── LinkOptionError     an option the address cannot honour (Copy on a classic queue...)
 * │   │   └── SelectorError   a selector outside the supported subset
 * │   ├── EventContextError   e.sender (etc.) read on an event that has none
 * │   └── ListenNotSupported  Container.listen(): a broker client does not listen
 * ├── ChannelError
 * │   ├── NotFound → NodeNotFound        the address names no queue or exchange
 * │   ├── ChannelClosed → LinkClosed     a closed link was used
 * │   └── RecoverableChannelError → TransactionError
 * ```
 */
import { AMQPError, type AMQPErrorInfo, ArgumentError, ChannelClosed, NotFound, RecoverableChannelError } from '../core.js';

/** A handler method threw or rejected; `cause` is what it threw, `eventType` the event it handled. */
export class HandlerError extends AMQPError {
  /** The type of the event whose handler failed, e.g. `message`. */
  readonly eventType: string;

  constructor(message: string, eventType: string, info: AMQPErrorInfo = {}) {
    super(message, info);
    this.eventType = eventType;
  }
}

/**
 * Thrown from `onMessage` to reject the delivery without requeueing it (basic.reject
 * requeue=false: the broker dead-letters or drops it), as Proton's `Reject`.
 */
export class Reject extends AMQPError {}

/**
 * Thrown from `onMessage` to release the delivery: it goes back to its queue (basic.nack
 * requeue=true) for this or another receiver, as Proton's `Release`.
 */
export class Release extends AMQPError {}

/** A `connect.json` that cannot be used: `file` names it, `key` the offending key (`tls.verify`...). */
export class ConfigError extends ArgumentError {
  /** The configuration file, or '' when no file was involved. */
  readonly file: string;
  /** The key in error (dotted, e.g. `sasl.mechanisms`), or '' for the file as a whole. */
  readonly key: string;

  constructor(message: string, file: string, key: string, info: AMQPErrorInfo = {}) {
    super(message, info);
    this.file = file;
    this.key = key;
  }
}

/** A link option the link's address cannot honour on AMQP 0.9.1 (e.g. Copy on a classic queue). */
export class LinkOptionError extends ArgumentError {}

/** A `Selector` outside the supported subset (`key = 'value' [AND key = 'value' ...]`). */
export class SelectorError extends LinkOptionError {}

/** An event accessor (`e.sender`, `e.delivery`...) read on an event that carries no such object. */
export class EventContextError extends ArgumentError {}

/** `Container.listen()`: a client of a broker does not accept connections. */
export class ListenNotSupported extends ArgumentError {}

/** A link's address names a queue or exchange that does not exist (404). */
export class NodeNotFound extends NotFound {}

/** A closed (or closing) link was asked to send, receive or grant credit. */
export class LinkClosed extends ChannelClosed {}

/** A transaction could not be declared, used or discharged as asked. */
export class TransactionError extends RecoverableChannelError {}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `err` as an AMQPError (a non-AMQP throw wrapped, with it as the cause). */
export function asAmqpError(err: unknown): AMQPError {
  return err instanceof AMQPError ? err : new AMQPError(messageOf(err), { cause: err });
}
