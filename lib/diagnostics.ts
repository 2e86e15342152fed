/**
 * Diagnostics: amqpts' `node:diagnostics_channel` channels, their names and payload types (the
 * helpers that publish on them are in diagnostics-publish.ts).
 *
 * Zero cost with nobody subscribed: every call site checks the channel's `hasSubscribers` before it
 * calls a helper here, so no payload object is built and nothing is allocated otherwise. Payloads
 * carry the `Connection` and `Channel` objects (whose `util.inspect` never shows a secret) and
 * plain fields. Subscribers run synchronously on amqpts' own paths (some inside the frame parser):
 * keep them short, and never throw from one (diagnostics_channel reports a throwing subscriber as an
 * uncaught exception on the next tick).
 *
 * | channel | fires when |
 * | --- | --- |
 * | `amqpts:publish` | a message is handed to the socket (basicPublish; not the republishing after a recovery) |
 * | `amqpts:confirm` | the broker acks or nacks publishes (confirm mode) |
 * | `amqpts:return` | the broker returns an unroutable mandatory message |
 * | `amqpts:deliver` | a message arrives for a consumer, or basicGet gets one |
 * | `amqpts:settle` | the user acks, nacks or rejects (once per call, before ack coalescing) |
 * | `amqpts:connection` | the connection opens, is blocked or unblocked, is lost, recovers or closes |
 * | `amqpts:recovery` | a reconnect attempt starts, an entity cannot be re-declared, recovery ends |
 */
import type { Channel } from './channel/channel.js';
import type { ReceivedMessage, TopologyEntity } from './channel/types.js';
import type { Connection } from './connection/connection.js';
import type { AMQPError } from './errors.js';
import type { BasicProperties } from './protocol/generated/properties.js';

export { DIAGNOSTICS_CHANNELS } from './diagnostics-publish.js';

/** `amqpts:publish`: a message was handed to the socket. */
export interface PublishDiagnostic {
  /** The connection it went out on. */
  readonly connection: Connection;
  /** The channel it was published on. */
  readonly channel: Channel;
  /** The exchange (`''`: the default exchange). */
  readonly exchange: string;
  /** The routing key. */
  readonly routingKey: string;
  /** The mandatory flag. */
  readonly mandatory: boolean;
  /** The properties sent (headers included); do not modify them. */
  readonly properties: BasicProperties;
  /** The body's size in bytes. */
  readonly bodySize: number;
}

/** `amqpts:confirm`: basic.ack or basic.nack from the broker for publishes (confirm mode). */
export interface ConfirmDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /** The channel in confirm mode. */
  readonly channel: Channel;
  /** True for an ack, false for a nack (the publishes reject with PublishNacked). */
  readonly ack: boolean;
  /** The delivery tag the broker confirmed. */
  readonly deliveryTag: number;
  /** True when it confirms every publish up to `deliveryTag`. */
  readonly multiple: boolean;
}

/** `amqpts:return`: the broker returned a message (basic.return). */
export interface ReturnDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /** The channel it was published on. */
  readonly channel: Channel;
  /** The returned message; `deliveryInfo` has the exchange, routing key, reply code and text. */
  readonly message: ReceivedMessage;
}

/** `amqpts:deliver`: a message arrived for a consumer (basic.deliver) or for basicGet (basic.get-ok). */
export interface DeliverDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /** The channel it arrived on. */
  readonly channel: Channel;
  /** The message (`deliveryInfo` has the delivery tag, exchange, routing key, redelivered). */
  readonly message: ReceivedMessage;
  /** The queue consumed or got from (undefined for a delivery to a consumer that is gone). */
  readonly queue: string | undefined;
  /** The consumer's tag, or undefined for basicGet. */
  readonly consumerTag: string | undefined;
}

/** `amqpts:settle`: the user acked, nacked or rejected a delivery (by message or by tag). */
export interface SettleDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /** The channel settled on. */
  readonly channel: Channel;
  /** basic.ack, basic.nack or basic.reject. */
  readonly operation: 'ack' | 'nack' | 'reject';
  /** The delivery tag. */
  readonly deliveryTag: number;
  /** Settles every delivery up to `deliveryTag` (ack and nack only). */
  readonly multiple: boolean;
  /** Asks the broker to requeue (nack and reject only; false for an ack). */
  readonly requeue: boolean;
}

/** The connection states `amqpts:connection` reports. */
export type ConnectionDiagnosticState = 'open' | 'blocked' | 'unblocked' | 'lost' | 'recovering' | 'recovered' | 'closed';

/** `amqpts:connection`: a connection changed state. */
export interface ConnectionDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /**
   * `open` (connected), `blocked`/`unblocked` (by the broker), `lost` (then `recovering` at once
   * when it reconnects), `recovered`, `closed` (for good).
   */
  readonly state: ConnectionDiagnosticState;
  /** The cause for `lost`, and for `closed` when it was not a clean close. */
  readonly error: AMQPError | undefined;
  /** The broker's reason for `blocked` (else undefined). */
  readonly reason: string | undefined;
}

/** `amqpts:recovery`: a step of a connection's recovery. */
export interface RecoveryDiagnostic {
  /** The connection. */
  readonly connection: Connection;
  /**
   * `attempt` (a reconnect attempt is about to start), `entityFailed` (a recorded exchange, queue
   * or binding could not be re-declared), `recovered`, `failed` (gave up: the connection closes).
   */
  readonly phase: 'attempt' | 'entityFailed' | 'recovered' | 'failed';
  /** The attempt number (`attempt`) or the attempts it took (`recovered`); else 0. */
  readonly attempt: number;
  /** The broker, without the password (`attempt`, `recovered`); else ''. */
  readonly url: string;
  /** Milliseconds to wait before the attempt (`attempt`), or of downtime (`recovered`); else 0. */
  readonly ms: number;
  /** The entity that failed (`entityFailed`). */
  readonly entity: TopologyEntity | undefined;
  /** The error (`entityFailed`, `failed`). */
  readonly error: AMQPError | undefined;
}
