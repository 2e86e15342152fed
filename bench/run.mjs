#!/usr/bin/env node
// amqpts benchmark: amqpts side by side with amqplib and @cloudamqp/amqp-client against one broker.
//
//   node bench/run.mjs [--quick] [--scenarios a,b] [--clients x,y] [--reps N] [--out results.jsonl]
//       every measurement runs in a fresh child process; clients are interleaved within each case
//       and the starting client rotates from one repetition to the next. Prints markdown tables.
//   node bench/run.mjs --single --client amqpts --scenario consume [--size 100] [--count N] [--quick]
//       one measurement in this process (what the children run; handy under --cpu-prof).
//   node bench/run.mjs --report results.jsonl [...]
//       tables from earlier results.
//
// See bench/README.md.

import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { SCENARIOS, SCENARIO_NAMES, runOne } from './scenarios.mjs';

const SELF = fileURLToPath(import.meta.url);
const CLIENTS = ['amqpts', 'amqplib', 'cloudamqp'];
const SUBJECT = 'amqpts';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    clients: { type: 'string' },
    reps: { type: 'string' },
    out: { type: 'string' },
    url: { type: 'string', default: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/' },
    timeout: { type: 'string', default: '600' }, // seconds per child
    pause: { type: 'string' }, // ms between children
    report: { type: 'boolean', default: false },
    single: { type: 'boolean', default: false },
    client: { type: 'string' },
    scenario: { type: 'string' },
    size: { type: 'string' },
    count: { type: 'string' },
    rep: { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const mode = opt.quick ? 'quick' : 'full';
const list = (s, all) =>
  s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : all;

async function loadClient(name) {
  if (!/^[\w-]+$/.test(name)) throw new Error(`bad client name ${name}`);
  return (await import(new URL(`./clients/${name}.mjs`, import.meta.url).href)).default;
}

const fillerSession = async () => (await loadClient('amqplib')).open(opt.url);

// ------------------------------------------------------------------ one measurement (child)

async function single() {
  const spec = SCENARIOS[opt.scenario];
  if (!spec) throw new Error(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}`);
  const size = Number(opt.size ?? spec.sizes[0]);
  const count = Number(opt.count ?? spec.count[mode][size]);
  if (!count) throw new Error(`no message count for ${opt.scenario} ${size} B: pass --count`);
  const adapter = await loadClient(opt.client ?? SUBJECT);
  const rows = await runOne({
    adapter,
    filler: fillerSession,
    scenario: opt.scenario,
    size,
    count,
    mode,
    url: opt.url,
    rep: Number(opt.rep),
    announce: (q) => process.stdout.write(`@@queue ${q}\n`),
  });
  for (const r of rows) process.stdout.write(`@@row ${JSON.stringify(r)}\n`);
}

function child(args, timeoutMs) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--expose-gc', SELF, '--single', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    const killer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(killer);
      const rows = [];
      let queue = null;
      for (const line of out.split('\n')) {
        if (line.startsWith('@@row ')) rows.push(JSON.parse(line.slice(6)));
        else if (line.startsWith('@@queue ')) queue = line.slice(8).trim();
      }
      resolve({ ok: code === 0 && rows.length > 0, code: code ?? signal, rows, queue, stderr: err.trim() });
    });
  });
}

async function deleteLeftover(queue) {
  try {
    const s = await fillerSession();
    await s.remove(queue);
    await s.close();
  } catch (e) {
    process.stderr.write(`  could not delete ${queue}: ${e.message}\n`);
  }
}

// ------------------------------------------------------------------ orchestration

async function orchestrate() {
  const clients = list(opt.clients, CLIENTS);
  const scenarios = list(opt.scenarios, SCENARIO_NAMES);
  for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}; known: ${SCENARIO_NAMES.join(', ')}`);
  for (const c of clients) await loadClient(c); // fail early on a typo
  const reps = Number(opt.reps ?? (opt.quick ? 1 : 3));
  const pause = Number(opt.pause ?? (opt.quick ? 150 : 500));
  const cases = scenarios.flatMap((s) => SCENARIOS[s].sizes.map((size) => ({ scenario: s, size, count: SCENARIOS[s].count[mode][size] })));
  const total = reps * cases.length * clients.length;
  const rows = [];
  const started = Date.now();
  let done = 0;
  process.stderr.write(`amqpts bench (${mode}): ${clients.join(', ')} x ${cases.length} cases x ${reps} rep(s) = ${total} runs\n`);
  for (let rep = 0; rep < reps; rep++) {
    const order = clients.map((_, i) => clients[(i + rep) % clients.length]);
    for (const c of cases) {
      for (const client of order) {
        const args = [
          '--client',
          client,
          '--scenario',
          c.scenario,
          '--size',
          String(c.size),
          '--count',
          String(c.count),
          '--rep',
          String(rep),
          '--url',
          opt.url,
        ];
        if (opt.quick) args.push('--quick');
        const r = await child(args, Number(opt.timeout) * 1000);
        done++;
        const secs = Math.round((Date.now() - started) / 1000);
        if (!r.ok) {
          if (r.queue) await deleteLeftover(r.queue);
          const error = (r.stderr.split('\n').find((l) => /Error|error/.test(l)) ?? `exit ${r.code}`).slice(0, 300);
          r.rows.push({ client, scenario: c.scenario, size: c.size, count: c.count, rep, mode, error });
          process.stderr.write(`[${done}/${total} ${secs}s] ${client} ${c.scenario} ${fmtSize(c.size)}: FAILED ${error}\n`);
        } else {
          const brief = r.rows
            .map((x) =>
              x.p50ms !== undefined
                ? `p50 ${x.p50ms} ms`
                : x.rssPeakMB !== undefined
                  ? `${x.rssPeakMB} MB peak`
                  : `${fmtNum(x.msgsPerSec)} msg/s`,
            )
            .join(', ');
          process.stderr.write(`[${done}/${total} ${secs}s] ${client} ${c.scenario} ${fmtSize(c.size)}: ${brief}\n`);
        }
        for (const x of r.rows) {
          rows.push(x);
          if (opt.out) appendFileSync(opt.out, `${JSON.stringify(x)}\n`);
        }
        await sleep(pause);
      }
    }
  }
  process.stderr.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
  process.stdout.write(report(rows));
}

// ------------------------------------------------------------------ report

function fmtSize(b) {
  return b >= 1024 * 1024 ? `${b / 1024 / 1024} MiB` : b >= 1024 ? `${b / 1024} KiB` : `${b} B`;
}
function fmtNum(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toPrecision(digits)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toPrecision(digits)}k`;
  return Number(x.toPrecision(digits)).toString();
}
function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Metrics reported per case: which field, how to aggregate, and whether higher is better. */
function metricsFor(scenario) {
  if (scenario.startsWith('rpc')) {
    return [
      { key: 'p50ms', label: 'RTT p50 ms', better: 'low' },
      { key: 'p99ms', label: 'RTT p99 ms', better: 'low' },
    ];
  }
  if (scenario === 'rss') {
    return [
      { key: 'rssPeakMB', label: 'peak RSS MB', better: 'low' },
      { key: 'msgsPerSec', label: 'msg/s', better: 'high' },
      { key: 'cpuPer100k', label: 'CPU s/100k', better: 'low' },
    ];
  }
  return [
    { key: 'msgsPerSec', label: 'msg/s', better: 'high', spread: true },
    { key: 'mbPerSec', label: 'MB/s', better: 'high' },
    { key: 'cpuPer100k', label: 'CPU s/100k', better: 'low' },
  ];
}

function caseLabel(k) {
  return `${k.scenario}${k.phase ? ` ${k.phase}` : ''} ${fmtSize(k.size)}${k.mode === 'quick' ? ' (quick)' : ''}`;
}

function report(rows) {
  const good = rows.filter((r) => !r.error);
  const bad = rows.filter((r) => r.error);
  const clients = [...new Set([SUBJECT, ...CLIENTS, ...good.map((r) => r.client)])].filter((c) => good.some((r) => r.client === c));
  const others = clients.filter((c) => c !== SUBJECT);
  const cases = new Map();
  for (const r of good) {
    const id = `${r.mode}|${r.scenario}|${r.phase ?? ''}|${r.size}`;
    if (!cases.has(id)) cases.set(id, { mode: r.mode, scenario: r.scenario, phase: r.phase, size: r.size, count: r.count, by: new Map() });
    const c = cases.get(id);
    if (!c.by.has(r.client)) c.by.set(r.client, []);
    c.by.get(r.client).push(r);
  }
  const order = (c) => SCENARIO_NAMES.indexOf(c.scenario) * 1e12 + c.size * 10 + (c.phase === 'consume' ? 1 : 0);
  const sorted = [...cases.values()].sort((a, b) => order(a) - order(b));

  const med = (c, client, key) => median((c.by.get(client) ?? []).map((r) => r[key]));
  const bestOther = (c, key, better) => {
    let best = null;
    for (const o of others) {
      const v = med(c, o, key);
      if (!Number.isFinite(v)) continue;
      if (!best || (better === 'high' ? v > best.v : v < best.v)) best = { v, client: o };
    }
    return best;
  };

  let out = '\n### Medians\n\n';
  out += `| case | metric | ${clients.join(' | ')} | ${SUBJECT} ÷ best other |\n`;
  out += `|---|---|${clients.map(() => '---:').join('|')}|---:|\n`;
  for (const c of sorted) {
    const reps = Math.max(...[...c.by.values()].map((l) => l.length));
    for (const m of metricsFor(c.scenario)) {
      if (m.key === 'mbPerSec' && c.size < 4096) continue;
      const cells = clients.map((cl) => {
        const v = med(c, cl, m.key);
        let s = fmtNum(v);
        if (m.spread && reps > 1 && Number.isFinite(v)) {
          const vals = (c.by.get(cl) ?? []).map((r) => r[m.key]);
          s += ` ±${Math.round(((Math.max(...vals) - Math.min(...vals)) / 2 / v) * 100)}%`;
        }
        return s;
      });
      const b = bestOther(c, m.key, m.better);
      const mine = med(c, SUBJECT, m.key);
      const ratio = b && Number.isFinite(mine) ? `${(mine / b.v).toFixed(2)} (vs ${b.client})` : '–';
      const planned = SCENARIOS[c.scenario]?.count[c.mode]?.[c.size] ?? c.count;
      const times = c.scenario.startsWith('rpc')
        ? `≤${fmtNum(planned)} RTs or ${SCENARIOS[c.scenario].maxMs[c.mode] / 1000} s`
        : `×${fmtNum(planned)}`;
      out += `| ${caseLabel(c)} ${times}, n=${reps} | ${m.label} | ${cells.join(' | ')} | ${ratio} |\n`;
    }
  }

  // targets of the issue
  const checks = [];
  const _find = (scenario, size, phase) =>
    sorted.filter((c) => c.scenario === scenario && c.size === size && (c.phase ?? '') === (phase ?? ''));
  const addRatio = (target, c, key, better, need, cmp) => {
    const mine = med(c, SUBJECT, key);
    const b = bestOther(c, key, better);
    if (!Number.isFinite(mine) || !b) {
      checks.push({ target, label: caseLabel(c), mine: '–', best: '–', ratio: '–', need, result: 'n/a' });
      return;
    }
    const ratio = mine / b.v;
    checks.push({
      target,
      label: caseLabel(c),
      mine: fmtNum(mine),
      best: `${fmtNum(b.v)} (${b.client})`,
      ratio: ratio.toFixed(2),
      need,
      result: cmp(ratio) ? 'PASS' : 'FAIL',
    });
  };
  const throughputCases = sorted.filter((c) => !c.scenario.startsWith('rpc') && c.scenario !== 'rss');
  for (const c of throughputCases) addRatio('throughput ≥ best other', c, 'msgsPerSec', 'high', '≥ 1.00', (r) => r >= 1);
  for (const c of throughputCases) addRatio('client CPU/100k ≤ 0.5 × best other', c, 'cpuPer100k', 'low', '≤ 0.50', (r) => r <= 0.5);
  for (const c of throughputCases.filter((x) => x.scenario === 'large' && x.phase === 'consume')) {
    addRatio('large consume ≥ 1.5 × best other', c, 'msgsPerSec', 'high', '≥ 1.50', (r) => r >= 1.5);
  }
  for (const m of new Set(sorted.map((c) => c.mode))) {
    const dflt = sorted.find((c) => c.mode === m && c.scenario === 'rpc-default');
    const nod = sorted.find((c) => c.mode === m && c.scenario === 'rpc-nodelay');
    if (dflt || nod) {
      const mine = dflt ? med(dflt, SUBJECT, 'p50ms') : NaN;
      const b = nod ? bestOther(nod, 'p50ms', 'low') : null;
      const label = `RTT p50: ${SUBJECT} defaults vs others with TCP_NODELAY by hand${m === 'quick' ? ' (quick)' : ''}`;
      if (Number.isFinite(mine) && b) {
        checks.push({
          target: 'RPC p50 ≤ best other (NODELAY)',
          label,
          mine: `${fmtNum(mine)} ms`,
          best: `${fmtNum(b.v)} ms (${b.client})`,
          ratio: (mine / b.v).toFixed(2),
          need: '≤ 1.00',
          result: mine <= b.v ? 'PASS' : 'FAIL',
        });
      } else {
        checks.push({ target: 'RPC p50 ≤ best other (NODELAY)', label, mine: '–', best: '–', ratio: '–', need: '≤ 1.00', result: 'n/a' });
      }
    }
    const rss = sorted.find((c) => c.mode === m && c.scenario === 'rss');
    if (rss) {
      const mine = med(rss, SUBJECT, 'rssPeakMB');
      const b = bestOther(rss, 'rssPeakMB', 'low');
      checks.push({
        target: 'peak RSS < 150 MB',
        label: `${caseLabel(rss)}, ${fmtNum(rss.count)} confirmed publishes${rss.count < 1e6 ? ' (target is for 1M)' : ''}`,
        mine: `${fmtNum(mine)} MB`,
        best: b ? `${fmtNum(b.v)} MB (${b.client})` : '–',
        ratio: b ? (mine / b.v).toFixed(2) : '–',
        need: '< 150 MB',
        result: Number.isFinite(mine) ? (mine < 150 ? 'PASS' : 'FAIL') : 'n/a',
      });
    }
  }
  if (checks.length) {
    out += `\n### Targets (${SUBJECT} vs the best of ${others.join(', ') || 'nothing'})\n\n`;
    out += `| target | case | ${SUBJECT} | best other | ratio | needed | result |\n|---|---|---:|---:|---:|---:|:---:|\n`;
    for (const k of checks) out += `| ${k.target} | ${k.label} | ${k.mine} | ${k.best} | ${k.ratio} | ${k.need} | ${k.result} |\n`;
    const pass = checks.filter((k) => k.result === 'PASS').length;
    out += `\n${pass}/${checks.length} targets pass.\n`;
  }
  if (bad.length) {
    out += '\n### Failed runs\n\n| client | case | rep | error |\n|---|---|---:|---|\n';
    for (const r of bad)
      out += `| ${r.client} | ${r.scenario} ${fmtSize(r.size)} | ${r.rep} | ${String(r.error).replaceAll('|', '\\|')} |\n`;
  }
  return out;
}

// ------------------------------------------------------------------ main

const USAGE = `usage: node bench/run.mjs [--quick] [--scenarios ${SCENARIO_NAMES.join(',')}]
                         [--clients ${CLIENTS.join(',')}] [--reps N] [--out results.jsonl] [--url amqp://...]
       node bench/run.mjs --single --client NAME --scenario NAME [--size BYTES] [--count N] [--quick]
       node bench/run.mjs --report results.jsonl [...]
`;

async function main() {
  if (opt.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (opt.single) {
    await single();
    return;
  }
  if (opt.report) {
    if (!positionals.length) throw new Error('--report needs results files');
    const rows = positionals.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l)),
    );
    process.stdout.write(report(rows));
    return;
  }
  await orchestrate();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e?.stack ?? e);
    process.exit(1);
  },
);
