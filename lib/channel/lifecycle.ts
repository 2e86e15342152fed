/**
 * Lifecycle: how a channel opens, reopens and ends.
 *
 * When the server closes the channel (a soft error such as 404 or 406) we answer close-ok, reject
 * the call that caused it with its typed error, reject outstanding confirms, and reopen the same
 * channel id, restoring what the user set: prefetch (basic.qos), confirm or tx mode, and consumers
 * (same tags, same callbacks; a stream consumer from after the last offset it delivered, see
 * stream-offset.ts). Queued calls wait for the reopen and then proceed. A consumer whose
 * restore the server refuses (its queue is gone) is dropped, its onCancel told, and the sequence
 * starts over.
 *
 * After a connection loss (`connectionLost()`) the call in flight rejects, queued calls and
 * publishes wait, deliveries become stale, and unconfirmed publishes are kept; `recover()` runs the
 * same restore sequence on the new transport and republishes them, marked, before queued calls and
 * publishes resume. `finalize()` ends the channel for good and settles everything still pending.
 *
 * The lifecycle is also the channel's port: the one object the connection drives the channel
 * through (frames in, loss, recovery, close), so an idle channel carries no extra closures.
 */
import { AMQPError, ChannelClosed, ChannelError, errorForCode } from '../errors.js';
import { METHOD_NAME, type MethodArgs } from '../protocol/generated/methods.js';
import type { CallOptions } from '../util/wait.js';
import { ConsumerRegistry } from './consumers.js';
import type { Inbound } from './inbound.js';
import type { ChannelLink } from './link.js';
import { Publisher } from './publisher.js';
import { resumeArguments } from './stream-offset.js';
import type { ChannelSettings } from './settings.js';
import type { ChannelEmitter, ChannelPort, ChannelState, ConsumerEntry } from './types.js';

/** Attempts of the restore sequence before the channel gives up and closes. */
const RESTORE_ATTEMPTS = 10;

/** See the file header. */
export class Lifecycle implements ChannelPort {
  /** Set by the channel after construction (the inbound table needs `onServerClose` first). */
  inbound!: Inbound;
  private pub: Publisher | null = null;
  private cons: ConsumerRegistry | null = null;

  constructor(
    private readonly link: ChannelLink,
    private readonly settings: ChannelSettings,
    private readonly events: ChannelEmitter,
  ) {}

  /** The channel's publisher, created with the first publish or confirmSelect (an idle channel holds none). */
  get publisher(): Publisher {
    return (this.pub ??= new Publisher(this.link, this.settings));
  }

  /** The publisher if the channel has one. */
  get publisherIfAny(): Publisher | null {
    return this.pub;
  }

  /** The channel's consumers, created with the first consumer (an idle channel holds none). */
  get consumers(): ConsumerRegistry {
    return (this.cons ??= new ConsumerRegistry(this.settings));
  }

  /** The consumer registry if the channel has one. */
  get consumersIfAny(): ConsumerRegistry | null {
    return this.cons;
  }

  // ---------------------------------------------------------------- the port: frames in

  /** A frame for this channel (see Inbound.handleFrame). */
  handleFrame(type: number, buf: Buffer, start: number, end: number): void {
    this.inbound.handleFrame(type, buf, start, end);
  }

  /** A piece of a body frame split across socket chunks. */
  handleBodyPart(piece: Buffer, frameDone: boolean): void {
    this.inbound.content.bodyPiece(piece, frameDone);
  }

  /** Where the socket may read the next `n` body bytes, or null. */
  bodyTarget(n: number): Buffer | null {
    return this.inbound.bodyTarget(n);
  }

  /** Body bytes still to come for the message being received. */
  get bodyRemaining(): number {
    return this.inbound.bodyRemaining;
  }

  /** Sends queued publishes if the channel is publishable now. */
  wakePublishers(): void {
    this.pub?.wake();
  }

  /** A server-named queue was renamed by recovery: its consumers follow. */
  renameConsumerQueue(oldName: string, newName: string): void {
    this.cons?.rename(oldName, newName);
  }

  /** Sends the acks coalescing holds (before connection.close). */
  flushAcks(): void {
    this.link.flushAcks();
  }

  /** Number of this channel's consumers on `queue`. */
  consumersOn(queue: string): number {
    return this.cons === null ? 0 : this.cons.on(queue);
  }

  /** Confirm-mode progress for the confirmTimeout watchdog. */
  get confirmProgress(): { outstanding: number; acked: number; nacked: number } | null {
    const c = this.pub?.confirms;
    return c ? { outstanding: c.size, acked: c.acked, nacked: c.nacked } : null;
  }

  /** The connection is gone for good. */
  connectionClosed(err: AMQPError): void {
    if (this.link.state !== 'closed') this.finalize(err);
  }

  // ---------------------------------------------------------------- opening and reopening

  /** Opens the channel (channel.open). */
  async open(opts: CallOptions): Promise<void> {
    await this.link.call('channel.open', {}, opts);
    this.link.wireOpen = true;
    this.link.state = 'open';
  }

