/**
 * The core's public surface: every name a user of the channel API imports. The package entry
 * (index.ts) re-exports it, and the higher layers (Proton reactor, Messenger, Session, CLI) import
 * from here and from nowhere else in the core, so they are built on exactly what users get.
 * Internals (the channel's parts, the ChannelHost/ChannelPort pair, the codec) are not exported.
 */
export { AddressError, formatNode, parseAddress, parseNode, type AddressNode, type ParsedAddress } from './address.js';
export { Channel } from './channel/channel.js';
export { PublishReturned } from './channel/confirms.js';
export type { ConsumerIterator, IterateOptions } from './channel/iterator.js';
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
export type {
  ChannelOptions,
  CloseOptions,
  ConfirmSelectOptions,
  ConsumeOptions,
  ExchangeBindOptions,
  ExchangeDeclareOptions,
  NowaitOptions,
  PublishOptions,
  QosOptions,
  QueueBindOptions,
  QueueDeclareOk,
  QueueDeclareOptions,
} from './channel/options.js';
export {
  REPUBLISHED_HEADER,
  type BindingRecord,
  type ChannelEvents,
  type ChannelMode,
  type ConsumerCallback,
  type ExchangeRecord,
  type QueueRecord,
  type ReceivedMessage,
  type TopologyEntity,
} from './channel/types.js';
export {
  DIAGNOSTICS_CHANNELS,
  type ConfirmDiagnostic,
  type ConnectionDiagnostic,
  type ConnectionDiagnosticState,
  type DeliverDiagnostic,
  type PublishDiagnostic,
  type RecoveryDiagnostic,
  type ReturnDiagnostic,
  type SettleDiagnostic,
} from './diagnostics.js';
export { instrument, type ConsumeHookInfo, type InstrumentationHooks, type PublishHookInfo } from './instrumentation.js';
export type { ConnectionStats } from './stats.js';
export { Connection, type ConnectionCloseOptions, type ConnectionEvents, type ConnectionState } from './connection/connection.js';
export { parseUrl, type ConnectionOptions, type LoginMethod } from './connection/options.js';
export { AbstractConsumer, type AbstractConsumerOptions } from './consumer/abstract-consumer.js';
export {
  AccessRefused,
  AMQPError,
  type AMQPErrorInfo,
  AMQPNotImplementedError,
  ArgumentError,
  ChannelClosed,
  ChannelError,
  ChannelNotOpen,
  ConnectionClosed,
  ConnectionError,
  ConnectionForced,
  ConnectionLost,
  ConsumerCancelled,
  ContentTooLarge,
  FrameError,
  FrameSyntaxError,
  HeartbeatTimeout,
  InternalError,
  InvalidCommand,
  InvalidPath,
  IrrecoverableChannelError,
  IrrecoverableConnectionError,
  NoConsumers,
  NoRoute,
  NotAllowed,
  NotFound,
  NotSupportedByServer,
  PreconditionFailed,
  PublishBufferFull,
  PublishNacked,
  RecoverableChannelError,
  RecoverableConnectionError,
  ResourceError,
  ResourceLocked,
  StaleDelivery,
  Timeout,
  UnencodableValue,
  UnexpectedFrame,
} from './errors.js';
export { Message, type DeliveryInfo, type JsonValue, type MessageBody, type MessageChannel } from './message.js';
export type { BasicProperties } from './protocol/generated/properties.js';
export { Decimal, Field, Typed, type FieldTable, type FieldType, type FieldValue } from './protocol/primitives.js';
export { Backoff, type BackoffOptions, type ReconnectStrategy } from './recovery/backoff.js';
export { startsRecovery } from './recovery/reconnect.js';
export type { TlsOptions } from './transport/socket.js';
export type { CallOptions } from './util/wait.js';
export type { Listener } from './util/lazy-emitter.js';
export { VERSION } from './version.js';
export { Err, Ok, type Result } from 'ts-results-es';
