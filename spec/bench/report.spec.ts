// The bench's report logic (bench/lib/report.mjs): medians, spreads, ratios and the verdicts of
// issue 14's targets, on hand-made result rows with expectations computed by hand. No broker.
import { describe, expect, it } from '@jest/globals';
import {
  bestLibrary,
  groupCases,
  median,
  ratio,
  ratioRange,
  renderReport,
  type ResultRow,
  spread,
  type TargetCheck,
  targets,
  verdict,
} from '../../bench/lib/report.mjs';

const MiB = 1024 * 1024;

/** One row per value: `client` measured `scenario` at `size` once per value of `key`. */
function rows(
  client: string,
  scenario: string,
  size: number,
  key: keyof ResultRow,
  vals: number[],
  extra: Partial<ResultRow> = {},
): ResultRow[] {
  return vals.map((v, rep) => ({ client, scenario, size, count: 1000, mode: 'full', rep, [key]: v, ...extra }));
}

/** Merges per-key row lists of one client and case into one row per repetition. */
function merge(...lists: ResultRow[][]): ResultRow[] {
  const first = lists[0] ?? [];
  return first.map((_row, i) => Object.assign({}, ...lists.map((l) => l[i])) as ResultRow);
}

const find = (checks: TargetCheck[], target: string, line: string): TargetCheck => {
  const k = checks.find((c) => c.target.startsWith(target) && c.line.startsWith(line));
  if (!k) throw new Error(`no check ${target} / ${line} in ${checks.map((c) => `${c.target} / ${c.line}`).join('; ')}`);
  return k;
};

describe('statistics', () => {
  it('median of odd and even counts, ignoring missing values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5, 7])).toBe(6);
    expect(median([])).toBeNaN();
  });

  it('spread is the min and max', () => {
    expect(spread([3, 9, 6])).toEqual({ min: 3, max: 9 });
    expect(spread([Number.NaN])).toBeNull();
  });

  it('ratio, and its range over repetitions', () => {
    expect(ratio(9, 10)).toBeCloseTo(0.9, 12);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(1, undefined)).toBeNaN();
    const r = ratioRange([9, 11], [10, 12]);
    expect(r?.lo).toBeCloseTo(0.75, 12); // 9 / 12
    expect(r?.hi).toBeCloseTo(1.1, 12); // 11 / 10
  });
});

describe('verdict', () => {
  it('met, not met, and raw cannot reach it either', () => {
    expect(verdict({ value: 0.95, op: '>=', threshold: 0.9 })).toBe('met');
    expect(verdict({ value: 0.8, op: '>=', threshold: 0.9, rawValue: 0.95 })).toBe('not met');
    expect(verdict({ value: 0.6, op: '<=', threshold: 0.5, rawValue: 0.7 })).toBe('raw cannot reach it either');
    expect(verdict({ value: 0.6, op: '<=', threshold: 0.5, rawValue: 0.4 })).toBe('not met');
    expect(verdict({ value: 120, op: '<', threshold: 100 })).toBe('not met');
    expect(verdict({ value: 100, op: '<', threshold: 100 })).toBe('not met');
    expect(verdict({ value: 100, op: '<=', threshold: 100 })).toBe('met');
    expect(verdict({ value: Number.NaN, op: '>=', threshold: 1 })).toBe('n/a');
  });

  it('notes a threshold inside the range over repetitions', () => {
    expect(verdict({ value: 0.92, op: '>=', threshold: 0.9, range: { lo: 0.85, hi: 0.95 } })).toBe('met (within spread)');
    expect(verdict({ value: 0.92, op: '>=', threshold: 0.9, range: { lo: 0.91, hi: 0.95 } })).toBe('met');
    expect(verdict({ value: 0.88, op: '>=', threshold: 0.9, rawValue: 1, range: { lo: 0.85, hi: 0.95 } })).toBe('not met (within spread)');
  });
});

