/**
 * `perf`'s measurements: counters (sent, confirmed, nacked, received), confirm latency (publish to
 * broker ack) and end-to-end latency (publish to delivery, from a timestamp in the body), each as
 * a whole-run histogram plus one per interval for the live line; and the final report as a table
 * for people or a JSON object for machines.
 */
import { num, plural, renderTable } from './format.js';
import { Histogram, type LatencySummary } from './histogram.js';

/** The first 4 bytes of a perf body; the next 8 are the send time (performance.now(), float64). */
export const PERF_MAGIC = 0x616d7066; // "ampf"
/** Bytes of the perf header; smaller bodies carry no timestamp (no end-to-end latency). */
export const PERF_HEADER = 12;

/** A perf body of `size` bytes stamped with the current time when it is large enough. */
export function perfBody(size: number, now = performance.now()): Buffer {
  const b = Buffer.alloc(size);
  if (size >= PERF_HEADER) {
    b.writeUInt32BE(PERF_MAGIC, 0);
    b.writeDoubleBE(now, 4);
  }
  return b;
}

/** The send time stamped in a perf body, or undefined for a foreign or too short body. */
export function perfStamp(body: unknown): number | undefined {
  if (!Buffer.isBuffer(body) || body.length < PERF_HEADER || body.readUInt32BE(0) !== PERF_MAGIC) return undefined;
  return body.readDoubleBE(4);
}

/** The run's settings, as reported. */
export interface PerfSettings {
  /** Producers (one connection each). */
  producers: number;
  /** Consumers (one connection each). */
  consumers: number;
  /** Body size in bytes. */
  size: number;
  /** The queue used. */
  queue: string;
  /** classic, quorum or stream. */
  queueType: string;
  /** Unconfirmed messages per producer (0: no confirms). */
  confirm: number;
  /** Messages per second per producer (0: no limit). */
  rate: number;
}

/** The final report. */
export interface PerfResult extends PerfSettings {
  /** Milliseconds from the first publish to the end of the run. */
  durationMs: number;
  /** Ended by Ctrl-C (or SIGTERM) before its duration or count. */
  interrupted: boolean;
  /** Messages published. */
  sent: number;
  /** Publishes the broker acked (with confirms). */
  confirmed: number;
  /** Publishes the broker nacked (with confirms). */
  nacked: number;
  /** Messages the consumers received. */
  received: number;
  /** Messages sent per second over the run. */
  sendRate: number;
  /** Messages received per second over the run. */
  receiveRate: number;
  /** Publish-to-ack latency (only with confirms). */
  confirmLatencyMs: LatencySummary;
  /** Publish-to-delivery latency (bodies of 12 bytes or more). */
  latencyMs: LatencySummary;
}

/** Counters and histograms of one run. */
export class PerfStats {
  /** Messages published so far. */
  sent = 0;
  /** Publishes acked so far. */
  confirmed = 0;
  /** Publishes nacked so far. */
  nacked = 0;
  /** Deliveries so far. */
  received = 0;
  private readonly confirmAll = new Histogram();
  private readonly confirmNow = new Histogram();
  private readonly latencyAll = new Histogram();
  private readonly latencyNow = new Histogram();
  private last = { t: 0, sent: 0, received: 0 };

  /** @param start - the run's start time (performance.now()). */
  constructor(private start: number = performance.now()) {
    this.last.t = start;
  }

  /** Restarts the clock (when publishing really begins). */
  restart(now = performance.now()): void {
    this.start = now;
    this.last = { t: now, sent: this.sent, received: this.received };
  }

  /** Milliseconds since the start. */
  elapsed(now = performance.now()): number {
    return now - this.start;
  }

  /** A confirm came back `ms` after its publish. */
  confirmLatency(ms: number): void {
    this.confirmAll.record(ms);
    this.confirmNow.record(ms);
  }

  /** A delivery arrived `ms` after its publish. */
  latency(ms: number): void {
    this.latencyAll.record(ms);
    this.latencyNow.record(ms);
  }

  /** The live status line for the interval since the previous call (then starts a new interval). */
  status(now = performance.now()): string {
    const dt = Math.max(1e-3, (now - this.last.t) / 1000);
    const sendRate = (this.sent - this.last.sent) / dt;
    const recvRate = (this.received - this.last.received) / dt;
    const c = this.confirmNow.summary();
    const l = this.latencyNow.summary();
    this.confirmNow.reset();
    this.latencyNow.reset();
    this.last = { t: now, sent: this.sent, received: this.received };
    const pct = (s: LatencySummary): string => (s.count === 0 ? '-' : `${num(s.p50)}/${num(s.p95)}/${num(s.p99)} ms`);
    return [
      `${num(this.elapsed(now) / 1000, 1)}s`,
      `sent ${Math.round(sendRate)} msg/s`,
      `recv ${Math.round(recvRate)} msg/s`,
      `confirm p50/p95/p99 ${pct(c)}`,
      `latency p50/p95/p99 ${pct(l)}`,
    ].join(' | ');
  }

  /** The final report. */
  result(settings: PerfSettings, interrupted: boolean, now = performance.now()): PerfResult {
    const durationMs = this.elapsed(now);
    const s = Math.max(1e-3, durationMs / 1000);
    return {
      ...settings,
      durationMs,
      interrupted,
      sent: this.sent,
      confirmed: this.confirmed,
      nacked: this.nacked,
      received: this.received,
      sendRate: this.sent / s,
      receiveRate: this.received / s,
      confirmLatencyMs: this.confirmAll.summary(),
      latencyMs: this.latencyAll.summary(),
    };
  }
}

/** The final table printed by `perf` (without --json). */
export function perfTable(r: PerfResult): string {
  const s = Math.max(1e-3, r.durationMs / 1000);
  const head = [
    `amqpts perf: ${plural(r.producers, 'producer')}, ${plural(r.consumers, 'consumer')}, ${r.size}-byte messages,`,
    `${r.queueType} queue '${r.queue}', ${r.confirm > 0 ? `confirm window ${r.confirm}` : 'no confirms'}, ${r.rate > 0 ? `rate ${r.rate} msg/s per producer` : 'no rate limit'},`,
    `${num(r.durationMs / 1000, 1)} s${r.interrupted ? ' (interrupted)' : ''}`,
  ].join(' ');
  const counts = renderTable([
    ['', 'messages', 'msg/s'],
    ['sent', String(r.sent), num(r.sent / s, 0)],
    ['confirmed', String(r.confirmed), num(r.confirmed / s, 0)],
    ['nacked', String(r.nacked), num(r.nacked / s, 0)],
    ['received', String(r.received), num(r.received / s, 0)],
  ]);
  const row = (name: string, l: LatencySummary): string[] => [name, ...[l.min, l.p50, l.p95, l.p99, l.max, l.mean].map((v) => num(v, 3))];
  const latencies = renderTable([
    ['latency (ms)', 'min', 'p50', 'p95', 'p99', 'max', 'mean'],
    row('confirm', r.confirmLatencyMs),
    row('end-to-end', r.latencyMs),
  ]);
  return `${head}\n\n${counts}\n\n${latencies}\n`;
}

/** The JSON `perf --json` prints (latency fields are null when nothing was measured). */
export function perfJson(r: PerfResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (v === undefined ? null : v));
}
