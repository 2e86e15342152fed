/**
 * The options objects of the Channel API (amqpy's keyword arguments) and what the calls return.
 * Every call that waits for the broker takes `timeout` (ms) and `signal` (CallOptions).
 */
import { type AMQPError, ArgumentError } from '../errors.js';
import type { FieldTable } from '../protocol/primitives.js';
import type { CallOptions } from '../util/wait.js';
import type { TypedQueueOptions } from './queue-types.js';
import type { StreamConsumeOptions } from './stream-offset.js';
import type { ConsumerCallback } from './types.js';

/** Options shared by declare-style calls that accept `nowait` and `arguments`. */
export interface NowaitOptions extends CallOptions {
  /** Do not wait for the broker's reply (errors then close the channel asynchronously). */
  nowait?: boolean;
}

/**
 * Options of `exchangeDeclare`. Defaults are the protocol's (all false); note that amqpy (after
 * py-amqp) defaulted `autoDelete` to true, which silently deletes entities: amqpts does not.
 */
export interface ExchangeDeclareOptions extends NowaitOptions {
  /** Only check that the exchange exists (404 NotFound if not). */
  passive?: boolean;
  /** Survive a broker restart (default false). */
  durable?: boolean;
  /** Delete when the last binding goes (default false). */
  autoDelete?: boolean;
  /** Not publishable by clients, only by exchange-to-exchange bindings (default false). */
  internal?: boolean;
  /** Extra arguments, e.g. `{ 'alternate-exchange': 'ae' }`. */
  arguments?: FieldTable;
}

/**
 * Options of `queueDeclare`. Defaults are the protocol's (all false); unlike amqpy, `autoDelete`
 * is false by default.
 */
export interface QueueDeclareOptions extends NowaitOptions, TypedQueueOptions {
  /** Only check that the queue exists (404 NotFound if not). */
  passive?: boolean;
  /** Survive a broker restart (default false). */
  durable?: boolean;
  /** Used only by this connection, deleted when it closes (default false). */
  exclusive?: boolean;
  /** Delete when the last consumer unsubscribes (default false). */
  autoDelete?: boolean;
  /** Extra arguments, e.g. `{ 'x-max-priority': 10 }`; merged with those of the typed options (`type`, `maxLength`...). */
  arguments?: FieldTable;
}

/** What `queueDeclare` returns. */
export interface QueueDeclareOk {
  /** The queue name (the server-generated one for `''`). */
  queue: string;
  /** Messages ready in the queue. */
  messageCount: number;
  /** Active consumers on the queue. */
  consumerCount: number;
}

/** Options of `queueBind` / `queueUnbind`. */
export interface QueueBindOptions extends NowaitOptions {
  /** Exchange to bind to (default `''`, which cannot be bound: name one). */
  exchange?: string;
  /** Binding key (default `''`). */
  routingKey?: string;
  /** Binding arguments (e.g. for headers exchanges). */
  arguments?: FieldTable;
}

/** Options of `exchangeBind` / `exchangeUnbind`. */
export interface ExchangeBindOptions extends NowaitOptions {
  /** Binding key (default `''`). */
  routingKey?: string;
  /** Binding arguments. */
  arguments?: FieldTable;
}

