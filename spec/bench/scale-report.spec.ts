// The scale benchmark's pure logic (bench/scale/report.mjs): the broker plan, per-unit figures,
// medians over repeated runs, ratios to the best library, the issue-16 verdicts and the table. No broker.
import { describe, expect, it } from '@jest/globals';
import {
  derive,
  markdownTable,
  median,
  memDelta,
  obtainLimit,
  planBroker,
  ratio,
  ratiosToBest,
  type RawRun,
  type Row,
  shapeLabel,
  summarize,
  verdictLines,
  verdicts,
} from '../../bench/scale/report.mjs';

const KiB = 1024;
const mem = (rss: number, heapUsed: number, external: number, arrayBuffers = 0) => ({ rss, heapUsed, external, arrayBuffers });

function raw(over: Partial<RawRun> = {}): RawRun {
  return {
    client: 'amqpts',
    library: 'amqpts',
    version: '0.1.0',
    connections: 100,
    channelsPerConnection: 10,
    baseline: mem(50_000 * KiB, 5_000 * KiB, 1_000 * KiB, 100 * KiB),
    afterConnections: mem(60_000 * KiB, 7_000 * KiB, 2_000 * KiB, 600 * KiB),
    idle: mem(70_000 * KiB, 9_000 * KiB, 3_000 * KiB, 1_100 * KiB),
    afterBurst: mem(71_000 * KiB, 9_100 * KiB, 3_100 * KiB, 1_150 * KiB),
    openConnectionsMs: 1200,
    openChannelsMs: 800,
    idleCpu: { user: 30_000, system: 12_000 },
    idleWindowMs: 30_000,
    lost: 0,
    ...over,
  };
}

function row(client: string, over: Partial<Row>): Row {
  return { ...derive(raw({ client, library: client })), ...over };
}

describe('obtainLimit', () => {
  it('is what RabbitMQ reports for its default 927 handles', () => {
    // rabbitmq-diagnostics status on this machine: "File Descriptors ... limit: 927, Sockets: limit: 832"
    expect(obtainLimit(927)).toBe(832);
    expect(obtainLimit(1000)).toBe(898);
  });
});

describe('planBroker', () => {
  const limits = { maxFds: 1024, openFds: 37, totalLimit: 927, totalUsed: 0, socketsLimit: 832, socketsUsed: 0 };

  it('leaves the broker alone when the shape fits', () => {
    const p = planBroker(limits, { desired: 200 });
    expect(p).toMatchObject({ connections: 200, raiseTo: null, limited: false, socketsLimit: 832 });
  });

  it('raises the handle limit up to the VM ceiling less reserved descriptors and a margin', () => {
    const p = planBroker(limits, { desired: 1000, margin: 32, headroom: 32, step: 25 });
    // ceiling 1024 - 37 - 32 = 955 handles -> trunc(955 * 0.9 - 2) = 857 sockets; 857 - 32 = 825 room
    expect(p.raiseTo).toBe(955);
    expect(p.socketsLimit).toBe(857);
    expect(p.connections).toBe(825);
    expect(p.limited).toBe(true);
    expect(p.note).toContain('not 1000');
    expect(p.note).toContain('max_fds 1024');
  });

  it('counts the sockets already in use and keeps headroom for other users', () => {
    const p = planBroker({ ...limits, socketsUsed: 100, openFds: 137, totalUsed: 100 }, { desired: 1000, headroom: 50, step: 10 });
    // descriptors outside the cache stay 37: ceiling 955 -> 857 sockets, minus 100 used, minus 50
    expect(p.connections).toBe(700);
  });

  it('does not raise when told not to, and never lowers the limit', () => {
    expect(planBroker(limits, { desired: 1000, raise: false })).toMatchObject({ raiseTo: null, connections: 800 });
    const high = { ...limits, totalLimit: 2000, socketsLimit: obtainLimit(2000) };
    expect(planBroker(high, { desired: 1900 }).raiseTo).toBeNull();
  });

  it('gives zero connections, not a negative count, when there is no room', () => {
    expect(planBroker({ ...limits, socketsUsed: 900 }, { desired: 10, raise: false }).connections).toBe(0);
  });
});

