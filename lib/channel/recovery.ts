/**
 * RecoverableChannel: how a channel comes back, after a server channel.close (same connection)
 * or after the connection was lost and reconnected (`connectionLost()` then `recover()`).
 *
 * The restore sequence is channel.open, basic.qos (each prefetch setting), confirm.select or
 * tx.select, then every consumer with its tag (a stream consumer from after the last offset it
 * delivered, see stream-offset.ts). A consumer whose restore the server refuses (its
 * queue is gone) is dropped, its onCancel told, and the sequence starts over. After a reconnect,
 * confirm-mode messages left unconfirmed are published again, marked with REPUBLISHED_HEADER,
 * before queued calls and publishes resume.
 */
import { AMQPError, ChannelClosed, ChannelError } from '../errors.js';
import { encodePublish } from '../protocol/content.js';
import { ChannelCore, REPUBLISHED_HEADER, type ChannelState, type ConsumerEntry } from './channel-core.js';
import { rejectPending, type ConfirmTracker, type Pending } from './confirms.js';
import { resumeArguments } from './stream-offset.js';

/** @internal See the file header. Public members are documented on Channel. */
export abstract class RecoverableChannel extends ChannelCore {
  /** @internal */
  protected override async reopenAfterClose(): Promise<void> {
    this.state = 'reopening';
    if (await this.restore()) this.finishRestore();
  }

  /**
   * Runs the reopen sequence: channel.open, basic.qos, confirm.select / tx.select, consumers.
   * A consumer whose restore the server refuses is dropped (its onCancel is told) and the
   * sequence starts over. Returns false when the connection went away meanwhile.
   */
  private async restore(): Promise<boolean> {
    for (let attempt = 1; attempt <= 10; attempt++) {
      let step: ConsumerEntry | null = null;
      try {
        await this.direct('channel.open', {});
        this.wireOpen = true;
        for (const q of this.qos) await this.direct('basic.qos', q);
        if (this.mode === 'confirm') await this.direct('confirm.select', {});
        if (this.mode === 'tx') await this.direct('tx.select', {});
        for (const c of [...this.consumers.values()]) {
          step = c;
          await this.direct('basic.consume', {
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
        if ((this.state as ChannelState) === 'closed') return false;
        if (err instanceof ChannelError) {
          if (step) {
            this.consumers.delete(step.tag);
            const c = step;
            queueMicrotask(() => c.onCancel?.(err));
          }
          continue;
        }
        if (this.host.recovering) return false;
        this.finalize(err instanceof AMQPError ? err : new ChannelClosed(`channel ${this.channelId} could not reopen: ${String(err)}`));
        return false;
      }
    }
    this.finalize(new ChannelClosed(`channel ${this.channelId} could not be reopened after 10 attempts`));
    return false;
  }

  private finishRestore(): void {
    const again = this.unconfirmed;
    this.unconfirmed = [];
    if (again.length > 0 && this.confirms) this.republish(again, this.confirms);
    this.state = 'open';
    this.rpc.resume();
    this.wakePublishers();
    this.emit('reopen');
  }

  /** Publishes again, marked, the messages left unconfirmed by a lost connection. */
  private republish(list: Pending[], confirms: ConfirmTracker): void {
    const t = this.transportOrThrow();
    for (const p of list) {
      const body = p.body;
      if (!body) continue;
      const properties = { ...p.properties, applicationHeaders: { ...p.properties.applicationHeaders, [REPUBLISHED_HEADER]: true } };
      const start = t.out.pos;
      try {
        encodePublish(
          t.out,
          this.channelId,
          {
            exchange: p.exchange,
            routingKey: p.routingKey,
            mandatory: p.mandatory,
            immediate: p.immediate,
            properties,
            body,
          },
          this.host.frameMax,
          (b) => t.appendExternal(b),
        );
        confirms.registerExisting(p);
      } catch (err) {
        t.rewind(start);
        rejectPending(p, err);
      }
    }
    t.commit();
  }

  /**
   * @internal The connection was lost and is recovering: the call in flight rejects with `err`
   * (its outcome is unknown), queued calls and publishes wait for recovery, deliveries become
   * stale, and unconfirmed publishes are kept for republishing (or rejected, per `republish`).
   */
  connectionLost(err: AMQPError, republish: boolean): void {
    if (this.state === 'closed') return;
    if (this.state === 'opening' || this.state === 'closing') {
      this.finalize(err);
      return;
    }
    this.state = 'reopening';
    this.wireOpen = false;
    this.renewGeneration();
    this.content.reset();
    this.rpc.pause();
    this.rpc.failInFlight(err);
    if (this.confirms) {
      if (republish) this.unconfirmed.push(...this.confirms.takeUnconfirmed());
      else this.confirms.failAll(err);
    }
  }

  /**
   * @internal Reopens this channel (same id) on the connection's new transport and restores it
   * (consumers of renamed server-named queues were moved already). False if the connection died again.
   */
  async recover(): Promise<boolean> {
    if (this.state !== 'reopening') return true;
    if (!(await this.restore())) return false;
    this.finishRestore();
    return true;
  }
}
