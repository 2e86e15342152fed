// The bench's report: from result rows (one per measurement, as bench/scenarios.mjs writes them)
// to markdown tables. Pure functions, no I/O: unit-tested in spec/bench/report.spec.ts.
//
// Per line it gives every client's median over repetitions with the spread (min–max), and amqpts
// as a ratio to the raw limit client and to the best library (amqplib, cloudamqp: every client
// that is neither amqpts nor raw). Then it checks the targets of issue 14 (item 3) and gives each
// a verdict: met, not met, or "raw cannot reach it either" when the limit client fails the same
// test, and it notes "within spread" when the ratio's range over repetitions crosses the threshold.

export const SUBJECT = 'amqpts';
export const LIMIT = 'raw';
export const MiB = 1024 * 1024;

const THROUGHPUT = ['publish-noconfirm', 'publish-confirm', 'consume', 'consume-ack1'];
const RPC = ['rpc-1', 'rpc-64'];
const ORDER = [...THROUGHPUT, ...RPC, 'rss'];

// ------------------------------------------------------------------ statistics

/** Median of the finite values; NaN when there are none. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Smallest and largest finite value; null when there are none. */
export function spread(xs) {
  const s = xs.filter(Number.isFinite);
  return s.length ? { min: Math.min(...s), max: Math.max(...s) } : null;
}

/** a / b, or NaN when either is missing or b is 0. */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}

/** The range a / b can take over the repetitions: from min(a) / max(b) to max(a) / min(b). */
export function ratioRange(as, bs) {
  const a = spread(as);
  const b = spread(bs);
  if (!a || !b || b.min === 0) return null;
  return { lo: a.min / b.max, hi: a.max / b.min };
}

/** Whether `value` passes `op threshold` (op: '>=', '<=' or '<'). */
export function passes(value, op, threshold) {
  if (!Number.isFinite(value)) return false;
  if (op === '>=') return value >= threshold;
  if (op === '<=') return value <= threshold;
  if (op === '<') return value < threshold;
  throw new Error(`unknown comparison ${op}`);
}

/**
 * The verdict of one target: 'met' when `value` passes; otherwise 'raw cannot reach it either'
 * when the limit client's value for the same test (`rawValue`) fails too, else 'not met'; 'n/a'
 * without a value. `range` (the value's range over repetitions) adds ' (within spread)' when the
 * threshold lies inside it.
 */
export function verdict({ value, op, threshold, rawValue, range }) {
  if (!Number.isFinite(value)) return 'n/a';
  let v = 'met';
  if (!passes(value, op, threshold))
    v = Number.isFinite(rawValue) && !passes(rawValue, op, threshold) ? 'raw cannot reach it either' : 'not met';
  if (range && range.lo !== range.hi && threshold >= range.lo && threshold <= range.hi) v += ' (within spread)';
  return v;
}

// ------------------------------------------------------------------ cases

/** Groups rows without an error into cases (mode, scenario, size), each with its rows by client. */
export function groupCases(rows) {
  const cases = new Map();
  for (const r of rows) {
    if (r.error) continue;
    const key = `${r.mode}|${r.scenario}|${r.size}`;
    if (!cases.has(key)) cases.set(key, { mode: r.mode, scenario: r.scenario, size: r.size, count: r.count, by: new Map() });
    const c = cases.get(key);
    if (!c.by.has(r.client)) c.by.set(r.client, []);
    c.by.get(r.client).push(r);
  }
  const rank = (c) =>
    (ORDER.includes(c.scenario) ? ORDER.indexOf(c.scenario) : ORDER.length) * 1e12 + c.size + (c.mode === 'quick' ? 0.5 : 0);
  return [...cases.values()].sort((a, b) => rank(a) - rank(b));
}

/** Every value of `key` of `client` in case `c`. */
export const values = (c, client, key) => (c.by.get(client) ?? []).map((r) => r[key]);
/** Median of `key` of `client` in case `c`. */
export const med = (c, client, key) => median(values(c, client, key));
/** The libraries of a case: every client but amqpts and raw. */
/** The other libraries of a case: not the limit, not amqpts nor a variant of it (`amqpts-diag`). */
export const libraries = (c) => [...c.by.keys()].filter((x) => !x.startsWith(SUBJECT) && x !== LIMIT).sort();

