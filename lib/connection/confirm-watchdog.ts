/**
 * The publisher-confirm watchdog behind the `confirmTimeout` connection option.
 *
 * A publish in confirm mode waits for the broker's ack, and nothing else bounds that wait: if the
 * broker stops processing a channel, its publishers wait for ever, and if it nacks everything a
 * channel publishes, an at-least-once publisher retries for ever. Both happen on RabbitMQ 3.10.8
 * when a client fails over within moments of a node crash: a new channel takes the crashed node as
 * the quorum queue's leader (from a queue record not yet updated) and keeps it. Its first publish
 * either blocks inside the broker for good (the channel goes into flow: the broker reads nothing
 * more from the socket, heartbeats included) or is nacked, as is every later one, until that node
 * is back. A new connection (new channels) gets the current leader. The watchdog looks at every
 * confirm-mode channel once per check interval; when one has publishes outstanding and none has
 * been acked for `confirmTimeout` ms, the connection is reported stalled (connection.ts treats it
 * as lost: it reconnects and republishes what is unconfirmed). It does not count while the broker
 * blocks publishing (connection.blocked) or while the connection is not open.
 */

import { ConnectionLost } from '../errors.js';
import { type Tickable, ticker } from '../util/ticker.js';
import type { SharedState } from './shared.js';

/** How far a confirm-mode channel is: publishes awaiting confirms, and publishes acked so far. */
export interface ConfirmProgress {
  readonly outstanding: number;
  readonly acked: number;
  readonly nacked: number;
}

/** @internal See the file header. */
export class ConfirmWatchdog implements Tickable {
  private running = false;
  /** Per channel id: the counts last seen, and since when no publish has been acked. */
  private readonly seen = new Map<number, { acked: number; nacked: number; since: number }>();

  /**
   * @param timeoutMs - confirmTimeout; 0 turns the watchdog off.
   * @param progress - the confirm progress of each channel (null when not in confirm mode).
   * @param paused - true while nothing should count (blocked, not open).
   * @param onStall - called when a channel has stalled (then counting starts over).
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly progress: () => Iterable<[number, ConfirmProgress | null]>,
    private readonly paused: () => boolean,
    private readonly onStall: (channelId: number, outstanding: number, stalledMs: number) => void,
  ) {}

  /** How often it checks: a quarter of the timeout, between 10 ms and 1 s. */
  private get period(): number {
    return Math.min(1000, Math.max(10, Math.floor(this.timeoutMs / 4)));
  }

  /** Starts checking on the process-wide ticker (no-op when off or already running; keeps no process alive). */
  start(): void {
    if (this.timeoutMs <= 0 || this.running) return;
    this.running = true;
    ticker.add(this.period, this);
  }

  /** Stops checking and forgets what it saw. */
  stop(): void {
    if (this.running) ticker.remove(this.period, this);
    this.running = false;
    this.seen.clear();
  }

  /** The ticker's call: one check now. */
  tick(now: number): void {
    this.check(now);
  }

  /**
   * One check at time `now` (ms). A channel counts from the first check that sees it waiting for
   * confirms; an ack restarts its clock; it is forgotten once it waits for nothing and no nack came
   * since the last check (a publisher that retries nacked messages after a pause is still stuck).
   */
  check(now: number): void {
    if (this.paused()) {
      this.seen.clear();
      return;
    }
    const live = new Set<number>();
    for (const [id, p] of this.progress()) {
      if (!p) continue;
      const s = this.seen.get(id);
      if (!s) {
        if (p.outstanding > 0) this.seen.set(id, { acked: p.acked, nacked: p.nacked, since: now });
      } else if (p.acked !== s.acked) {
        this.seen.set(id, { acked: p.acked, nacked: p.nacked, since: now });
      } else if (p.outstanding === 0 && p.nacked === s.nacked) {
        continue; // idle, and nothing refused: forgotten below
      } else if (now - s.since >= this.timeoutMs) {
        this.seen.clear(); // counting starts over once the connection is back
        this.onStall(id, p.outstanding, now - s.since);
        return;
      } else {
        s.nacked = p.nacked;
      }
      live.add(id);
    }
    for (const id of [...this.seen.keys()]) if (!live.has(id)) this.seen.delete(id);
  }
}

/**
 * @internal Starts the confirmTimeout watchdog of a connection (null when `timeoutMs` is 0): a
 * stalled channel fails the transport with ConnectionLost, which the connection treats as a loss.
 */
export function watchConfirms(s: SharedState, timeoutMs: number): ConfirmWatchdog | null {
  if (timeoutMs <= 0) return null;
  const dog = new ConfirmWatchdog(
    timeoutMs,
    () => s.channels.confirmProgress(),
    () => s.state !== 'open' || s.blocked,
    (id, n, ms) =>
      s.transport?.fail(
        new ConnectionLost(`no publish acked for ${ms} ms on channel ${id} (${n} outstanding): confirmTimeout, reconnecting`),
      ),
  );
  dog.start();
  return dog;
}
