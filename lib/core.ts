/**
 * The core's public surface: every name a user of the channel API imports. The package entry
 * (index.ts) re-exports it, and the higher layers (Proton reactor, Messenger, Session, CLI) import
 * from here and from nowhere else in the core, so they are built on exactly what users get.
 */
export { Connection, type ConnectionEvents, type ConnectionState } from './connection/connection.js';
export { Backoff, type BackoffOptions, type ReconnectStrategy } from './recovery/backoff.js';
export type { BindingRecord, ExchangeRecord, QueueRecord, TopologyEntity } from './recovery/topology.js';
export { REPUBLISHED_HEADER } from './channel/channel-core.js';
export { parseUrl, type ConnectionOptions, type LoginMethod } from './connection/options.js';
export {
  Channel,
  type ConfirmSelectOptions,
  type ConsumeOptions,
  type ExchangeBindOptions,
  type ExchangeDeclareOptions,
  type NowaitOptions,
  type PublishOptions,
  type QosOptions,
  type QueueBindOptions,
  type QueueDeclareOk,
  type QueueDeclareOptions,
} from './channel/channel.js';
export type { ChannelEvents, ChannelMode, ConsumerCallback } from './channel/channel-core.js';
export {
  queueArguments,
  type MaxAgeString,
  type QueueFlags,
  type QueueLeaderLocator,
  type QueueOverflow,
  type QueueType,
  type TypedQueueOptions,
} from './channel/queue-types.js';
export type { StreamConsumeOptions, StreamOffset } from './channel/stream-offset.js';
export { AbstractConsumer, type AbstractConsumerOptions } from './consumer/abstract-consumer.js';
export { ConsumerIterator, type IterateOptions } from './consumer/iterator.js';
export { AddressError, formatNode, parseAddress, parseNode, type AddressNode, type ParsedAddress } from './address.js';
export { Message, type DeliveryInfo, type JsonValue, type MessageBody, type MessageChannel } from './message.js';
export { PublishReturned } from './channel/confirms.js';
export type { BasicProperties } from './protocol/generated/properties.js';
export { Decimal, Field, Typed, type FieldTable, type FieldType, type FieldValue } from './protocol/primitives.js';
export type { TlsOptions } from './transport/socket.js';
export type { CallOptions } from './util/wait.js';
export { VERSION } from './version.js';
export * from './errors.js';
