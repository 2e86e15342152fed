// perf's measuring parts: the latency histogram (percentiles within 1%), the rate limiter and the
// confirm window (pacing.ts), the stamped perf bodies, the live status line, the final table and JSON.
import { describe, expect, it } from '@jest/globals';
import { Histogram } from '../../lib/cli/histogram.js';
import { RateLimiter, Window } from '../../lib/cli/pacing.js';
import { PERF_HEADER, perfBody, perfJson, PerfStats, perfStamp, perfTable } from '../../lib/cli/perf-stats.js';
import { seededBytes } from '../support/prng.js';

describe('Histogram', () => {
  it('an empty histogram has no percentiles', () => {
    expect(new Histogram().summary()).toEqual({
      count: 0,
      min: undefined,
      mean: undefined,
      p50: undefined,
      p95: undefined,
      p99: undefined,
      max: undefined,
    });
  });

  it('percentiles of 1..10000 ms are within 1% of the exact ones; min, max, mean exact', () => {
    const h = new Histogram();
    // a shuffled order: the result must not depend on it
    const values = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const noise = seededBytes(10_000, 7);
    values.sort((a, b) => (noise[a - 1] ?? 0) - (noise[b - 1] ?? 0));
    for (const v of values) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.min).toBe(1);
    expect(s.max).toBe(10_000);
    expect(s.mean).toBeCloseTo(5000.5, 6);
    for (const [p, exact] of [
      [50, 5000],
      [95, 9500],
      [99, 9900],
    ] as const) {
      const got = h.percentile(p) as number;
      expect(Math.abs(got - exact) / exact).toBeLessThan(0.01);
    }
  });

  it('sub-millisecond and tiny samples; a single sample is every percentile', () => {
    const h = new Histogram();
    h.record(0.25);
    expect(h.summary()).toMatchObject({ min: 0.25, p50: 0.25, p99: 0.25, max: 0.25 });
    h.record(0);
    expect(h.percentile(50)).toBe(0);
    h.record(Number.NaN);
    h.record(-1);
    expect(h.count).toBe(2);
  });

  it('merge adds the samples of another histogram; reset forgets', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 100; i++) (i <= 50 ? a : b).record(i);
    a.merge(b);
    expect(a.summary()).toMatchObject({ count: 100, min: 1, max: 100 });
    expect(Math.abs((a.percentile(50) as number) - 50) / 50).toBeLessThan(0.01);
    a.reset();
    expect(a.count).toBe(0);
    expect(a.percentile(50)).toBeUndefined();
  });
});

