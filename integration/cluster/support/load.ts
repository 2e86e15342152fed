// Load for the fault scenarios: a confirmed publisher of numbered messages that retries what the
// broker did not confirm (at-least-once, as an application would), a consumer that counts what
// arrives, and the tally every scenario prints and checks:
//   sent=… confirmed=… received=… duplicates=… lost=0 recovery=…ms
// `recovery` is the longest stall the fault caused: the longer of the publisher's longest wait from
// a message's first publish to its confirm (reconnect and republish included) and the consumer's
// longest gap between two deliveries (publishing runs throughout, so a gap is a stall).
import { expect } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Channel, Message } from '../../../lib/index.js';

/** Publishes ids [0, count) to `queue`, at most `window` unconfirmed at a time; see the file header. */
export class ConfirmedPublisher {
  /** Ids published at least once. */
  sent = 0;
  /** Ids the broker confirmed (each counted once). */
  readonly confirmed = new Set<number>();
  /** Publishes that were refused (nack, timeout...) and published again. */
  retries = 0;
  /** Longest first-publish-to-confirm time, ms. */
  maxWaitMs = 0;
  /** Rejection reasons seen, by error name. */
  readonly failures = new Map<string, number>();
  private stopped = false;
  private ending = false;

  constructor(
    private readonly ch: Channel,
    private readonly queue: string,
    private readonly window = 500,
  ) {}

  /** Resolves once every id in [from, to) is confirmed; `pace(id)` may delay the next publish. */
  async run(from: number, to: number, pace?: (id: number) => Promise<void> | undefined): Promise<void> {
    let inFlight = 0;
    let wake: (() => void) | null = null;
    const settle = (): void => {
      inFlight--;
      wake?.();
    };
    const one = async (id: number): Promise<void> => {
      const t0 = Date.now();
      for (;;) {
        try {
          await this.ch.basicPublish(new Message(String(id), { deliveryMode: 2, messageId: String(id) }), {
            routingKey: this.queue,
            timeout: 120_000,
          });
          this.confirmed.add(id);
          this.maxWaitMs = Math.max(this.maxWaitMs, Date.now() - t0);
          return;
        } catch (err) {
          const name = err instanceof Error ? err.name : String(err);
          this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
          if (this.stopped || !this.ch.isOpen) throw err; // the test is failing, or the channel is closed for good
          this.retries++;
          await sleep(100);
        }
      }
    };
    const all: Promise<void>[] = [];
    for (let id = from; id < to && !this.stopped && !this.ending; id++) {
      while (inFlight >= this.window) await new Promise<void>((r) => (wake = r));
      wake = null;
      inFlight++;
      this.sent++;
      all.push(one(id).finally(settle));
      const p = pace?.(id);
      if (p) await p;
    }
    await Promise.all(all);
  }

  /** Makes retries give up (the test is failing). */
  stop(): void {
    this.stopped = true;
  }

  /** Publishes no new ids; run() resolves once those sent are confirmed. */
  end(): void {
    this.ending = true;
  }
}

/** Counts the ids a consumer receives. */
export class Received {
  readonly ids = new Map<number, number>();
  deliveries = 0;
  /** Stream offsets, in delivery order (stream consumers only). */
  readonly offsets: number[] = [];
  /** Longest time between two deliveries, ms. */
  maxGapMs = 0;
  private lastAt = 0;

  /** A consumer callback: counts the message, then acks it (an ack of a delivery from a lost connection is refused: fine). */
  readonly callback = (m: Message): void => {
    const id = Number(String(m.body));
    const now = Date.now();
    if (this.lastAt > 0) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAt);
    this.lastAt = now;
    this.deliveries++;
    this.ids.set(id, (this.ids.get(id) ?? 0) + 1);
    if (m.streamOffset !== undefined) this.offsets.push(m.streamOffset);
    try {
      m.ack();
    } catch {
      // StaleDelivery: its channel reopened since; the broker redelivers it (quorum) or it was credit only (stream)
    }
  };

  get duplicates(): number {
    return this.deliveries - this.ids.size;
  }

  /** Confirmed ids not received. */
  missing(confirmed: Set<number>): number[] {
    return [...confirmed].filter((id) => !this.ids.has(id));
  }
}

/** Waits until every confirmed id has arrived (or `timeoutMs` passed). */
export async function waitReceived(rx: Received, confirmed: Set<number>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (rx.missing(confirmed).length > 0 && Date.now() < deadline) await sleep(100);
}

/**
 * Checks the at-least-once outcome (every id published, confirmed and received; duplicates
 * allowed) and prints the scenario's line.
 */
export function report(scenario: string, pub: ConfirmedPublisher, rx: Received, expected: number): string {
  const lost = rx.missing(pub.confirmed).length;
  const failures = [...pub.failures].map(([k, v]) => `${k}:${v}`).join(',');
  const line =
    `${scenario}: sent=${pub.sent} confirmed=${pub.confirmed.size} received=${rx.ids.size} duplicates=${rx.duplicates} ` +
    `lost=${lost} recovery=${Math.max(pub.maxWaitMs, rx.maxGapMs)}ms (publisher ${pub.maxWaitMs} ms, consumer ${rx.maxGapMs} ms` +
    (pub.retries > 0 ? `; published again by the application: ${pub.retries}, after ${failures})` : ')');
  console.log(line);
  expect(lost).toBe(0);
  expect(pub.sent).toBe(expected);
  expect(pub.confirmed.size).toBe(expected);
  expect(rx.ids.size).toBe(expected);
  return line;
}
