/**
 * ConsumerRegistry: a channel's consumers by tag, as a reopen restores them, and the tags the user
 * cancelled (a delivery for such a tag that was already on its way is requeued, unless noAck). It
 * keeps the channel settings' consumer count current (read hints) and tells the topology when the
 * user's cancel leaves an auto-delete queue without consumers.
 */
import type { ChannelSettings } from './settings.js';
import type { ConsumerEntry, TopologyRecorder } from './types.js';

/** The shared empty map of channels without consumers (never written: `add` replaces it first). */
const NONE: Map<string, ConsumerEntry> = new Map();

/** See the file header. */
export class ConsumerRegistry {
  /** Consumers by tag (the shared empty map until the first consumer: an idle channel holds none). */
  private byTag: Map<string, ConsumerEntry> = NONE;
  /** Tags the user cancelled -> whether that consumer was noAck (created on the first cancel). */
  private cancelled: Map<string, boolean> | null = null;

  constructor(private readonly settings: ChannelSettings) {}

  /** Number of consumers. */
  get size(): number {
    return this.byTag.size;
  }

  /** The consumer with `tag`, if any. */
  get(tag: string): ConsumerEntry | undefined {
    return this.byTag.get(tag);
  }

  /** Every consumer, in registration order (a copy). */
  all(): ConsumerEntry[] {
    return [...this.byTag.values()];
  }

  /** Registers a consumer the broker confirmed (basic.consume-ok). */
  add(c: ConsumerEntry): void {
    if (this.byTag === NONE) this.byTag = new Map();
    this.byTag.set(c.tag, c);
    this.cancelled?.delete(c.tag);
    this.settings.consumersChanged(this.byTag.size);
  }

  /** Removes a consumer (server cancel, failed restore); returns it. */
  remove(tag: string): ConsumerEntry | undefined {
    const c = this.byTag.get(tag);
    if (c) {
      this.byTag.delete(tag);
      this.settings.consumersChanged(this.byTag.size);
    }
    return c;
  }

  /**
   * The user cancelled `tag` (basic.cancel-ok): deliveries still on their way for it will be
   * requeued; the topology learns whether its queue has consumers left (`consumersOnQueue` counts
   * the whole connection's).
   */
  userCancelled(tag: string, topology: TopologyRecorder, consumersOnQueue: (queue: string) => number): void {
    const c = this.remove(tag);
    if (!c) return;
    (this.cancelled ??= new Map()).set(tag, c.noAck);
    topology.consumerCancelled(c.queue, consumersOnQueue(c.queue) > 0);
  }

  /** Whether a delivery for an unknown `tag` must be rejected (requeued): the user cancelled it and it needs acks. */
  mustRequeue(tag: string): boolean {
    return this.cancelled?.get(tag) === false;
  }

  /** Whether `tag` is a consumer the user cancelled that was noAck (its late deliveries need no ack). */
  wasNoAck(tag: string): boolean {
    return this.cancelled?.get(tag) === true;
  }

  /** Number of consumers on `queue`. */
  on(queue: string): number {
    let n = 0;
    for (const c of this.byTag.values()) if (c.queue === queue) n++;
    return n;
  }

  /** A server-named queue was renamed by recovery: its consumers follow. */
  rename(oldName: string, newName: string): void {
    for (const c of this.byTag.values()) if (c.queue === oldName) c.queue = newName;
  }

  /** Removes every consumer (the channel closed for good); returns them. */
  clear(): ConsumerEntry[] {
    const all = this.all();
    this.byTag = NONE;
    this.settings.consumersChanged(0);
    return all;
  }
}
