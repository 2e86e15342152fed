/**
 * The Qpid Proton layer: Proton's `proton.reactor` and `proton.handlers` APIs (Container,
 * MessagingHandler, link options, transactions, EventInjector) on AMQP 0.9.1. See docs/proton.md.
 * It reuses the core's Message and Backoff, exported by the core already.
 */
export {
  Container,
  type ContainerEvents,
  type ContainerOptions,
  type ReceiverOptions,
  type SenderOptions,
  type TransactionOptions,
} from './container.js';
export { ContainerConnection, type ContainerConnectionState } from './connection.js';
export type { ConnectOptions } from './connect-options.js';
export { Delivery, type DeliveryState } from './delivery.js';
export {
  ConfigError,
  EventContextError,
  HandlerError,
  LinkClosed,
  LinkOptionError,
  ListenNotSupported,
  NodeNotFound,
  Reject,
  Release,
  SelectorError,
  TransactionError,
} from './errors.js';
export { ApplicationEvent, type ApplicationEventOptions, Event, type EventContext } from './event.js';
export {
  type Handler,
  type HandlerResult,
  MessagingHandler,
  type MessagingHandlerOptions,
  TransactionalClientHandler,
  type TransactionHandler,
} from './handlers.js';
export { EventInjector, RemoteEventInjector } from './injector.js';
export {
  type DistributionMode,
  type ExpiryPolicy,
  Link,
  type LinkState,
  type ReceiverSettleMode,
  type SenderSettleMode,
  ProtonSession,
  Terminus,
  type TerminusDurability,
} from './link.js';
export {
  AtLeastOnce,
  AtMostOnce,
  Copy,
  type CopyOptions,
  DurableSubscription,
  DynamicNodeProperties,
  Filter,
  LinkOption,
  Move,
  ReceiverOption,
  Selector,
  SenderOption,
} from './options.js';
export { Receiver } from './receiver.js';
export { Sender } from './sender.js';
export { Task } from './task.js';
export { Transaction, type TransactionState } from './transaction.js';
