/**
 * ChannelLink: a channel's link to its connection, shared by the channel's parts. It owns the
 * channel id, the lifecycle state, the delivery generation, the RPC queue, and every way of putting
 * a frame on the wire:
 *
 * - `call()`: a synchronous method, queued one at a time (rpc.ts), typed by its reply;
 * - `direct()`: a reopen/restore step, sent ahead of queued calls;
 * - `send()`: an asynchronous method (ack-like), refused unless the channel is open;
 * - `control()`: a protocol reply (close-ok, flow-ok, cancel-ok) in any state;
 * - `sendAck()`: basic.ack / nack / reject, encoded in place (the consume hot path), or through
 *   the channel's AckBatcher when `ackBatchDelay` is set (ack-batcher.ts).
 *
 * Lifecycle: opening -> open -> (server channel.close) -> reopening -> open ... -> closing -> closed.
 */
import { type AMQPError, ChannelClosed, ConnectionLost, StaleDelivery } from '../errors.js';
import { CONTEXT, type DeliveryContext, type Message, type MessageChannel } from '../message.js';
import { ACK_METHOD, encodeDeliveryAck, encodeMethodFrame } from '../protocol/encode.js';
import {
  type MethodArgs,
  type MethodInit,
  type MethodName,
  REPLIES,
  type ReplyMap,
  type RequestName,
} from '../protocol/generated/methods.js';
import { Writer } from '../protocol/primitives.js';
import { diag, diagDeliver, diagSettle } from '../diagnostics-publish.js';
import type { Encoder, Transport } from '../transport/transport.js';
import { type CallOptions, checkTimeout } from '../util/wait.js';
import type { AckBatcher } from './ack-batcher.js';
import { type RpcCall, RpcQueue } from './rpc.js';
import type { ChannelHost, ChannelState, ReceivedMessage } from './types.js';

/** What a call resolves with: the reply's arguments; for basic.get the message or null. */
export type CallResult<N extends RequestName> = N extends 'basic.get' ? ReceivedMessage | null : MethodArgs[ReplyMap[N]];

const scratch = new Writer(1024);

/** The ack being encoded (acks are encoded synchronously, one at a time): no closure per channel or ack. */
const ack = { channel: 0, method: 0, tag: 0, bits: 0 };
const encodeAck: Encoder = (w) => encodeDeliveryAck(w, ack.channel, ack.method, ack.tag, ack.bits);

/** One generation of a channel, as its deliveries see it: a delivery is fresh while its context is current. */
class Generation implements DeliveryContext {
  constructor(
    readonly channel: MessageChannel,
    private readonly link: ChannelLink,
  ) {}

  settle(msg: Message<unknown>, how: 'ack' | 'nack' | 'reject', multiple: boolean, requeue: boolean): void {
    this.link.settle(msg, how, multiple, requeue);
  }
}

/** See the file header. */
export class ChannelLink {
  /** The lifecycle state. */
  state: ChannelState = 'opening';
  /** True between channel.open-ok and the channel's close or loss: frames may be sent on it. */
  wireOpen = false;
  /** Why the channel closed for good (undefined after a clean close or while open). */
  closeError: AMQPError | undefined;
  /** The RPC queue: one synchronous method in flight. */
  readonly rpc = new RpcQueue();
  /** The current delivery generation, created with its first delivery (null: none yet since the last renewal). */
  private gen: Generation | null = null;
  /** Ack coalescing (`ackBatchDelay`), or null when off (the default). */
  batcher: AckBatcher | null = null;

  constructor(
    readonly id: number,
    readonly host: ChannelHost,
    /** The public Channel. */
    readonly publicChannel: MessageChannel,
  ) {}

  /** The current delivery generation (renewed on every close or loss). */
  get generation(): Generation {
    return (this.gen ??= new Generation(this.publicChannel, this));
  }

  /** Starts a new generation: deliveries so far become stale. */
  renewGeneration(): void {
    this.gen = null;
    this.batcher?.reset();
  }

  /** A delivery (basic.deliver, basic.get-ok) arrived; `settled`: it needs no ack (noAck or rejected by the channel). */
  noteDelivery(tag: number, settled: boolean): void {
    this.batcher?.noteDelivery(tag, settled);
  }

