#!/usr/bin/env node
// Scale benchmark (issue 16): many idle connections and channels in one process, amqpts beside
// amqplib and @cloudamqp/amqp-client. Every client run is its own `node --expose-gc` child
// (bench/scale/child.mjs), one at a time, so the broker holds one client's connections at once.
//
//   node bench/scale.mjs [--quick] [--json FILE] [--clients a,b] [--shapes many,wide]
//                        [--connections N] [--idle S] [--quiet S] [--heartbeat S] [--concurrency C]
//                        [--no-raise] [--headroom N] [--heap-snapshot DIR] [--url URL]
//   node bench/scale.mjs --report FILE        tables from an earlier --json
//
// Shapes: `many` 1000 connections x 10 channels, `wide` 10 x 1000 (--quick: 200 x 10, 5 x 200).
// The broker's file_handle_cache limit is raised at runtime when a shape needs it and put back
// afterwards (also on Ctrl-C); see bench/README.md, section "Scale".

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clientFdLimits, readLimits, setHandleLimit, waitForSockets } from './scale/broker.mjs';
import { derive, markdownTable, planBroker, ratiosToBest, shapeLabel, verdictLines, verdicts } from './scale/report.mjs';

const CHILD = fileURLToPath(new URL('./scale/child.mjs', import.meta.url));
const CLIENTS = ['amqpts', 'amqplib', 'cloudamqp'];
const SUBJECT = 'amqpts';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    report: { type: 'string' },
    clients: { type: 'string' },
    shapes: { type: 'string' },
    connections: { type: 'string' }, // desired connection count of the `many` shape
    idle: { type: 'string' }, // seconds
    quiet: { type: 'string', default: '5' }, // seconds of unmeasured quiet before the idle window
    heartbeat: { type: 'string', default: '10' }, // seconds, the same for every client
    concurrency: { type: 'string', default: '50' },
    'no-raise': { type: 'boolean', default: false },
    headroom: { type: 'string', default: '150' }, // broker sockets left for other users of a shared broker
    'heap-snapshot': { type: 'string' }, // directory: amqpts writes scale-SHAPE-amqpts-PHASE.heapsnapshot (diagnostics)
    url: { type: 'string', default: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/' },
    timeout: { type: 'string', default: '1800' }, // seconds per child
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const list = (s, all) => (s ? s.split(',').map((x) => x.trim()) : all);

function render(result) {
  const out = [];
  out.push(`Scale benchmark (${result.mode}), ${result.date}, Node ${result.node}; heartbeat ${result.heartbeat} s for every client.`);
  out.push(`Broker: ${result.broker.before}. Client: ulimit -n ${result.client.soft} (hard ${result.client.hard}).`);
  for (const s of result.shapes) {
    out.push('', `### ${shapeLabel(s)}`, '');
    if (s.note) out.push(`Broker: ${s.note}.`, '');
    if (s.failed.length) out.push(`Failed runs: ${s.failed.map((f) => `${f.client} (${f.error})`).join('; ')}.`, '');
    out.push(`Open concurrency ${s.concurrency}; idle window ${s.idleSeconds} s after ${s.quietSeconds ?? 0} s of quiet.`, '');
    out.push(markdownTable(s.rows, SUBJECT), '', 'Issue 16 targets:', '', verdictLines(s.verdicts));
  }
  return out.join('\n');
}

if (opt.help) {
  process.stdout.write(
    `${readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 14)
      .join('\n')}\n`,
  );
  process.exit(0);
}
if (opt.report) {
  process.stdout.write(`${render(JSON.parse(readFileSync(opt.report, 'utf8')))}\n`);
  process.exit(0);
}

const mode = opt.quick ? 'quick' : 'full';
const SHAPES = {
  many: { desired: Number(opt.connections ?? (opt.quick ? 200 : 1000)), channels: opt.quick ? 10 : 10 },
  wide: { desired: opt.quick ? 5 : 10, channels: opt.quick ? 200 : 1000 },
};
const idleSeconds = Number(opt.idle ?? (opt.quick ? 10 : 30));
const concurrency = Number(opt.concurrency);
const url = `${opt.url}${opt.url.includes('?') ? '&' : '?'}heartbeat=${Number(opt.heartbeat)}`;
const clients = list(opt.clients, CLIENTS);
const shapes = list(opt.shapes, Object.keys(SHAPES));
for (const c of clients) if (!CLIENTS.includes(c)) throw new Error(`unknown client ${c}`);
for (const s of shapes) if (!SHAPES[s]) throw new Error(`unknown shape ${s}`);

// ------------------------------------------------------------------ broker limit, put back on exit

let original = null; // the file_handle_cache limit to restore, while raised
async function restore() {
  if (original === null) return;
  const n = original;
  original = null;
  await setHandleLimit(n);
  process.stderr.write(`broker file_handle_cache limit restored to ${n}\n`);
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    restore().finally(() => process.exit(130));
  });
}

