/**
 * Publisher-confirm bookkeeping for one channel in confirm mode: delivery tag -> pending publish.
 *
 * Tags count up from 1 per confirm session. `basic.ack`/`basic.nack` with `multiple` settle every
 * pending tag up to theirs (Map iteration is insertion = tag order, so that is a walk from the
 * front). A nack rejects with PublishNacked. A mandatory publish that the broker returned
 * (basic.return arrives before its ack) rejects with NoRoute carrying the returned message.
 * `waitForAll()` waits until nothing is outstanding (`maxUnconfirmed` is enforced by the channel).
 */
import { AMQPError, NoRoute, PublishNacked } from '../errors.js';
import type { Message } from '../message.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import { deferred, type Deferred } from '../util/wait.js';

/**
 * @internal One unconfirmed publish: its promise, what a basic.return is matched against, and
 * (when `body` is set) what is needed to publish it again after a reconnect. One object per
 * publish: this is the confirm-mode hot path.
 */
export interface Pending {
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Kept only when the connection republishes after recovery. */
  body: Buffer | undefined;
  properties: BasicProperties;
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
  returned: Message | undefined;
}

/** @internal See the file header. */
export class ConfirmTracker {
  private nextTag = 1;
  private readonly pending = new Map<number, Pending>();
  private idleWaiters: Deferred<void>[] = [];

  /** Outstanding (unconfirmed) publishes. */
  get size(): number { return this.pending.size; }

  /** Registers the next publish and returns the promise its confirm settles. */
  register(
    body: Buffer, properties: BasicProperties, exchange: string, routingKey: string, mandatory: boolean, immediate: boolean, retain: boolean,
  ): Promise<void> {
    const tag = this.nextTag++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(tag, {
        resolve, reject, body: retain ? body : undefined, properties, exchange, routingKey, mandatory, immediate, returned: undefined,
      });
    });
  }

  /** Re-registers a publish taken by `takeUnconfirmed()` under the next tag (it is being republished). */
  registerExisting(p: Pending): void {
    p.returned = undefined;
    this.pending.set(this.nextTag++, p);
  }

  /** Removes and returns every outstanding publish, in tag order, and restarts tags at 1. */
  takeUnconfirmed(): Pending[] {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.nextTag = 1;
    this.wake();
    return all;
  }

  /** Takes back the last registered tag (its frame could not be encoded; nothing was sent). */
  unregisterLast(): Pending | undefined {
    const tag = --this.nextTag;
    const p = this.pending.get(tag);
    this.pending.delete(tag);
    return p;
  }

  /** Handles basic.ack from the broker. */
  ack(tag: number, multiple: boolean): void {
    this.settle(tag, multiple, undefined);
  }

  /** Handles basic.nack from the broker. */
  nack(tag: number, multiple: boolean): void {
    this.settle(tag, multiple, (t) => new PublishNacked(`the broker nacked the message published with delivery tag ${t}`));
  }

  /** Attributes a basic.return to the earliest matching pending mandatory publish. */
  returned(msg: Message): void {
    const info = msg.deliveryInfo;
    if (!info) return;
    for (const p of this.pending.values()) {
      if ((p.mandatory || p.immediate) && !p.returned && p.exchange === info.exchange && p.routingKey === info.routingKey) {
        p.returned = msg;
        return;
      }
    }
  }

  private settle(tag: number, multiple: boolean, nackError: ((tag: number) => AMQPError) | undefined): void {
    if (multiple) {
      for (const [t, p] of this.pending) {
        if (t > tag) break;
        this.pending.delete(t);
        this.finish(t, p, nackError);
      }
    } else {
      const p = this.pending.get(tag);
      if (!p) return;
      this.pending.delete(tag);
      this.finish(tag, p, nackError);
    }
    this.wake();
  }

  private finish(tag: number, p: Pending, nackError: ((tag: number) => AMQPError) | undefined): void {
    if (nackError) p.reject(nackError(tag));
    else if (p.returned) {
      const r = p.returned.deliveryInfo;
      const err = new NoRoute(`${r?.replyCode ?? 312} ${r?.replyText ?? 'NO_ROUTE'}: message to exchange '${r?.exchange ?? ''}' with routing key '${r?.routingKey ?? ''}' was returned`, {
        replyCode: r?.replyCode ?? 312, replyText: r?.replyText ?? 'NO_ROUTE', classId: 60, methodId: 50, methodName: 'basic.return',
      });
      err.returnedMessage = p.returned;
      p.reject(err);
    } else p.resolve();
  }

  /** Rejects every outstanding publish with `err` and starts a new session (tags from 1). */
  failAll(err: unknown): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.nextTag = 1;
    for (const p of all) p.reject(err);
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of idle) w.reject(err);
  }

  /** Resolves when no publish is outstanding. */
  waitForAll(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    const d = deferred<void>();
    this.idleWaiters.push(d);
    return d.promise;
  }

  private wake(): void {
    if (this.pending.size === 0 && this.idleWaiters.length > 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of idle) w.resolve();
    }
  }
}