describe('RateLimiter', () => {
  it('spaces sends at the rate, measured from the first', () => {
    let now = 1000;
    const r = new RateLimiter(100, () => now); // one per 10 ms
    expect(r.delay()).toBe(0);
    void r.take();
    now += 2;
    expect(r.delay()).toBe(8);
    now += 8;
    expect(r.delay()).toBe(0);
  });

  it('no limit for 0', () => {
    expect(new RateLimiter(0).delay()).toBe(0);
  });

  it('take() waits, and rejects with the abort reason when stopped', async () => {
    const r = new RateLimiter(1); // one per second
    await r.take();
    const ac = new AbortController();
    const waiting = r.take(ac.signal);
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});

describe('Window', () => {
  it('at most size holders; a release hands the slot to the first waiter', async () => {
    const w = new Window(2);
    await w.acquire();
    await w.acquire();
    expect(w.inFlight).toBe(2);
    const order: number[] = [];
    const third = w.acquire().then(() => order.push(3));
    const fourth = w.acquire().then(() => order.push(4));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    w.release();
    await third;
    expect(order).toEqual([3]);
    w.release();
    await fourth;
    expect(order).toEqual([3, 4]);
  });

  it('an aborted wait rejects and gives up its place', async () => {
    const w = new Window(1);
    await w.acquire();
    const ac = new AbortController();
    const waiting = w.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    w.release();
    expect(w.inFlight).toBe(0);
    await expect(w.acquire(ac.signal)).rejects.toThrow('stop');
  });
});

describe('perf bodies', () => {
  it('a body of 12 bytes or more carries its send time; smaller and foreign bodies carry none', () => {
    expect(perfStamp(perfBody(PERF_HEADER, 1234.5))).toBe(1234.5);
    expect(perfBody(1000, 7).length).toBe(1000);
    expect(perfStamp(perfBody(1000, 7))).toBe(7);
    expect(perfStamp(perfBody(11, 7))).toBeUndefined();
    expect(perfStamp(Buffer.from('hello world, not a perf body'))).toBeUndefined();
    expect(perfStamp('a string')).toBeUndefined();
    expect(perfBody(0).length).toBe(0);
  });
});

describe('PerfStats and the report', () => {
  const settings = { producers: 2, consumers: 1, size: 12, queue: 'q1', queueType: 'quorum', confirm: 100, rate: 0 };

  it('the status line shows the interval rates and percentiles, then starts a new interval', () => {
    const s = new PerfStats(0);
    s.sent = 2000;
    s.received = 1000;
    for (let i = 0; i < 100; i++) s.confirmLatency(2);
    const line = s.status(1000);
    expect(line).toBe('1s | sent 2000 msg/s | recv 1000 msg/s | confirm p50/p95/p99 2/2/2 ms | latency p50/p95/p99 -');
    s.sent = 2500;
    expect(s.status(2000)).toBe('2s | sent 500 msg/s | recv 0 msg/s | confirm p50/p95/p99 - | latency p50/p95/p99 -');
  });

  it('the result: counts, rates over the whole run, latency summaries', () => {
    const s = new PerfStats(0);
    s.sent = 1000;
    s.confirmed = 990;
    s.nacked = 10;
    s.received = 500;
    s.latency(4);
    const r = s.result(settings, false, 2000);
    expect(r).toMatchObject({
      ...settings,
      durationMs: 2000,
      interrupted: false,
      sent: 1000,
      confirmed: 990,
      nacked: 10,
      received: 500,
      sendRate: 500,
      receiveRate: 250,
    });
    expect(r.latencyMs).toMatchObject({ count: 1, min: 4, max: 4 });
    expect(r.confirmLatencyMs.count).toBe(0);
  });

  it('the table: a header, counts with rates, latency rows; parseable by column', () => {
    const s = new PerfStats(0);
    s.sent = 1000;
    s.confirmed = 1000;
    s.received = 1000;
    for (let i = 1; i <= 100; i++) s.confirmLatency(i / 10);
    const table = perfTable(s.result(settings, true, 4000));
    expect(table).toMatch(
      /^amqpts perf: 2 producers, 1 consumer, 12-byte messages, quorum queue 'q1', confirm window 100, no rate limit, 4 s \(interrupted\)\n/,
    );
    expect(table).toMatch(/^sent\s+1000\s+250$/m);
    expect(table).toMatch(/^confirmed\s+1000\s+250$/m);
    expect(table).toMatch(/^nacked\s+0\s+0$/m);
    expect(table).toMatch(/^received\s+1000\s+250$/m);
    expect(table).toMatch(/^latency \(ms\)\s+min\s+p50\s+p95\s+p99\s+max\s+mean$/m);
    const confirm = /^confirm\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$/m.exec(table);
    expect(confirm?.slice(1).map(Number)).toEqual([0.1, expect.any(Number), expect.any(Number), expect.any(Number), 10, 5.05]);
    expect(Number(confirm?.[2])).toBeCloseTo(5, 1);
    expect(table).toMatch(/^end-to-end\s+-\s+-\s+-\s+-\s+-\s+-$/m);
  });

  it('the JSON: every field, null where nothing was measured', () => {
    const s = new PerfStats(0);
    s.sent = 10;
    const j = JSON.parse(perfJson(s.result(settings, false, 1000))) as Record<string, unknown>;
    expect(j).toMatchObject({ queue: 'q1', queueType: 'quorum', sent: 10, sendRate: 10, received: 0, interrupted: false });
    expect(j['latencyMs']).toEqual({ count: 0, min: null, mean: null, p50: null, p95: null, p99: null, max: null });
  });
});