describe('derive', () => {
  it('subtracts the baseline and divides by connections; heap per channel comes from the channel phase', () => {
    const r = derive(raw());
    expect(memDelta(raw().baseline, raw().idle)).toEqual(mem(20_000 * KiB, 4_000 * KiB, 2_000 * KiB, 1_000 * KiB));
    expect(r.rssPerConn).toBe(200 * KiB);
    expect(r.heapPerConn).toBe(40 * KiB);
    expect(r.extPerConn).toBe(20 * KiB);
    expect(r.abPerConn).toBe(10 * KiB);
    // (9000 - 7000) KiB over 100 x 10 channels
    expect(r.heapPerChannel).toBe(2 * KiB);
    expect(r.openMs).toBe(2000);
    expect(r.idleCpuMs).toBe(42);
    expect(r.burstRssPerConn).toBe(210 * KiB);
    expect(r.burstExtPerConn).toBe(21 * KiB);
    expect(r.burstAbPerConn).toBe(10.5 * KiB);
    expect(r.burstRssRatio).toBeCloseTo(1.05, 10);
    expect(r.burstExtRatio).toBeCloseTo(1.05, 10);
    expect(r.burstAbRatio).toBeCloseTo(1.05, 10);
  });

  it('has no ratio when the idle figure is not positive', () => {
    expect(ratio(5, 0)).toBeNull();
    expect(ratio(5, -1)).toBeNull();
    expect(ratio(3, 2)).toBe(1.5);
    const r = derive(raw({ idle: mem(50_000 * KiB, 9_000 * KiB, 1_000 * KiB) }));
    expect(r.burstRssRatio).toBeNull();
    expect(r.burstExtRatio).toBeNull();
    expect(r.burstAbRatio).toBeNull();
  });
});

describe('ratiosToBest and verdicts', () => {
  const me = row('amqpts', { extPerConn: 5 * KiB, rssPerConn: 100 * KiB, heapPerChannel: 1 * KiB, idleCpuMs: 10 });
  const a = row('amqplib', { extPerConn: 7 * KiB, rssPerConn: 190 * KiB, heapPerChannel: 2 * KiB, idleCpuMs: 40, openMs: 4000 });
  const b = row('cloudamqp', { extPerConn: 14 * KiB, rssPerConn: 140 * KiB, heapPerChannel: 1.25 * KiB, idleCpuMs: 20, openMs: 1000 });

  it('divides the subject by the lowest other figure', () => {
    const q = ratiosToBest([me, a, b], 'amqpts');
    expect(q.extPerConn).toBeCloseTo(5 / 7, 10);
    expect(q.rssPerConn).toBeCloseTo(100 / 140, 10);
    expect(q.heapPerChannel).toBeCloseTo(1 / 1.25, 10);
    expect(q.openMs).toBeCloseTo(2000 / 1000, 10);
  });

  it('marks every target met when the subject leads', () => {
    const v = verdicts([me, a, b], 'amqpts');
    expect(v).toHaveLength(5);
    expect(v.map((x) => x.met)).toEqual([true, true, true, true, true]);
  });

  it('marks each target missed on its own figure', () => {
    const at = (rows: Row[], i: number) => verdicts(rows, 'amqpts')[i]?.met;
    expect(at([{ ...me, extPerConn: 8 * KiB }, a, b], 0)).toBe(false);
    expect(at([{ ...me, extPerConn: 7 * KiB }, a, b], 0)).toBe(true); // "at or below"
    expect(at([{ ...me, rssPerConn: 140 * KiB }, a, b], 1)).toBe(false); // "below": a tie misses
    expect(at([{ ...me, heapPerChannel: 1.3 * KiB }, a, b], 2)).toBe(false);
    expect(at([{ ...me, burstRssRatio: 1.11 }, a, b], 3)).toBe(false);
    expect(at([{ ...me, burstAbRatio: 1.11 }, a, b], 3)).toBe(false);
    expect(at([{ ...me, burstAbRatio: 1.1 }, a, b], 3)).toBe(true);
    expect(at([{ ...me, burstAbRatio: null }, a, b], 3)).toBe(false);
    // the burst verdict reads ArrayBuffers, never V8's lagging `external` counter
    expect(at([{ ...me, burstExtRatio: 5 }, a, b], 3)).toBe(true);
    expect(verdicts([me, a, b], 'amqpts')[3]?.detail).toBe('RSS x1.05, ArrayBuffers x1.05');
    expect(at([{ ...me, idleCpuMs: 20 }, a, b], 4)).toBe(false);
  });

  it('says "not measured" when the subject or every other library is missing', () => {
    expect(verdicts([a, b], 'amqpts').every((v) => v.met === null && v.detail === 'not measured')).toBe(true);
    expect(verdicts([me], 'amqpts').every((v) => v.met === null)).toBe(true);
    expect(verdictLines(verdicts([me], 'amqpts'))).toMatch(/^- not measured: /);
  });
});

