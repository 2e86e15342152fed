/**
 * ChannelSettings: what the user set on a channel that a reopen restores (prefetch windows, the
 * confirm or tx mode, the confirm window) plus the broker's flow state and body decoding. It also
 * keeps the channel's share of the transport's read hints current: a channel consuming into a
 * window under 100 messages counts as latency-bound (see transport.ts).
 */
import type { MethodInit } from '../protocol/generated/methods.js';
import type { ReadHints } from '../transport/transport.js';
import type { ChannelMode } from './types.js';

/** Consumer windows (prefetch) under this many messages are paced by acks: no read batching. */
const SMALL_WINDOW = 100;

/** The shared empty qos list of channels that never set a prefetch (never written: setQos replaces it). */
const NO_QOS: ReadonlyArray<MethodInit['basic.qos']> = Object.freeze([]);

/** See the file header. */
export class ChannelSettings {
  /** basic.qos settings in force, one per `global` flag, restored in order on reopen. */
  qos: ReadonlyArray<MethodInit['basic.qos']> = NO_QOS;
  /** Current mode: `none`, `tx` or `confirm`. */
  mode: ChannelMode = 'none';
  /** Most unconfirmed publishes in confirm mode (0 = no limit). */
  maxUnconfirmed = 0;
  /** False while the server has paused this channel's publishing (channel.flow). */
  active = true;
  private consumers = 0;
  private counted = false;

  constructor(
    /** Decode text bodies to strings on receipt. */
    public autoDecode: boolean,
    private readonly hints: ReadHints,
  ) {}

  /** Records a basic.qos the broker confirmed (it replaces the setting with the same `global`). */
  setQos(q: MethodInit['basic.qos']): void {
    this.qos = [...this.qos.filter((x) => x.global !== q.global), q];
    this.recount();
  }

  /** The smallest prefetch count in force (0: none set). */
  get smallestPrefetch(): number {
    let min = 0;
    for (const q of this.qos) {
      const n = q.prefetchCount ?? 0;
      if (n > 0 && (min === 0 || n < min)) min = n;
    }
    return min;
  }

  /** The channel's consumer count changed. */
  consumersChanged(count: number): void {
    this.consumers = count;
    this.recount();
  }

  /** The channel is closed for good: it no longer counts in the hints. */
  release(): void {
    this.consumers = 0;
    this.recount();
  }

  private recount(): void {
    let small = false;
    if (this.consumers > 0) {
      for (const q of this.qos) {
        const n = q.prefetchCount ?? 0;
        if (n > 0 && n < SMALL_WINDOW) small = true;
      }
    }
    if (small !== this.counted) {
      this.counted = small;
      this.hints.latencyBound += small ? 1 : -1;
    }
  }
}