  /** The server sent channel.close: answer, fail what it concerns, reopen (or finish a close). */
  onServerClose(a: MethodArgs['channel.close']): void {
    const link = this.link;
    link.control('channel.close-ok', {});
    link.wireOpen = false;
    this.inbound.resetContent();
    const err = errorForCode(a.replyCode, {
      replyText: a.replyText,
      classId: a.classId,
      methodId: a.methodId,
      channelId: link.id,
      methodName: METHOD_NAME[(a.classId << 16) | a.methodId] ?? '',
    });
    if (link.state === 'closing') {
      this.finalize(err);
      return;
    }
    link.renewGeneration();
    link.rpc.pause();
    link.rpc.failInFlight(err);
    this.pub?.failConfirms(err);
    this.events.emit('channelError', err);
    if (link.state !== 'reopening') void this.reopenAfterClose();
  }

  private async reopenAfterClose(): Promise<void> {
    this.link.state = 'reopening';
    if (await this.restore()) this.finishRestore();
  }

  /**
   * Runs the reopen sequence: channel.open, basic.qos, confirm.select / tx.select, consumers.
   * Returns false when the connection went away meanwhile, or the channel was closed.
   */
  private async restore(): Promise<boolean> {
    const link = this.link;
    for (let attempt = 1; attempt <= RESTORE_ATTEMPTS; attempt++) {
      let step: ConsumerEntry | null = null;
      try {
        await link.direct('channel.open', {});
        link.wireOpen = true;
        for (const q of this.settings.qos) await link.direct('basic.qos', q);
        if (this.settings.mode === 'confirm') await link.direct('confirm.select', {});
        if (this.settings.mode === 'tx') await link.direct('tx.select', {});
        for (const c of this.cons?.all() ?? []) {
          step = c;
          await link.direct('basic.consume', {
            queue: c.queue,
            consumerTag: c.tag,
            noLocal: c.noLocal,
            noAck: c.noAck,
            exclusive: c.exclusive,
            arguments: resumeArguments(c), // a stream consumer resumes after its last offset
          });
        }
        return true;
      } catch (err) {
        if ((link.state as ChannelState) === 'closed') return false;
        if (err instanceof ChannelError) {
          if (step) {
            const c = step;
            this.cons?.remove(c.tag);
            queueMicrotask(() => c.onCancel?.(err));
          }
          continue;
        }
        if (link.host.recovering) return false;
        this.finalize(err instanceof AMQPError ? err : new ChannelClosed(`channel ${link.id} could not reopen: ${String(err)}`));
        return false;
      }
    }
    this.finalize(new ChannelClosed(`channel ${link.id} could not be reopened after ${RESTORE_ATTEMPTS} attempts`));
    return false;
  }

  private finishRestore(): void {
    this.pub?.republishKept();
    this.link.state = 'open';
    this.link.rpc.resume();
    this.pub?.wake();
    this.events.emit('reopen');
  }

  /**
   * The connection was lost and is recovering: the call in flight rejects with `err` (its outcome
   * is unknown), queued calls and publishes wait for recovery, deliveries become stale, and
   * unconfirmed publishes are kept for republishing (or rejected, per `republish`).
   */
  connectionLost(err: AMQPError, republish: boolean): void {
    const link = this.link;
    if (link.state === 'closed') return;
    if (link.state === 'opening' || link.state === 'closing') {
      this.finalize(err);
      return;
    }
    link.state = 'reopening';
    link.wireOpen = false;
    link.renewGeneration();
    this.inbound.resetContent();
    link.rpc.pause();
    link.rpc.failInFlight(err);
    this.pub?.connectionLost(err, republish);
  }

  /** Reopens this channel (same id) on the connection's new transport; false if the connection died again. */
  async recover(): Promise<boolean> {
    if (this.link.state !== 'reopening') return true;
    if (!(await this.restore())) return false;
    this.finishRestore();
    return true;
  }

  /** Closes the channel (channel.close) after the calls queued before it; then finalizes. */
  async close(opts: CallOptions & { replyCode?: number; replyText?: string; classId?: number; methodId?: number }): Promise<void> {
    const link = this.link;
    if (link.state === 'closed') return;
    if (link.state === 'closing') throw new ChannelClosed(`channel ${link.id} is already closing`, { channelId: link.id });
    link.state = 'closing';
    try {
      await link.call(
        'channel.close',
        {
          replyCode: opts.replyCode ?? 200,
          replyText: opts.replyText ?? 'Normal shutdown',
          classId: opts.classId ?? 0,
          methodId: opts.methodId ?? 0,
        },
        opts,
      );
    } finally {
      this.finalize(undefined);
    }
  }

  /** Marks the channel closed for good and settles everything pending (`err` undefined: a clean close). */
  finalize(err: AMQPError | undefined): void {
    const link = this.link;
    if (link.state === 'closed') return;
    link.state = 'closed';
    link.closeError = err;
    link.renewGeneration();
    const reason = err ?? new ChannelClosed(`channel ${link.id} is closed`, { channelId: link.id });
    link.rpc.failAll(reason);
    this.pub?.close(reason);
    this.inbound.resetContent();
    link.wireOpen = false;
    const consumers = this.cons?.clear() ?? [];
    const host = link.host;
    // the broker drops a closed channel's consumers: an auto-delete queue left without any is gone
    for (const c of consumers) host.topology.consumerCancelled(c.queue, host.consumerCount(c.queue) > 0);
    this.settings.release();
    host.releaseChannel(link.id);
    queueMicrotask(() => {
      for (const c of consumers) c.onCancel?.(reason);
      this.events.emit('close', err);
    });
  }
}
