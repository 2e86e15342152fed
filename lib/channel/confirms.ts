/**
 * Publisher-confirm bookkeeping for one channel in confirm mode: delivery tag -> pending publish.
 *
 * Tags count up from 1 per confirm session. `basic.ack`/`basic.nack` with `multiple` settle every
 * pending tag up to theirs (a walk over a window array indexed by tag). A nack rejects with
 * PublishNacked. A mandatory publish that the broker returned (basic.return arrives before its
 * ack) rejects with PublishReturned (a NoRoute) carrying the returned message.
 * `waitForAll()` waits until nothing is outstanding (`maxUnconfirmed` is enforced by the channel).
 */
import { type AMQPError, type AMQPErrorInfo, NoRoute, PublishNacked } from '../errors.js';
import type { Message } from '../message.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import { deferred, type Deferred } from '../util/wait.js';

/**
 * A mandatory (or immediate) publish in confirm mode that the broker returned as unroutable
 * (basic.return) before acking it: a NoRoute (312; NoConsumers' 313 text for immediate) that
 * carries the message the broker returned.
 */
export class PublishReturned extends NoRoute {
  /** The message as the broker returned it (`deliveryInfo` has its reply code and text). */
  readonly returnedMessage: Message;

  constructor(message: string, info: AMQPErrorInfo, returned: Message) {
    super(message, info);
    this.returnedMessage = returned;
  }
}

/**
 * @internal One unconfirmed publish: its promise, what a basic.return is matched against, and
 * (when `body` is set) what is needed to publish it again after a reconnect. One object per
 * publish: this is the confirm-mode hot path.
 */
export interface Pending {
  resolve: () => void;
  /** Settles the promise as rejected: call `rejectPending()`, which marks it handled first. */
  reject: (err: unknown) => void;
  /** The promise `basicPublish` returned. */
  promise: Promise<void>;
  /** Kept only when the connection republishes after recovery. */
  body: Buffer | undefined;
  properties: BasicProperties;
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
  returned: Message | undefined;
}

const NOOP = (): void => {};

/**
 * @internal Rejects a publish's promise. It is marked handled first, so a caller that did not
 * await its publish gets no unhandled rejection; callers that did still see the error. (Doing
 * this here, on the rare failure path, spares every publish a `.catch()` promise.)
 */
export function rejectPending(p: Pending, err: unknown): void {
  p.promise.catch(NOOP);
  p.reject(err);
}

/** @internal See the file header. */
export class ConfirmTracker {
  // Tags are consecutive: entry i of `entries` is tag `base + i`; settled entries are undefined
  // and `head` skips them, so settling (multiple) acks is a walk over an array, not a map.
  private entries: Array<Pending | undefined> = [];
  private base = 1;
  private head = 0;
  private count = 0;
  private idleWaiters: Deferred<void>[] = [];
  /** Publishes the broker acked so far: its progress, for the confirmTimeout watchdog. */
  acked = 0;
  /** Publishes the broker nacked so far. */
  nacked = 0;

  /** Outstanding (unconfirmed) publishes. */
  get size(): number {
    return this.count;
  }

  /** Registers the next publish and returns the promise its confirm settles. */
  register(
    body: Buffer,
    properties: BasicProperties,
    exchange: string,
    routingKey: string,
    mandatory: boolean,
    immediate: boolean,
    retain: boolean,
  ): Promise<void> {
    let pending: Pending | undefined;
    const promise = new Promise<void>((resolve, reject) => {
      pending = {
        resolve,
        reject,
        promise: undefined as unknown as Promise<void>,
        body: retain ? body : undefined,
        properties,
        exchange,
        routingKey,
        mandatory,
        immediate,
        returned: undefined,
      };
    });
    const p = pending as Pending;
    p.promise = promise;
    this.entries.push(p);
    this.count++;
    return promise;
  }

  /** Re-registers a publish taken by `takeUnconfirmed()` under the next tag (it is being republished). */
  registerExisting(p: Pending): void {
    p.returned = undefined;
    this.entries.push(p);
    this.count++;
  }

  /** Removes and returns every outstanding publish, in tag order, and restarts tags at 1. */
  takeUnconfirmed(): Pending[] {
    const all = this.outstanding();
    this.reset();
    this.wake();
    return all;
  }

  /** Takes back the last registered tag (its frame could not be encoded; nothing was sent). */
  unregisterLast(): Pending | undefined {
    const p = this.entries.pop();
    if (p) this.count--;
    return p;
  }

  private outstanding(): Pending[] {
    const all: Pending[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const p = this.entries[i];
      if (p) all.push(p);
    }
    return all;
  }

  private reset(): void {
    this.entries = [];
    this.base = 1;
    this.head = 0;
    this.count = 0;
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
    for (let i = this.head; i < this.entries.length; i++) {
      const p = this.entries[i];
      if (p && (p.mandatory || p.immediate) && !p.returned && p.exchange === info.exchange && p.routingKey === info.routingKey) {
        p.returned = msg;
        return;
      }
    }
  }

  private settle(tag: number, multiple: boolean, nackError: ((tag: number) => AMQPError) | undefined): void {
    const entries = this.entries;
    const idx = tag - this.base;
    if (idx < 0 || idx >= entries.length) return; // unknown or already settled
    if (multiple) {
      for (let i = this.head; i <= idx; i++) {
        const p = entries[i];
        if (!p) continue;
        entries[i] = undefined;
        this.count--;
        this.finish(this.base + i, p, nackError);
      }
      if (idx + 1 > this.head) this.head = idx + 1;
    } else {
      const p = entries[idx];
      if (!p) return;
      entries[idx] = undefined;
      this.count--;
      this.finish(tag, p, nackError);
    }
    while (this.head < entries.length && entries[this.head] === undefined) this.head++;
    if (this.head > 1024 && this.head * 2 > entries.length) {
      // drop the settled prefix now and then
      this.entries = entries.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
    this.wake();
  }

  private finish(tag: number, p: Pending, nackError: ((tag: number) => AMQPError) | undefined): void {
    if (nackError) {
      rejectPending(p, nackError(tag));
      this.nacked++;
    } else if (p.returned) {
      const r = p.returned.deliveryInfo;
      const err = new PublishReturned(
        `${r?.replyCode ?? 312} ${r?.replyText ?? 'NO_ROUTE'}: message to exchange '${r?.exchange ?? ''}' with routing key '${r?.routingKey ?? ''}' was returned`,
        {
          replyCode: r?.replyCode ?? 312,
          replyText: r?.replyText ?? 'NO_ROUTE',
          classId: 60,
          methodId: 50,
          methodName: 'basic.return',
        },
        p.returned,
      );
      rejectPending(p, err);
      this.acked++;
    } else {
      p.resolve();
      this.acked++;
    }
  }

  /** Rejects every outstanding publish with `err` and starts a new session (tags from 1). */
  failAll(err: unknown): void {
    const all = this.outstanding();
    this.reset();
    for (const p of all) rejectPending(p, err);
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of idle) w.reject(err);
  }

  /** Resolves when no publish is outstanding. */
  waitForAll(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    const d = deferred<void>();
    this.idleWaiters.push(d);
    return d.promise;
  }

  private wake(): void {
    if (this.count === 0 && this.idleWaiters.length > 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of idle) w.resolve();
    }
  }
}