function runChild(client, connections, channels, snapshot) {
  const args = ['--expose-gc', CHILD, '--client', client, '--connections', String(connections), '--channels', String(channels)];
  args.push('--idle', String(idleSeconds), '--quiet', String(Number(opt.quiet)), '--concurrency', String(concurrency), '--url', url);
  if (snapshot) args.push('--heap-snapshot', snapshot);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), Number(opt.timeout) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('SCALE-RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('SCALE-RESULT '.length)));
      else reject(new Error(`child exited ${signal ?? code}${out.trim() ? `: ${out.trim().slice(-300)}` : ''}`));
    });
  });
}

const client = await clientFdLimits();
const before = await readLimits();
const result = {
  mode,
  date: new Date().toISOString(),
  node: process.versions.node,
  heartbeat: Number(opt.heartbeat),
  client,
  broker: {
    limits: before,
    before:
      `Erlang VM max_fds ${before.maxFds} (${before.openFds} open), file_handle_cache limit ${before.totalLimit}, ` +
      `sockets limit ${before.socketsLimit} (${before.socketsUsed} in use), connection_max ${before.connectionMax}`,
  },
  shapes: [],
};
process.stderr.write(`${result.broker.before}\n`);

try {
  for (const name of shapes) {
    const { desired, channels } = SHAPES[name];
    const limits = await readLimits();
    const plan = planBroker(limits, { desired, raise: !opt['no-raise'], headroom: Number(opt.headroom) });
    if (plan.connections <= 0) throw new Error(`no room on the broker: ${plan.note}`);
    if (client.soft < plan.connections + 64) throw new Error(`ulimit -n ${client.soft} is too low for ${plan.connections} connections`);
    if (plan.raiseTo !== null) {
      original ??= limits.totalLimit;
      await setHandleLimit(plan.raiseTo);
    }
    process.stderr.write(`shape ${name}: ${plan.note}\n`);
    const shape = {
      name,
      desired,
      connections: plan.connections,
      channelsPerConnection: channels,
      note: plan.limited || plan.raiseTo !== null ? plan.note : '',
      concurrency,
      idleSeconds,
      quietSeconds: Number(opt.quiet),
      raw: [],
      failed: [],
    };
    for (const c of clients) {
      const snapshot = opt['heap-snapshot'] && c === SUBJECT ? join(opt['heap-snapshot'], `scale-${name}-${c}`) : undefined;
      const t0 = Date.now();
      try {
        shape.raw.push(await runChild(c, plan.connections, channels, snapshot));
      } catch (err) {
        shape.failed.push({ client: c, error: err.message });
        process.stderr.write(`${c} failed: ${err.message}\n`);
      }
      process.stderr.write(`${c}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      await waitForSockets(limits.socketsUsed);
    }
    await restore();
    shape.rows = shape.raw.map(derive);
    shape.ratios = ratiosToBest(shape.rows, SUBJECT);
    shape.verdicts = verdicts(shape.rows, SUBJECT);
    result.shapes.push(shape);
  }
} finally {
  await restore();
}

process.stdout.write(`${render(result)}\n`);
if (opt.json) writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
