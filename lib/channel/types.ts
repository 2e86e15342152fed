/**
 * The channel layer's shared types: what a channel needs from its connection (`ChannelHost`), what
 * the connection drives on a channel (`ChannelPort`), the events, modes and consumer records, and
 * the topology records a channel reports for recovery.
 */
import type PQueue from 'p-queue';
import type { AMQPError, ConsumerCancelled } from '../errors.js';
import type { DeliveryInfo, Message } from '../message.js';
import type { FieldTable } from '../protocol/primitives.js';
import type { StatsCounters } from '../stats.js';
import type { ReadHints, Transport } from '../transport/transport.js';
import type { CallOptions } from '../util/wait.js';

/** Header set on messages the client published again after a reconnect (at-least-once). */
export const REPUBLISHED_HEADER = 'x-amqpts-republished';

/**
 * A message received from the broker: `deliveryInfo` is always there, and `ack()`, `nack()` and
 * `reject()` work (for a delivery that needs acknowledging).
 */
export type ReceivedMessage = Message & {
  /** Where the message came from: delivery tag, exchange, routing key, redelivered... */
  readonly deliveryInfo: DeliveryInfo;
};

/** A consumer callback; may be async. */
export type ConsumerCallback = (msg: ReceivedMessage) => void | Promise<void>;

/** Channel mode: plain, transactional (tx.select) or publisher confirms (confirm.select). */
export type ChannelMode = 'none' | 'tx' | 'confirm';

/** A channel's lifecycle state. */
export type ChannelState = 'opening' | 'open' | 'reopening' | 'closing' | 'closed';

/** Events a channel emits. It never emits 'error'. */
export interface ChannelEvents {
  /** A mandatory/immediate message came back unroutable (the last few are in `returnedMessages`). */
  return: [msg: ReceivedMessage];
  /** A consumer callback threw or rejected; the message was not acked. */
  callbackError: [err: unknown, msg: ReceivedMessage];
  /** The server cancelled a consumer (e.g. its queue was deleted). */
  cancel: [consumerTag: string, err: ConsumerCancelled];
  /** The server closed the channel with an error; it is reopening. */
  channelError: [err: AMQPError];
  /** The channel reopened after a server close, with its settings restored. */
  reopen: [];
  /** The channel is closed for good (`err` undefined after a clean client close). */
  close: [err: AMQPError | undefined];
}

/** What the parts of a channel use to emit its events. */
export interface ChannelEmitter {
  emit<K extends keyof ChannelEvents & string>(event: K, ...args: ChannelEvents[K]): boolean;
  listenerCount(event: keyof ChannelEvents & string): number;
}

/** A registered consumer, as restored on reopen. */
export interface ConsumerEntry {
  tag: string;
  queue: string;
  noLocal: boolean;
  noAck: boolean;
  exclusive: boolean;
  arguments: FieldTable;
  callback: ConsumerCallback;
  onCancel: ((err: AMQPError) => void) | undefined;
  /** Limits how many callbacks run at once (the `concurrency` option); undefined = no limit. */
  limiter: PQueue | undefined;
  /** Large bodies are read into recycled memory, valid during the callback only (`recycleBodies`). */
  recycleBodies: boolean;
}

/** A recorded exchange. */
export interface ExchangeRecord {
  /** Always `exchange`. */
  kind: 'exchange';
  /** The exchange name. */
  name: string;
  /** The exchange type (`direct`, `fanout`, `topic`, `headers`, ...). */
  type: string;
  /** Declared durable. */
  durable: boolean;
  /** Declared auto-delete. */
  autoDelete: boolean;
  /** Declared internal. */
  internal: boolean;
  /** The declare arguments. */
  arguments: FieldTable;
}

/** A recorded queue. */
export interface QueueRecord {
  /** Always `queue`. */
  kind: 'queue';
  /** The queue name (for a server-named queue, the name the broker gave it last). */
  name: string;
  /** Declared as `''`: the broker picks a new name on every declare. */
  serverNamed: boolean;
  /** Declared durable. */
  durable: boolean;
  /** Declared exclusive. */
  exclusive: boolean;
  /** Declared auto-delete. */
  autoDelete: boolean;
  /** The declare arguments. */
  arguments: FieldTable;
}

/** A recorded binding: of a queue to an exchange, or of an exchange to an exchange. */
export interface BindingRecord {
  /** A queue bound to an exchange, or an exchange bound to an exchange. */
  kind: 'queue-binding' | 'exchange-binding';
  /** The bound queue or destination exchange. */
  destination: string;
  /** The exchange messages come from. */
  source: string;
  /** The binding key. */
  routingKey: string;
  /** The binding arguments. */
  arguments: FieldTable;
}