/** Options of `basicConsume`. */
export interface ConsumeOptions extends NowaitOptions, StreamConsumeOptions {
  /** Consumer tag (default: the server generates one). */
  consumerTag?: string;
  /** Do not receive messages published on this connection (RabbitMQ ignores it). */
  noLocal?: boolean;
  /** Deliveries need no ack (default false). */
  noAck?: boolean;
  /** Be the only consumer of the queue (403 AccessRefused / 405 if another exists). */
  exclusive?: boolean;
  /** Consumer arguments, e.g. `{ 'x-priority': 10 }`. */
  arguments?: FieldTable;
  /** Called for every delivery; may be async. A throw or rejection reaches 'callbackError'. */
  callback: ConsumerCallback;
  /** Called when the server cancels the consumer (ConsumerCancelled) or the channel closes for good. */
  onCancel?: (err: AMQPError) => void;
  /**
   * How many (async) callbacks may run at once for this consumer, independent of prefetch
   * (default: no limit; each callback starts as its delivery arrives). Deliveries start in order.
   */
  concurrency?: number;
  /**
   * Recycle the memory of large bodies once the callback is done (default false): each body of
   * 64 KiB or more is read into a buffer the channel reuses for a later delivery as soon as the
   * callback returns, or the promise it returned settles, so consuming large messages allocates
   * no fresh memory (less CPU on Linux, where fresh pages are faulted in and cleared).
   * What you must not do: use `msg.body` after that; copy what you keep (`Buffer.from(msg.body)`).
   * A body kept anyway reads as empty (its memory is detached from it when it goes back), never as
   * another message's bytes. Forwarding the body in a `basicPublish` is safe without awaiting it: a
   * body still being written is not recycled. A 'callbackError' listener sees the body only while
   * it runs synchronously. Smaller bodies, and bodies decoded to strings, are unaffected. The
   * channel keeps the buffers it got back (64 MiB of them at most) until it is closed.
   */
  recycleBodiesAfterCallback?: boolean;
}

/** Options of `basicPublish`. */
export interface PublishOptions extends CallOptions {
  /** Exchange (default `''`, the default exchange). */
  exchange?: string;
  /** Routing key (default `''`). */
  routingKey?: string;
  /** Return the message (basic.return, 'return' event) if no queue takes it. */
  mandatory?: boolean;
  /** Deprecated by RabbitMQ (it closes the connection with 540): leave false. */
  immediate?: boolean;
}

/** Options of `basicQos`. */
export interface QosOptions extends CallOptions {
  /** Prefetch window in bytes (0 = no limit; RabbitMQ supports only 0). */
  prefetchSize?: number;
  /** Prefetch window in messages (0 = no limit). */
  prefetchCount?: number;
  /** Apply per channel instead of per consumer (RabbitMQ semantics). */
  global?: boolean;
}

/** Options of `confirmSelect`. */
export interface ConfirmSelectOptions extends NowaitOptions {
  /** At most this many unconfirmed publishes; further publishes wait (default 0 = no limit). */
  maxUnconfirmed?: number;
}

/** Options of `conn.channel()`: per-channel settings whose defaults come from the connection options. */
export interface ChannelOptions extends CallOptions {
  /** Decode text bodies to strings on receipt (default: the connection's `autoDecode`). */
  autoDecode?: boolean;
  /**
   * Ack coalescing window in ms (default: the connection's `ackBatchDelay`, 0 = off). Single acks
   * wait up to this long and go out together, contiguous ones as one `multiple` ack, so the broker
   * processes fewer frames; a `multiple` ack never covers a message you have not settled. Acks
   * still waiting when the connection drops are lost: the broker redelivers those messages (at
   * least once, as for any ack in flight). Nacks, rejects and synchronous calls flush the batch.
   */
  ackBatchDelay?: number;
}

/** The largest `ackBatchDelay`, in ms. */
export const ACK_BATCH_DELAY_MAX = 1000;

/** @throws ArgumentError unless `ms` is a number from 0 to ACK_BATCH_DELAY_MAX. */
export function checkAckBatchDelay(ms: unknown): number {
  if (typeof ms !== 'number' || !(ms >= 0 && ms <= ACK_BATCH_DELAY_MAX)) {
    throw new ArgumentError(`ackBatchDelay must be from 0 to ${ACK_BATCH_DELAY_MAX} ms, got ${String(ms)}`);
  }
  return ms;
}

/** Options of `close()` (channel or connection): the reply code and text sent to the broker. */
export interface CloseOptions extends CallOptions {
  /** Reply code (default 200). */
  replyCode?: number;
  /** Reply text (default `Normal shutdown`). */
  replyText?: string;
  /** Class id of the method that caused the close (default 0). */
  classId?: number;
  /** Method id of the method that caused the close (default 0). */
  methodId?: number;
}