describe('median and summarize', () => {
  it('takes the middle value, the mean of the middle two, and skips nulls', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 10])).toBe(3.5);
    expect(median([null, 7, 2, null, 9])).toBe(7);
    expect(median([])).toBeNull();
    expect(median([null])).toBeNull();
  });

  // three interleaved runs of two clients, as `--reps 3` records them
  const run = (client: string, openMs: number, idleCpuMs: number, lost: number, burstAbRatio: number | null): Row =>
    row(client, { openMs, idleCpuMs, lost, burstAbRatio });
  const rows = [
    run('amqplib', 3000, 50, 0, 1.0),
    run('amqpts', 2000, 30, 0, 1.2),
    run('amqplib', 1000, 70, 0, 1.0),
    run('amqpts', 4000, 10, 2, null),
    run('amqplib', 2000, 60, 0, 1.0),
    run('amqpts', 3000, 20, 0, 1.0),
  ];

  it('gives one row per client in order of first appearance, with medians, min–max and the run count', () => {
    const [lib, me] = summarize(rows);
    expect(lib?.client).toBe('amqplib');
    expect(me?.client).toBe('amqpts');
    expect(me?.reps).toBe(3);
    expect(me?.openMs).toBe(3000);
    expect(me?.range.openMs).toEqual([2000, 4000]);
    expect(me?.idleCpuMs).toBe(20);
    expect(me?.range.idleCpuMs).toEqual([10, 30]);
    expect(lib?.idleCpuMs).toBe(60);
    expect(lib?.openMs).toBe(2000);
    expect(me?.version).toBe('0.1.0');
  });

  it('keeps the most connections lost in any run, and takes ratios over the runs that have one', () => {
    const me = summarize(rows)[1];
    expect(me?.lost).toBe(2);
    expect(me?.burstAbRatio).toBeCloseTo(1.1, 10);
    expect(me?.range.burstAbRatio).toEqual([1.0, 1.2]);
    const none = summarize([run('amqpts', 1, 1, 0, null), run('amqpts', 1, 1, 0, null)])[0];
    expect(none?.burstAbRatio).toBeNull();
    expect(none?.range.burstAbRatio).toBeUndefined();
  });

  it('feeds the verdicts with medians', () => {
    const v = verdicts(summarize(rows), 'amqpts');
    expect(v[4]?.detail).toBe('20 ms vs amqplib 60 ms');
    // per-run ArrayBuffers ratios 1.2, none, 1.0: the median 1.1 is within the tolerance
    expect(v[3]?.detail).toBe('RSS x1.05, ArrayBuffers x1.10');
    expect(v[3]?.met).toBe(true);
  });
});

describe('markdownTable', () => {
  it('has one row per client and a ratio row, with figures in KiB', () => {
    const me = row('amqpts', {});
    const other = row('amqplib', { rssPerConn: 400 * KiB, version: '2.3.1' });
    const lines = markdownTable([me, other], 'amqpts').split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toContain('| amqpts 0.1.0 | 2.00 | 200.0 | 40.0 | 20.0 | 2.0 | 42.0 | 210.0 | 10.5 | 1.05 | 1.05 |');
    expect(lines[3]).toContain('| amqplib 2.3.1 | 2.00 | 400.0 |');
    expect(lines[4]).toMatch(/^\| amqpts \/ best other \| 1\.00x \| 0\.50x \|/);
    const cells = (l: string | undefined) => (l ?? '').split('|').length;
    expect(new Set(lines.map(cells)).size).toBe(1);
  });

  it('shows medians with min–max and the run count for repeated runs, and a single run plainly', () => {
    const runs = [row('amqpts', { openMs: 1000 }), row('amqpts', { openMs: 3000 }), row('amqpts', { openMs: 2500 })];
    const [three] = markdownTable(summarize(runs), 'amqpts').split('\n').slice(2);
    expect(three).toContain('| amqpts 0.1.0, 3 runs | 2.50 (1.00–3.00) | 200.0 (200.0–200.0) |');
    const [one] = markdownTable(summarize(runs.slice(0, 1)), 'amqpts')
      .split('\n')
      .slice(2);
    expect(one).toContain('| amqpts 0.1.0 | 1.00 | 200.0 |');
  });

  it('labels a shape the broker limited', () => {
    expect(shapeLabel({ connections: 800, channelsPerConnection: 10, desired: 1000 })).toBe(
      '800 connections x 10 channels (asked for 1000; limited by the broker)',
    );
    expect(shapeLabel({ connections: 10, channelsPerConnection: 1000, desired: 10 })).toBe('10 connections x 1000 channels');
  });
});
