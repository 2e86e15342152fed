/**
 * AbstractConsumer, as in amqpy: subclass it, implement `run(msg)`, then `await c.declare()` to
 * start consuming and `await c.cancel()` to stop. `cancelCallback(err)` is called when the server
 * cancels the consumer (queue deleted) or its channel closes for good. The consumer survives a
 * channel reopen untouched (same tag, same object).
 *
 * ```ts
 * class Printer extends AbstractConsumer {
 *   async run(msg: Message) { console.log(msg.body); msg.ack(); }
 * }
 * const c = new Printer(ch, 'q', { concurrency: 4 });
 * await c.declare();
 * ```
 */
import type { AMQPError } from '../errors.js';
import type { Message } from '../message.js';
import type { Channel } from '../channel/channel.js';
import type { ConsumeOptions } from '../channel/options.js';
import type { CallOptions } from '../util/wait.js';

/** Options of an AbstractConsumer: basicConsume's options without the callbacks. */
export type AbstractConsumerOptions = Omit<ConsumeOptions, 'callback' | 'onCancel' | 'timeout' | 'signal'>;

/** Base class for consumers (amqpy's `AbstractConsumer`). */
export abstract class AbstractConsumer {
  /** The consumer tag: the one given in options, or the server's once `declare()` resolved. */
  consumerTag: string;
  /** Messages handed to `run()` so far. */
  messageCount = 0;
  /** True between `declare()` and `cancel()` (or a server cancel). */
  active = false;

  /**
   * @param channel - the channel to consume on.
   * @param queue - the queue to consume from.
   * @param options - basicConsume options (noAck, exclusive, consumerTag, arguments, concurrency...).
   */
  constructor(
    readonly channel: Channel,
    readonly queue: string,
    readonly options: AbstractConsumerOptions = {},
  ) {
    this.consumerTag = options.consumerTag ?? '';
  }

  /**
   * Handles one delivery. May be async; a throw or rejection reaches the channel's 'callbackError'
   * event. With the `recycleBodiesAfterCallback` option a large `msg.body` is valid only until run() returns or
   * its promise settles (after that it reads as empty).
   */
  abstract run(msg: Message): void | Promise<void>;

  /** Called when the server cancels the consumer or its channel closes for good. Override to react. */
  cancelCallback(err: AMQPError): void {
    void err;
  }

  /**
   * Starts consuming (basic.consume).
   * @returns the consumer tag.
   * @throws NotFound (404) for a missing queue; AccessRefused (403) / ResourceLocked (405) for an
   *   exclusive conflict; ArgumentError for bad options (before sending); Timeout.
   */
  async declare(opts: CallOptions = {}): Promise<string> {
    this.consumerTag = await this.channel.basicConsume(this.queue, {
      ...this.options,
      ...opts,
      callback: (msg) => {
        // deliveries can arrive before declare() resolves: take the tag from the first one
        if (this.consumerTag === '' && msg.deliveryInfo?.consumerTag) this.consumerTag = msg.deliveryInfo.consumerTag;
        this.messageCount++;
        return this.run(msg);
      },
      onCancel: (err) => {
        this.active = false;
        this.cancelCallback(err);
      },
    });
    this.active = true;
    return this.consumerTag;
  }

  /** Stops consuming (basic.cancel). @throws Timeout; the channel's error if it is closed. */
  async cancel(opts: CallOptions = {}): Promise<void> {
    if (!this.active) return;
    await this.channel.basicCancel(this.consumerTag, opts);
    this.active = false;
  }
}