  /** Sends the acks the batcher holds, if any (before a synchronous call or connection.close). */
  flushAcks(): void {
    if (this.batcher === null || this.batcher.waiting === 0 || !this.wireOpen) return;
    try {
      this.batcher.flush();
    } catch {
      // the transport is gone: the channel's loss drops the batch (stale tags)
    }
  }

  /** True while the channel can be used (open, or reopening after a server close). */
  get usable(): boolean {
    return this.state === 'open' || this.state === 'reopening';
  }

  /** The error a call on this channel gets now, or null if it may proceed. */
  unusable(): AMQPError | null {
    if (this.state === 'closed' || this.state === 'closing') {
      return this.host.closeError ?? this.closeError ?? new ChannelClosed(`channel ${this.id} is closed`, { channelId: this.id });
    }
    return this.host.closeError;
  }

  /** The live transport. @throws the connection's error, or ConnectionLost while recovering. */
  transport(): Transport {
    const t = this.host.transport;
    if (!t || t.isDead) throw this.host.closeError ?? new ConnectionLost('the connection is not open (recovering)');
    return t;
  }

  /** Encodes and writes frames through the transport (`size` is a guess of the bytes needed). */
  write(size: number, encode: Encoder): void {
    this.transport().send(size, encode);
  }

  /**
   * An asynchronous method (basic.reject, basic.recover-async...), refused with the channel's error
   * unless it is open (a tag of a closed channel must never reach a reused id).
   */
  send<N extends MethodName>(name: N, args: MethodInit[N]): void {
    if (this.state !== 'open') {
      throw (
        this.unusable() ??
        new ChannelClosed(`channel ${this.id} is reopening: ${name} refused (its delivery tags are stale)`, { channelId: this.id })
      );
    }
    this.control(name, args);
  }

  /** Like send, in any state (close-ok, flow-ok, cancel-ok, protocol replies). */
  control<N extends MethodName>(name: N, args: MethodInit[N]): void {
    this.write(256, (w) => encodeMethodFrame(w, this.id, name, args, this.host.frameMax));
  }

  /** basic.ack / nack / reject by tag: `bits` as in encodeDeliveryAck. Refused unless the wire is open. */
  sendAck(methodId: number, tag: number, bits: number): void {
    if (this.batcher !== null) {
      this.checkWireOpen();
      this.batcher.settle(methodId, tag, bits);
    } else this.writeAck(methodId, tag, bits);
  }

  /**
   * A settlement the user asked for (basicAck/Nack/Reject, msg.ack()...): sent as sendAck does,
   * then counted and published on `amqpts:settle`. `bits` as in encodeDeliveryAck.
   */
  userSettle(methodId: number, tag: number, bits: number): void {
    this.sendAck(methodId, tag, bits); // throws (nothing sent, nothing counted) unless the wire is open
    const reject = methodId === ACK_METHOD.reject;
    if (methodId === ACK_METHOD.ack) this.host.stats.acked++;
    else this.host.stats.rejected++;
    if (diag.settle.hasSubscribers) {
      const op = methodId === ACK_METHOD.ack ? 0 : reject ? 2 : 1;
      diagSettle(this, op, tag, !reject && (bits & 1) === 1, reject ? bits === 1 : (bits & 2) === 2);
    }
  }

  /** Writes basic.ack / nack / reject now. Refused unless the wire is open. */
  writeAck(methodId: number, tag: number, bits: number): void {
    this.checkWireOpen();
    ack.channel = this.id;
    ack.method = methodId;
    ack.tag = tag;
    ack.bits = bits;
    this.write(21, encodeAck);
  }

  private checkWireOpen(): void {
    if (!this.wireOpen) {
      throw (
        this.unusable() ??
        new ChannelClosed(`channel ${this.id} is reopening: acknowledgement refused (its delivery tags are stale)`, { channelId: this.id })
      );
    }
  }

