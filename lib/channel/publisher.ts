/**
 * Publisher: a channel's outgoing messages. A publish goes out at once when the channel is
 * publishable (open, flow active, connection not blocked, confirm window not full) and nothing
 * waits before it; otherwise it waits in the PublishQueue under its deadline, in call order. While
 * the connection recovers, waiting publishes take room in the connection's bounded outage buffer.
 *
 * In confirm mode each publish registers with the ConfirmTracker and resolves on the broker's ack;
 * after a connection loss the unconfirmed ones are kept (`unconfirmed`) and published again,
 * marked with REPUBLISHED_HEADER, once the channel is restored. A channel with CONFIRM_STREAM or
 * more publishes outstanding counts as a confirm stream in the transport's read hints.
 */
import { diag, diagConfirm, diagPublish } from '../diagnostics-publish.js';
import { ChannelClosed, PublishBufferFull } from '../errors.js';
import { hooks } from '../hooks.js';
import { encodePublish, type PublishFrameArgs, PublishFrameCache } from '../protocol/encode.js';
import type { BasicProperties } from '../protocol/generated/properties.js';
import type { Encoder } from '../transport/transport.js';
import type { CallOptions } from '../util/wait.js';
import { ConfirmTracker, type Pending, rejectPending } from './confirms.js';
import type { ChannelLink } from './link.js';
import { PublishQueue } from './publish-queue.js';
import type { ChannelSettings } from './settings.js';
import { REPUBLISHED_HEADER } from './types.js';

/** Unconfirmed publishes from which a confirm-mode channel counts as a confirm stream. */
const CONFIRM_STREAM = 512;

const EMPTY = Buffer.alloc(0);
const NO_PROPERTIES: BasicProperties = Object.freeze({});
/** The shared empty list of channels with nothing kept for republishing (never written to). */
const NO_PENDING: Pending[] = [];
const NOOP = (): void => {};

/** Where a message goes, as basicPublish was told. */
export interface Destination {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
}

/** See the file header. */
export class Publisher {
  /** Confirm bookkeeping, from confirm.select on. */
  confirms: ConfirmTracker | null = null;
  /** Unconfirmed publishes of a lost connection, published again once the channel is restored. */
  unconfirmed: Pending[] = NO_PENDING;
  /** Publishes waiting for the channel to become publishable (created when one first waits). */
  private waitingQueue: PublishQueue | null = null;
  private streaming = false;
  /** The encoder of the publish being encoded (one at a time, synchronously): created with the first publish. */
  private encoder: { job: PublishFrameArgs; encode: Encoder } | null = null;

  constructor(
    private readonly link: ChannelLink,
    private readonly settings: ChannelSettings,
  ) {}

  /** Turns confirm mode on (confirm.select-ok or nowait). */
  enableConfirms(maxUnconfirmed: number): void {
    this.confirms ??= new ConfirmTracker();
    this.settings.mode = 'confirm';
    this.settings.maxUnconfirmed = maxUnconfirmed;
  }

  private get queue(): PublishQueue {
    return (this.waitingQueue ??= new PublishQueue());
  }

  private makeEncoder(): { job: PublishFrameArgs; encode: Encoder } {
    const job: PublishFrameArgs = {
      exchange: '',
      routingKey: '',
      mandatory: false,
      immediate: false,
      properties: NO_PROPERTIES,
      body: EMPTY,
    };
    const cache = new PublishFrameCache();
    return { job, encode: (w, external) => encodePublish(w, this.link.id, job, this.link.host.frameMax, external, cache) };
  }

  /** Whether a publish can go out right now. */
  private canPublishNow(): boolean {
    const s = this.settings;
    return (
      this.link.state === 'open' &&
      s.active &&
      !this.link.host.blocked &&
      (s.maxUnconfirmed === 0 || this.confirms === null || this.confirms.size < s.maxUnconfirmed)
    );
  }

  /** Publishes `body` now, or queues it until the channel is publishable (see the file header). */
  publish(body: Buffer, properties: BasicProperties, dest: Destination, opts: CallOptions): Promise<void> {
    if (hooks.publish !== null) return this.publishHooked(hooks.publish, body, properties, dest, opts);
    return this.publishPlain(body, properties, dest, opts);
  }

  /** A publish through the instrumentation hook, which may send changed properties (instrumentation.ts). */
  private publishHooked(
    hook: NonNullable<typeof hooks.publish>,
    body: Buffer,
    properties: BasicProperties,
    dest: Destination,
    opts: CallOptions,
  ): Promise<void> {
    const host = this.link.host;
    const info = {
      connection: host.connection,
      channel: this.link.publicChannel,
      exchange: dest.exchange,
      routingKey: dest.routingKey,
      properties,
      bodySize: body.length,
      serverAddress: host.endpoint.host,
      serverPort: host.endpoint.port,
    };
    let p: Promise<void>;
    try {
      p = hook(info, (props) => this.publishPlain(body, props, dest, opts));
    } catch (err) {
      return Promise.reject(err);
    }
    p.catch(NOOP); // as without a hook: a publish nobody awaits never rejects unhandled
    return p;
  }

  private publishPlain(body: Buffer, properties: BasicProperties, dest: Destination, opts: CallOptions): Promise<void> {
    if (this.canPublishNow() && (this.waitingQueue === null || this.waitingQueue.length === 0))
      return this.publishNow(body, properties, dest);
    const bad = this.link.unusable();
    if (bad) return Promise.reject(bad);
    const send = (): Promise<void> => this.publishNow(body, properties, dest);
    const what = `basicPublish (waiting: ${this.blocker()})`;
    const deadline = { timeout: opts.timeout ?? this.link.host.callTimeout, signal: opts.signal };
    const host = this.link.host;
    if (!host.recovering) return this.queue.add(send, deadline, what);
    const size = body.length;
    if (!host.reserveOutage(size)) {
      return Promise.reject(
        new PublishBufferFull(
          `basicPublish: the connection is recovering and its outage buffer is full (${size} more bytes do not fit); the message was not published`,
        ),
      );
    }
    let released = false;
    return this.queue.add(send, deadline, what, () => {
      if (!released) {
        released = true;
        host.releaseOutage(size);
      }
    });
  }

