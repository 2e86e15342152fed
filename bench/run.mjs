#!/usr/bin/env node
// amqpts benchmark: amqpts side by side with the raw limit client, amqplib and @cloudamqp/amqp-client
// against one broker.
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
import { fmtNum, fmtSize, renderReport as report } from './lib/report.mjs';
import { SCENARIOS, SCENARIO_NAMES, runOne } from './scenarios.mjs';

const SELF = fileURLToPath(import.meta.url);
const CLIENTS = ['raw', 'amqpts', 'amqplib', 'cloudamqp'];
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

/** Pre-fills consume queues (untimed) and deletes leftovers: the raw client, the fastest. */
const fillerSession = async () => (await loadClient('raw')).open(opt.url);

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