describe('targets', () => {
  // publish-noconfirm 100 B: msg/s and CPU per 100k over three repetitions
  const publish = [
    ...merge(
      rows('raw', 'publish-noconfirm', 100, 'msgsPerSec', [40_000, 42_000, 44_000]),
      rows('raw', 'publish-noconfirm', 100, 'cpuPer100k', [0.01, 0.01, 0.01]),
    ),
    ...merge(
      rows('amqpts', 'publish-noconfirm', 100, 'msgsPerSec', [36_000, 38_000, 40_000]),
      rows('amqpts', 'publish-noconfirm', 100, 'cpuPer100k', [0.1, 0.2, 0.3]),
    ),
    ...merge(
      rows('amqplib', 'publish-noconfirm', 100, 'msgsPerSec', [30_000, 31_000, 32_000]),
      rows('amqplib', 'publish-noconfirm', 100, 'cpuPer100k', [0.5, 0.6, 0.7]),
    ),
    ...merge(
      rows('cloudamqp', 'publish-noconfirm', 100, 'msgsPerSec', [33_000, 34_000, 35_000]),
      rows('cloudamqp', 'publish-noconfirm', 100, 'cpuPer100k', [0.3, 0.4, 0.5]),
    ),
  ];
  // consume 1 MiB: raw itself is only 1.4x the best library; consume-ack1 1 MiB: raw is 1.8x
  const consume = [
    ...merge(rows('raw', 'consume', MiB, 'msgsPerSec', [700]), rows('raw', 'consume', MiB, 'cpuPer100k', [50])),
    ...merge(rows('amqpts', 'consume', MiB, 'msgsPerSec', [650]), rows('amqpts', 'consume', MiB, 'cpuPer100k', [60])),
    ...merge(rows('amqplib', 'consume', MiB, 'msgsPerSec', [500]), rows('amqplib', 'consume', MiB, 'cpuPer100k', [100])),
    ...merge(rows('cloudamqp', 'consume', MiB, 'msgsPerSec', [400]), rows('cloudamqp', 'consume', MiB, 'cpuPer100k', [130])),
    ...merge(rows('raw', 'consume-ack1', MiB, 'msgsPerSec', [900]), rows('raw', 'consume-ack1', MiB, 'cpuPer100k', [50])),
    ...merge(rows('amqpts', 'consume-ack1', MiB, 'msgsPerSec', [600]), rows('amqpts', 'consume-ack1', MiB, 'cpuPer100k', [54])),
    ...merge(rows('amqplib', 'consume-ack1', MiB, 'msgsPerSec', [500]), rows('amqplib', 'consume-ack1', MiB, 'cpuPer100k', [100])),
  ];
  const rpc = [
    ...rows('raw', 'rpc-1', 100, 'p50ms', [0.35]),
    ...rows('amqpts', 'rpc-1', 100, 'p50ms', [0.4]),
    ...rows('amqplib', 'rpc-1', 100, 'p50ms', [0.45]),
    ...rows('cloudamqp', 'rpc-1', 100, 'p50ms', [0.42]),
    ...rows('raw', 'rpc-64', 100, 'p50ms', [5]),
    ...rows('amqpts', 'rpc-64', 100, 'p50ms', [7.6]),
    ...rows('amqplib', 'rpc-64', 100, 'p50ms', [8]),
    ...rows('cloudamqp', 'rpc-64', 100, 'p50ms', [5.2]),
  ];
  const rss = [
    ...rows('raw', 'rss', 100, 'rssPeakMB', [60], { count: 100_000, mode: 'quick' }),
    ...rows('amqpts', 'rss', 100, 'rssPeakMB', [89], { count: 100_000, mode: 'quick' }),
    ...rows('amqplib', 'rss', 100, 'rssPeakMB', [76], { count: 100_000, mode: 'quick' }),
  ];
  const failed: ResultRow = { client: 'amqplib', scenario: 'consume', size: 100, count: 1000, mode: 'full', rep: 0, error: 'boom' };
  const all = [...publish, ...consume, ...rpc, ...rss, failed];
  const checks = targets(groupCases(all));

  it('groups rows into cases and skips failed runs', () => {
    const cases = groupCases(all);
    expect(cases.map((c) => `${c.scenario} ${c.size}`)).toEqual([
      'publish-noconfirm 100',
      `consume ${MiB}`,
      `consume-ack1 ${MiB}`,
      'rpc-1 100',
      'rpc-64 100',
      'rss 100',
    ]);
    const first = cases[0];
    if (!first) throw new Error('no case');
    expect(bestLibrary(first, 'msgsPerSec', 'high')).toEqual({ client: 'cloudamqp', value: 34_000 });
    expect(bestLibrary(first, 'cpuPer100k', 'low')).toEqual({ client: 'cloudamqp', value: 0.4 });
  });

  it('a variant of amqpts (amqpts-diag) is never the best library', () => {
    const variant = merge(
      rows('amqpts-diag', 'publish-noconfirm', 100, 'msgsPerSec', [50_000, 50_000, 50_000]),
      rows('amqpts-diag', 'publish-noconfirm', 100, 'cpuPer100k', [0.05, 0.05, 0.05]),
    );
    const [c] = groupCases([...publish, ...variant]);
    if (!c) throw new Error('no case');
    expect(bestLibrary(c, 'msgsPerSec', 'high')).toEqual({ client: 'cloudamqp', value: 34_000 });
    expect(bestLibrary(c, 'cpuPer100k', 'low')).toEqual({ client: 'cloudamqp', value: 0.4 });
  });

  it('throughput against raw: 38k / 42k = 0.905, range 36k/44k to 40k/40k crosses 0.9', () => {
    const k = find(checks, 'throughput', 'publish-noconfirm 100 B');
    expect(k.value).toBeCloseTo(38 / 42, 12);
    expect(k.range?.lo).toBeCloseTo(36 / 44, 12);
    expect(k.range?.hi).toBeCloseTo(1, 12);
    expect(k.verdict).toBe('met (within spread)');
  });

  it('small-message CPU against the best library: 0.2 / 0.4 = 0.5 is met; raw is at 0.01 / 0.4', () => {
    const k = find(checks, 'client CPU ≤ 0.5', 'publish-noconfirm 100 B');
    expect(k.reference).toEqual({ client: 'cloudamqp', value: 0.4 });
    expect(k.value).toBeCloseTo(0.5, 12);
    expect(k.rawValue).toBeCloseTo(0.025, 12);
    expect(k.verdict).toBe('met (within spread)'); // 0.1/0.5 = 0.2 to 0.3/0.3 = 1
  });

  it('large CPU against raw: 60 / 50 = 1.2 is not met, 54 / 50 = 1.08 is', () => {
    expect(find(checks, 'client CPU ≤ 1.1', 'consume 1 MiB').value).toBeCloseTo(1.2, 12);
    expect(find(checks, 'client CPU ≤ 1.1', 'consume 1 MiB').verdict).toBe('not met');
    expect(find(checks, 'client CPU ≤ 1.1', 'consume-ack1 1 MiB').verdict).toBe('met');
    expect(checks.some((c) => c.target.startsWith('client CPU ≤ 1.1') && c.line.startsWith('publish'))).toBe(false);
  });

  it('large consume 1.5x the best library, unless raw cannot reach it', () => {
    const a = find(checks, 'large consume', 'consume 1 MiB'); // 650 / 500 = 1.3; raw 700 / 500 = 1.4
    expect(a.value).toBeCloseTo(1.3, 12);
    expect(a.rawValue).toBeCloseTo(1.4, 12);
    expect(a.verdict).toBe('raw cannot reach it either');
    const b = find(checks, 'large consume', 'consume-ack1 1 MiB'); // 600 / 500 = 1.2; raw 900 / 500 = 1.8
    expect(b.value).toBeCloseTo(1.2, 12);
    expect(b.verdict).toBe('not met');
    expect(find(checks, 'throughput', 'consume 1 MiB').verdict).toBe('met'); // 650 / 700 = 0.93
    expect(find(checks, 'throughput', 'consume-ack1 1 MiB').verdict).toBe('not met'); // 600 / 900 = 0.67
  });

  it('RPC p50 against the best library', () => {
    const one = find(checks, 'RPC', 'rpc-1');
    expect(one.reference).toEqual({ client: 'cloudamqp', value: 0.42 });
    expect(one.value).toBeCloseTo(0.4 / 0.42, 12);
    expect(one.verdict).toBe('met');
    const many = find(checks, 'RPC', 'rpc-64'); // 7.6 / 5.2 = 1.46, raw 5 / 5.2 = 0.96
    expect(many.value).toBeCloseTo(7.6 / 5.2, 12);
    expect(many.verdict).toBe('not met');
  });

  it('peak RSS under 100 MB, marked indicative below 1M publishes', () => {
    const k = find(checks, 'peak RSS', 'rss 100 B (quick)');
    expect(k.value).toBe(89);
    expect(k.line).toContain('100000 publishes: indicative');
    expect(k.verdict).toBe('met');
  });

  it('renders the tables, the verdicts with figures, and the failed runs', () => {
    const md = renderReport(all);
    expect(md).toContain('| case | metric | raw | amqpts | amqplib | cloudamqp | amqpts ÷ raw | amqpts ÷ best library |');
    expect(md).toContain(
      '| publish-noconfirm 100 B ×1000, n=3 | msg/s | 42.0k (40.0k–44.0k) | 38.0k (36.0k–40.0k) | 31.0k (30.0k–32.0k) | 34.0k (33.0k–35.0k) | 0.90 | 1.12 (cloudamqp) |',
    );
    expect(md).toContain(
      '| throughput ≥ 0.9 × raw | publish-noconfirm 100 B | 38.0k | 42.0k (raw) | 0.90 | 0.82–1.00 | >= 0.9 | met (within spread) |',
    );
    expect(md).toContain(
      '| large consume ≥ 1.5 × best library | consume 1 MiB | 650 | 500 (amqplib) | 1.30; raw 1.40 | – | >= 1.5 | raw cannot reach it either |',
    );
    expect(md).toContain('| amqplib | consume 100 B | 0 | boom |');
  });
});