  /** Encodes a publish now; returns its completion promise (confirm, or written to the socket). */
  private publishNow(body: Buffer, properties: BasicProperties, dest: Destination): Promise<void> {
    let t: ReturnType<ChannelLink['transport']>;
    try {
      t = this.link.transport();
    } catch (err) {
      return Promise.reject(err);
    }
    const confirms = this.confirms;
    const confirm = confirms
      ? confirms.register(body, properties, dest.exchange, dest.routingKey, dest.mandatory, dest.immediate, this.link.host.republish)
      : null;
    const enc = (this.encoder ??= this.makeEncoder());
    const job = enc.job;
    job.exchange = dest.exchange;
    job.routingKey = dest.routingKey;
    job.mandatory = dest.mandatory;
    job.immediate = dest.immediate;
    job.properties = properties;
    job.body = body;
    try {
      t.send(body.length <= 65536 ? body.length + 512 : 4096, enc.encode);
    } catch (err) {
      if (confirm) confirms?.unregisterLast();
      return Promise.reject(err);
    } finally {
      job.body = EMPTY; // keep no reference to the caller's body
      job.properties = NO_PROPERTIES;
    }
    this.link.host.stats.published++;
    if (diag.publish.hasSubscribers) diagPublish(this.link, dest.exchange, dest.routingKey, dest.mandatory, properties, body.length);
    if (confirm) {
      this.countStream();
      return confirm; // marked handled when it is rejected
    }
    return t.written();
  }

  /** Why publishes wait now (for Timeout messages). */
  private blocker(): string {
    const host = this.link.host;
    if (host.recovering) return 'connection recovering';
    if (host.blocked) return 'connection blocked by the broker';
    if (this.link.state !== 'open') return 'channel reopening';
    if (!this.settings.active) return 'channel flow paused by the broker';
    return 'maxUnconfirmed publishes outstanding';
  }

  /** Sends queued publishes while the channel is publishable; fails them if it closed. */
  wake(): void {
    if (this.waitingQueue === null) return;
    this.waitingQueue.drain(
      () => this.canPublishNow(),
      () => this.link.unusable(),
    );
  }

  /** basic.ack / basic.nack from the broker. */
  confirmed(tag: number, multiple: boolean, nack: boolean): void {
    const c = this.confirms;
    if (!c) return;
    const stats = this.link.host.stats;
    const acked = c.acked;
    const nacked = c.nacked;
    if (nack) c.nack(tag, multiple);
    else c.ack(tag, multiple);
    stats.confirmed += c.acked - acked;
    stats.nacked += c.nacked - nacked;
    if (diag.confirm.hasSubscribers) diagConfirm(this.link, tag, multiple, nack);
    this.countStream();
    if (this.waitingQueue !== null && this.waitingQueue.length > 0) this.wake();
  }

  /** Keeps the channel's confirm-stream hint current. */
  private countStream(): void {
    const on = this.confirms !== null && this.confirms.size >= CONFIRM_STREAM && this.link.state !== 'closed';
    if (on !== this.streaming) {
      this.streaming = on;
      this.link.host.hints.streaming += on ? 1 : -1;
    }
  }

  /** Rejects every outstanding confirm with `err` (the channel closed or reopens). */
  failConfirms(err: unknown): void {
    this.confirms?.failAll(err);
    this.countStream();
  }

  /** The connection was lost: keep unconfirmed publishes for republishing, or reject them. */
  connectionLost(err: unknown, republish: boolean): void {
    const c = this.confirms;
    if (c) {
      if (republish) this.unconfirmed = [...this.unconfirmed, ...c.takeUnconfirmed()];
      else c.failAll(err);
    }
    this.countStream();
  }

  /** Publishes again, marked, the messages left unconfirmed by a lost connection. */
  republishKept(): void {
    const again = this.unconfirmed;
    this.unconfirmed = NO_PENDING;
    const confirms = this.confirms;
    if (again.length === 0 || !confirms) return;
    const t = this.link.transport();
    for (const p of again) {
      const body = p.body;
      if (!body) continue;
      const properties = { ...p.properties, applicationHeaders: { ...p.properties.applicationHeaders, [REPUBLISHED_HEADER]: true } };
      const dest = { exchange: p.exchange, routingKey: p.routingKey, mandatory: p.mandatory, immediate: p.immediate };
      try {
        t.send(4096, (w, external) => encodePublish(w, this.link.id, { ...dest, properties, body }, this.link.host.frameMax, external));
        confirms.registerExisting(p);
      } catch (err) {
        rejectPending(p, err);
      }
    }
    this.countStream();
  }

  /** The channel is closed for good: settle everything with `reason`. */
  close(reason: unknown): void {
    this.confirms?.failAll(reason);
    for (const p of this.unconfirmed) rejectPending(p, reason);
    this.unconfirmed = NO_PENDING;
    this.countStream();
    this.wake();
  }

  /** Waits until every publish so far is confirmed. */
  waitForConfirms(): Promise<void> {
    if (!this.confirms) return Promise.reject(new ChannelClosed('not in confirm mode'));
    return this.confirms.waitForAll();
  }
}