/** The library with the best median of `key` ('high' or 'low' is better); null when none has one. */
export function bestLibrary(c, key, better) {
  let best = null;
  for (const lib of libraries(c)) {
    const v = med(c, lib, key);
    if (!Number.isFinite(v)) continue;
    if (!best || (better === 'high' ? v > best.value : v < best.value)) best = { client: lib, value: v };
  }
  return best;
}

// ------------------------------------------------------------------ targets (issue 14, item 3)

const isLarge = (c) => c.size >= MiB;

/**
 * Checks a ratio target: amqpts's median of `key` over the reference's (the raw client, or the
 * best library), and the same ratio for the raw client when `rawToo` (for "raw cannot reach it").
 */
function ratioTarget(c, target, key, better, reference, op, threshold, rawToo) {
  const ref = reference === 'raw' ? { client: LIMIT, value: med(c, LIMIT, key) } : bestLibrary(c, key, better);
  const mine = med(c, SUBJECT, key);
  const value = ratio(mine, ref?.value);
  const rawValue = rawToo ? ratio(med(c, LIMIT, key), ref?.value) : Number.NaN;
  const range = ref ? ratioRange(values(c, SUBJECT, key), values(c, ref.client, key)) : null;
  return {
    target,
    line: caseLabel(c),
    subject: mine,
    reference: ref ? { client: ref.client, value: ref.value } : null,
    value,
    range,
    rawValue,
    need: `${op} ${threshold}`,
    verdict: verdict({ value, op, threshold, rawValue, range }),
  };
}

/** Every issue-14 target that the rows allow to check, with its verdict. */
export function targets(cases) {
  const out = [];
  const tp = cases.filter((c) => THROUGHPUT.includes(c.scenario));
  for (const c of tp) out.push(ratioTarget(c, 'throughput ≥ 0.9 × raw', 'msgsPerSec', 'high', 'raw', '>=', 0.9, false));
  for (const c of tp.filter(isLarge))
    out.push(ratioTarget(c, 'client CPU ≤ 1.1 × raw (large)', 'cpuPer100k', 'low', 'raw', '<=', 1.1, false));
  for (const c of tp.filter((x) => !isLarge(x)))
    out.push(ratioTarget(c, 'client CPU ≤ 0.5 × best library (small)', 'cpuPer100k', 'low', 'lib', '<=', 0.5, true));
  for (const c of tp.filter((x) => isLarge(x) && x.scenario.startsWith('consume')))
    out.push(ratioTarget(c, 'large consume ≥ 1.5 × best library', 'msgsPerSec', 'high', 'lib', '>=', 1.5, true));
  for (const c of cases.filter((x) => x.scenario === 'rpc-1' || x.scenario === 'rpc-64'))
    out.push(ratioTarget(c, 'RPC p50 ≤ best library (TCP_NODELAY by hand)', 'p50ms', 'low', 'lib', '<=', 1, true));
  for (const c of cases.filter((x) => x.scenario === 'rss')) {
    const value = med(c, SUBJECT, 'rssPeakMB');
    const rawValue = med(c, LIMIT, 'rssPeakMB');
    const range = spread(values(c, SUBJECT, 'rssPeakMB'));
    const best = bestLibrary(c, 'rssPeakMB', 'low');
    const short = c.count < 1e6 ? `, ${c.count} publishes: indicative, the target is for 1M` : '';
    out.push({
      target: 'peak RSS < 100 MB, 1M confirmed publishes',
      line: `${caseLabel(c)}${short}`,
      subject: value,
      reference: best,
      value,
      range: range && { lo: range.min, hi: range.max },
      rawValue,
      need: '< 100 MB',
      verdict: verdict({ value, op: '<', threshold: 100, rawValue, range: range && { lo: range.min, hi: range.max } }),
    });
  }
  return out;
}

// ------------------------------------------------------------------ formatting

export function fmtSize(b) {
  return b >= MiB ? `${b / MiB} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`;
}