/** Anything recovery re-declares. */
export type TopologyEntity = ExchangeRecord | QueueRecord | BindingRecord;

/** Where a channel reports what the broker confirmed it declared, deleted, bound or unbound. */
export interface TopologyRecorder {
  recordExchange(r: ExchangeRecord): void;
  deleteExchange(name: string): void;
  recordQueue(r: QueueRecord): void;
  deleteQueue(name: string): void;
  recordBinding(b: BindingRecord): void;
  removeBinding(b: BindingRecord): void;
  /** The user cancelled a consumer; `remaining` says whether any other consumer uses the queue. */
  consumerCancelled(queue: string, remaining: boolean): void;
  /** The recorded declaration of `queue`, if this connection declared it. */
  recordedQueue(queue: string): QueueRecord | undefined;
}

/** What a channel needs from its connection. */
export interface ChannelHost {
  /** The live transport, or null while disconnected. */
  readonly transport: Transport | null;
  readonly frameMax: number;
  readonly callTimeout: number;
  /** True while the broker has blocked publishing (connection.blocked). */
  readonly blocked: boolean;
  /** The error the connection died of, if it is closed. */
  readonly closeError: AMQPError | null;
  /** Counters the transport reads to decide on read batching; the channels keep them current. */
  readonly hints: ReadHints;
  releaseChannel(id: number): void;
  /** An inbound event (delivery, return, cancel, confirm) was dispatched. */
  eventDispatched(): void;
  /** What this connection declared, for recovery. */
  readonly topology: TopologyRecorder;
  /** Consumers on `queue` across all channels of the connection. */
  consumerCount(queue: string): number;
  /** True while the connection is reconnecting after a loss. */
  readonly recovering: boolean;
  /** Whether unconfirmed publishes are republished after a recovery. */
  readonly republish: boolean;
  /** Takes `bytes` of the outage publish buffer; false when it is full. */
  reserveOutage(bytes: number): boolean;
  /** Gives back what reserveOutage took. */
  releaseOutage(bytes: number): void;
  /** Messages the broker may announce at most, in bytes (connection option `maxMessageSize`). */
  readonly maxMessageSize: number;
  /** The server's connection.start properties (product, version: feature detection). */
  readonly serverProperties: FieldTable;
  /** The public Connection object (named in diagnostics payloads and instrumentation hooks). */
  readonly connection: unknown;
  /** The connection's counters (`conn.stats()`), kept current by the channels. */
  readonly stats: StatsCounters;
  /** The broker the connection is on (for instrumentation hooks). */
  readonly endpoint: { readonly host: string; readonly port: number };
}

/** The settings a channel is created with (resolved from the channel's and the connection's options). */
export interface ChannelSetup {
  autoDecode: boolean;
  /** Ack coalescing window in ms (0: off). */
  ackBatchDelay: number;
}

/** What the connection drives on a channel: frames in, loss and recovery, closing. */
export interface ChannelPort {
  /** Opens the channel (channel.open); called once, right after creation. */
  open(opts: CallOptions): Promise<void>;
  /** A frame for this channel, its payload at `buf[start..end)`. @throws a typed connection error. */
  handleFrame(type: number, buf: Buffer, start: number, end: number): void;
  /** A piece of a body frame split across socket chunks (`piece` is copied, never kept). */
  handleBodyPart(piece: Buffer, frameDone: boolean): void;
  /** Where the socket may read the next `n` body bytes of this channel, or null. */
  bodyTarget(n: number): Buffer | null;
  /** Body bytes still to come for the message this channel is receiving. */
  readonly bodyRemaining: number;
  /** The connection was lost and is recovering. */
  connectionLost(err: AMQPError, republish: boolean): void;
  /** Reopens and restores the channel on the new transport; false if the connection died again. */
  recover(): Promise<boolean>;
  /** The connection is gone for good: settle everything with `err`. */
  connectionClosed(err: AMQPError): void;
  /** Sends queued publishes if the channel is publishable now (e.g. the broker unblocked). */
  wakePublishers(): void;
  /** A server-named queue was renamed by recovery: its consumers follow. */
  renameConsumerQueue(oldName: string, newName: string): void;
  /** Number of this channel's consumers on `queue`. */
  consumersOn(queue: string): number;
  /** Sends the acks coalescing holds (before connection.close). */
  flushAcks(): void;
  /** Confirm-mode progress (publishes outstanding, acked and nacked so far), or null: the confirmTimeout watchdog reads it. */
  readonly confirmProgress: { readonly outstanding: number; readonly acked: number; readonly nacked: number } | null;
}