  /** Acknowledges a received message, refused with StaleDelivery unless it is of the current generation. */
  settle(msg: Message<unknown>, how: 'ack' | 'nack' | 'reject', multiple: boolean, requeue: boolean): void {
    // fresh = delivered since the channel last (re)opened; the state may still be 'reopening'
    // while consumers are restored, and their first deliveries are already fresh
    if (msg[CONTEXT] !== this.generation || this.state === 'closed' || this.state === 'closing') {
      const whose = msg[CONTEXT]?.channel;
      const why =
        whose !== undefined && whose !== this.publicChannel
          ? `it was delivered on channel ${whose.channelId}, not ${this.id}`
          : `channel ${this.id} closed or reopened since it was delivered; the broker will redeliver it`;
      throw new StaleDelivery(`cannot ${how} delivery ${msg.deliveryInfo?.deliveryTag ?? '?'}: ${why}`, { channelId: this.id });
    }
    const tag = msg.deliveryTag;
    if (how === 'ack') this.userSettle(ACK_METHOD.ack, tag, multiple ? 1 : 0);
    else if (how === 'nack') this.userSettle(ACK_METHOD.nack, tag, (multiple ? 1 : 0) | (requeue ? 2 : 0));
    else this.userSettle(ACK_METHOD.reject, tag, requeue ? 1 : 0);
  }

  private makeCall<N extends MethodName>(
    name: N,
    args: MethodInit[N],
    expect: readonly MethodName[],
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): RpcCall {
    scratch.pos = 0;
    encodeMethodFrame(scratch, this.id, name, args, this.host.frameMax);
    const frame = Buffer.from(scratch.buf.subarray(0, scratch.pos));
    return { name, expect, resolve, reject, send: () => this.write(frame.length, (w) => w.bytes(frame)) };
  }

  /**
   * Queues a synchronous call, completed by one of the replies the spec pairs with it (REPLIES),
   * under the call's deadline. Arguments are encoded now, so invalid ones reject before anything is
   * queued. `onReply` runs synchronously when the reply arrives, before any later frame is
   * processed, and its result is what the call resolves with.
   */
  call<N extends RequestName, R = CallResult<N>>(
    name: N,
    args: MethodInit[N],
    opts: CallOptions = {},
    onReply?: (reply: CallResult<N>) => R,
  ): Promise<R> {
    return this.enqueue(name, args, REPLIES[name], opts, onReply as ((v: unknown) => R) | undefined);
  }

  /** basic.get; a message got with `noAck` needs no ack, which ack coalescing learns here. */
  get(queue: string, noAck: boolean, opts: CallOptions): Promise<ReceivedMessage | null> {
    if ((!noAck || this.batcher === null) && !diag.deliver.hasSubscribers) return this.call('basic.get', { queue, noAck }, opts);
    return this.call('basic.get', { queue, noAck }, opts, (m) => {
      if (m === null) return m;
      if (noAck) this.noteDelivery(m.deliveryTag, true);
      if (diag.deliver.hasSubscribers) diagDeliver(this, m, queue, undefined);
      return m;
    });
  }

  /** Queues a request sent with `nowait`: it resolves (with `onSent`'s result) once written. */
  callNowait<N extends MethodName, R = undefined>(name: N, args: MethodInit[N], opts: CallOptions = {}, onSent?: () => R): Promise<R> {
    return this.enqueue(name, args, [], opts, onSent as ((v: unknown) => R) | undefined);
  }

  private enqueue<N extends MethodName, R>(
    name: N,
    args: MethodInit[N],
    expect: readonly MethodName[],
    opts: CallOptions,
    onReply?: (v: unknown) => R,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const bad = this.unusable();
      if (bad && !(name === 'channel.close' && this.state === 'closing')) {
        reject(bad);
        return;
      }
      checkTimeout(opts.timeout);
      this.flushAcks(); // acks the user gave before this call go out before it (tx.commit, recover, close)
      const done = onReply
        ? (v: unknown): void => {
            try {
              resolve(onReply(v));
            } catch (e) {
              reject(e);
            }
          }
        : (resolve as (v: unknown) => void);
      this.rpc.push(this.makeCall(name, args, expect, done, reject), {
        timeout: opts.timeout ?? this.host.callTimeout,
        signal: opts.signal,
      });
    });
  }

  /** A reopen/restore step, sent ahead of queued calls. */
  direct<N extends RequestName>(name: N, args: MethodInit[N]): Promise<CallResult<N>> {
    return new Promise((resolve, reject) => {
      this.rpc.direct(this.makeCall(name, args, REPLIES[name], resolve as (v: unknown) => void, reject), {
        timeout: this.host.callTimeout,
      });
    });
  }
}