/** Three significant digits, k/M suffixes from 10k; '–' for a missing value. */
export function fmtNum(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toPrecision(digits)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toPrecision(digits)}k`;
  return Number(x.toPrecision(digits)).toString();
}

export const fmtRatio = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');

export function caseLabel(c) {
  return `${c.scenario} ${fmtSize(c.size)}${c.mode === 'quick' ? ' (quick)' : ''}`;
}

/** "median (min–max)", or the median alone for one repetition. */
function cell(c, client, key) {
  const v = med(c, client, key);
  const s = spread(values(c, client, key));
  if (!Number.isFinite(v)) return '–';
  return s && s.min !== s.max ? `${fmtNum(v)} (${fmtNum(s.min)}–${fmtNum(s.max)})` : fmtNum(v);
}

function table(cases, metrics, clients) {
  let out = `| case | metric | ${clients.join(' | ')} | ${SUBJECT} ÷ ${LIMIT} | ${SUBJECT} ÷ best library |\n`;
  out += `|---|---|${clients.map(() => '---:').join('|')}|---:|---:|\n`;
  for (const c of cases) {
    const reps = Math.max(...[...c.by.values()].map((l) => l.length));
    for (const m of metrics(c)) {
      const mine = med(c, SUBJECT, m.key);
      const best = bestLibrary(c, m.key, m.better);
      const vsBest = best ? `${fmtRatio(ratio(mine, best.value))} (${best.client})` : '–';
      const cells = clients.map((cl) => cell(c, cl, m.key));
      out += `| ${caseLabel(c)} ×${fmtNum(c.count)}, n=${reps} | ${m.label} | ${cells.join(' | ')} | ${fmtRatio(ratio(mine, med(c, LIMIT, m.key)))} | ${vsBest} |\n`;
    }
  }
  return out;
}

/** The whole report: tables per kind of line, the targets, failed runs. */
export function renderReport(rows) {
  const cases = groupCases(rows);
  const present = new Set(rows.filter((r) => !r.error).map((r) => r.client));
  const clients = [LIMIT, SUBJECT, ...[...present].filter((x) => x !== SUBJECT && x !== LIMIT).sort()].filter((x) => present.has(x));
  let out = '';
  const tp = cases.filter((c) => THROUGHPUT.includes(c.scenario));
  if (tp.length) {
    out += '\n### Throughput and client CPU (medians, min–max over repetitions)\n\n';
    out += table(
      tp,
      () => [
        { key: 'msgsPerSec', label: 'msg/s', better: 'high' },
        { key: 'cpuPer100k', label: 'CPU s/100k', better: 'low' },
      ],
      clients,
    );
  }
  const rpc = cases.filter((c) => RPC.includes(c.scenario));
  if (rpc.length) {
    out += '\n### Round trips (medians of each measurement’s percentiles)\n\n';
    out += table(
      rpc,
      () => [
        { key: 'p50ms', label: 'p50 ms', better: 'low' },
        { key: 'p99ms', label: 'p99 ms', better: 'low' },
        { key: 'msgsPerSec', label: 'calls/s', better: 'high' },
        { key: 'cpuPer100k', label: 'CPU s/100k', better: 'low' },
      ],
      clients,
    );
  }
  const rss = cases.filter((c) => c.scenario === 'rss');
  if (rss.length) {
    out += '\n### Memory\n\n';
    out += table(
      rss,
      () => [
        { key: 'rssPeakMB', label: 'peak RSS MB', better: 'low' },
        { key: 'msgsPerSec', label: 'msg/s', better: 'high' },
      ],
      clients,
    );
  }
  const checks = targets(cases);
  if (checks.length) {
    out += `\n### Targets of issue 14 (${SUBJECT} with its defaults)\n\n`;
    out += '| target | line | amqpts | reference | value | range over reps | needed | verdict |\n|---|---|---:|---:|---:|---:|---:|---|\n';
    for (const k of checks) {
      const ref = k.reference ? `${fmtNum(k.reference.value)} (${k.reference.client})` : '–';
      const range = k.range && k.range.lo !== k.range.hi ? `${fmtRatio(k.range.lo)}–${fmtRatio(k.range.hi)}` : '–';
      const raw = Number.isFinite(k.rawValue) ? `; raw ${fmtRatio(k.rawValue)}` : '';
      out += `| ${k.target} | ${k.line} | ${fmtNum(k.subject)} | ${ref} | ${fmtRatio(k.value)}${raw} | ${range} | ${k.need} | ${k.verdict} |\n`;
    }
    const count = (v) => checks.filter((k) => k.verdict.startsWith(v)).length;
    out += `\n${count('met')} met, ${count('not met')} not met, ${count('raw cannot')} that raw cannot reach either, of ${checks.length}.\n`;
  }
  const bad = rows.filter((r) => r.error);
  if (bad.length) {
    out += '\n### Failed runs\n\n| client | case | rep | error |\n|---|---|---:|---|\n';
    for (const r of bad)
      out += `| ${r.client} | ${r.scenario} ${fmtSize(r.size)} | ${r.rep} | ${String(r.error).replaceAll('|', '\\|')} |\n`;
  }
  return out;
}
