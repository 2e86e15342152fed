#!/usr/bin/env node
// Scale benchmark (issue 16): many idle connections and channels in one process, amqpts beside
// amqplib and @cloudamqp/amqp-client. Every client run is its own `node --expose-gc` child
// (bench/scale/child.mjs), one at a time, so the broker holds one client's connections at once.
//
//   node bench/scale.mjs [--quick] [--reps N] [--json FILE] [--clients a,b] [--shapes many,wide]
//                        [--connections N] [--idle S] [--quiet S] [--heartbeat S] [--concurrency C]
//                        [--headroom N] [--heap-snapshot DIR] [--port P] [--url URL [--no-raise]]
//   node bench/scale.mjs --report FILE        tables from an earlier --json
//
// Shapes: `many` 1000 connections x 10 channels, `wide` 10 x 1000 (--quick: 200 x 10, 5 x 200).
// By default the run gets a RabbitMQ node of its own (bench/scale/node.mjs, port 5695), started
// with a raised `ulimit -n`, stopped and deleted at the end (also on failure and Ctrl-C). With
// --url the run uses that broker (it must be this machine's default rabbitmqctl node): its
// file_handle_cache limit is raised at runtime when a shape needs it and put back afterwards.
// `--reps N` runs every client N times, interleaved; the tables give medians (min–max).
// See bench/README.md, section "Scale".

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { waitForHandshake } from '../scripts/ensure-broker.mjs';
import { readLimits, setHandleLimit, waitForSockets } from './scale/broker.mjs';
import { fdLimits, startScaleNode } from './scale/node.mjs';
import { derive, markdownTable, planBroker, ratiosToBest, shapeLabel, summarize, verdictLines, verdicts } from './scale/report.mjs';

const CHILD = fileURLToPath(new URL('./scale/child.mjs', import.meta.url));
const CLIENTS = ['amqpts', 'amqplib', 'cloudamqp'];
const SUBJECT = 'amqpts';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string', default: '1' }, // runs per client and shape, interleaved (3 is better)
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
    url: { type: 'string' }, // a broker of the user's choosing instead of the private node
    port: { type: 'string', default: '5695' }, // the private node's AMQP port (dist port + 20000)
    timeout: { type: 'string', default: '1800' }, // seconds per child
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const list = (s, all) => (s ? s.split(',').map((x) => x.trim()) : all);
const log = (s) => process.stderr.write(`${s}\n`);

function render(result) {
  const out = [];
  const reps = result.reps ?? 1;
  out.push(`Scale benchmark (${result.mode}), ${result.date}, Node ${result.node}; heartbeat ${result.heartbeat} s for every client.`);
  out.push(`Broker: ${result.broker.before}.`);
  const childFds = [...new Set(result.shapes.flatMap((s) => s.raw.map((r) => r.fdLimit ?? '?')))].join(', ');
  out.push(`Client: ulimit -n ${result.client.soft} (hard ${result.client.hard}); the client children ran with ulimit -n ${childFds}.`);
  if (reps > 1) out.push(`${reps} runs per client, interleaved; figures are medians (min–max over the runs).`);
  for (const s of result.shapes) {
    // rows again from the raw samples, so an older --json gets today's columns
    const rows = summarize(s.raw.map(derive));
    out.push('', `### ${shapeLabel(s)}`, '');
    if (s.note) out.push(`Broker: ${s.note}.`, '');
    if (s.failed.length) out.push(`Failed runs: ${s.failed.map((f) => `${f.client} (${f.error})`).join('; ')}.`, '');
    out.push(`Open concurrency ${s.concurrency}; idle window ${s.idleSeconds} s after ${s.quietSeconds ?? 0} s of quiet.`, '');
    out.push(markdownTable(rows, SUBJECT), '', 'Issue 16 targets:', '', verdictLines(verdicts(rows, SUBJECT)));
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
const reps = Number(opt.reps);
const headroom = Number(opt.headroom);
const clients = list(opt.clients, CLIENTS);
const shapes = list(opt.shapes, Object.keys(SHAPES));
for (const c of clients) if (!CLIENTS.includes(c)) throw new Error(`unknown client ${c}`);
for (const s of shapes) if (!SHAPES[s]) throw new Error(`unknown shape ${s}`);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${opt.reps}`);
// descriptors a client child needs: its sockets plus Node's own (stdio, epoll, libuv, loaded files)
const fdNeed = Math.max(...shapes.map((s) => SHAPES[s].desired)) + 64;

// ------------------------------------------- cleanup: the private node, or the raised broker limit

let scaleNode = null; // the private node, while it runs
let brokerNode; // rabbitmqctl's -n for readLimits & co: the private node, or undefined (default node)
let original = null; // the --url broker's file_handle_cache limit to restore, while raised
let current = null; // the client child running now
let aborted = false;
async function restore() {
  if (original === null) return;
  const n = original;
  original = null;
  await setHandleLimit(n, brokerNode);
  log(`broker file_handle_cache limit restored to ${n}`);
}
async function cleanup() {
  try {
    await restore();
  } finally {
    if (scaleNode) {
      const n = scaleNode;
      scaleNode = null;
      await n.dispose();
      log(`${n.node} stopped, its folders deleted`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    aborted = true;
    current?.kill('SIGKILL');
    cleanup()
      .catch((err) => log(`cleanup failed: ${err.message}`))
      .finally(() => process.exit(130));
  });
}

/** Spawns a client child, through `sh -c 'ulimit -S -n N; exec node ...'` when our soft limit is below fdNeed. */
function spawnClient(args) {
  const { soft, hard } = fdLimits();
  if (soft >= fdNeed) return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  if (hard < fdNeed) throw new Error(`ulimit -n ${soft} (hard ${hard}) is too low for ${fdNeed - 64} connections`);
  const sh = 'ulimit -S -n "$1" && shift && exec "$@"';
  return spawn('/bin/sh', ['-c', sh, 'sh', String(fdNeed), process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function runChild(url, client, connections, channels, snapshot) {
  if (aborted) return Promise.reject(new Error('aborted'));
  const args = ['--expose-gc', CHILD, '--client', client, '--connections', String(connections), '--channels', String(channels)];
  args.push('--idle', String(idleSeconds), '--quiet', String(Number(opt.quiet)), '--concurrency', String(concurrency), '--url', url);
  if (snapshot) args.push('--heap-snapshot', snapshot);
  return new Promise((resolve, reject) => {
    const child = spawnClient(args);
    current = child;
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), Number(opt.timeout) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      const line = out.split('\n').find((l) => l.startsWith('SCALE-RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('SCALE-RESULT '.length)));
      else reject(new Error(`child exited ${signal ?? code}${out.trim() ? `: ${out.trim().slice(-300)}` : ''}`));
    });
  });
}

const describe = (l) =>
  `Erlang VM max_fds ${l.maxFds} (${l.openFds} open), file_handle_cache limit ${l.totalLimit}, ` +
  `sockets limit ${l.socketsLimit} (${l.socketsUsed} in use), connection_max ${l.connectionMax}`;

/** Starts the private node (or checks the --url broker) and returns the run's base URL and broker line. */
async function setUp() {
  if (opt.url) {
    const u = new URL(opt.url);
    await waitForHandshake(u.hostname || '127.0.0.1', Number(u.port || 5672), 15_000);
    const limits = await readLimits();
    return { base: opt.url, limits, before: `${opt.url.replace(/\/\/[^@]*@/, '//')} (--url): ${describe(limits)}` };
  }
  scaleNode = await startScaleNode({ port: Number(opt.port), log });
  brokerNode = scaleNode.node;
  const limits = await readLimits(brokerNode);
  // the node is ours alone: every shape must fit whole, with the headroom to spare
  const plan = planBroker(limits, { desired: fdNeed - 64, raise: false, headroom });
  if (plan.limited) throw new Error(`${scaleNode.node} is too small (${describe(limits)}): ${plan.note}`);
  const before = `private node ${scaleNode.node} started with ulimit -n ${scaleNode.fdLimit}: ${describe(limits)}`;
  return { base: scaleNode.url, limits, before };
}

const client = fdLimits();
const result = {
  mode,
  date: new Date().toISOString(),
  node: process.versions.node,
  heartbeat: Number(opt.heartbeat),
  reps,
  client,
  broker: {},
  shapes: [],
};

try {
  const { base, limits: first, before } = await setUp();
  result.broker = { limits: first, before, private: scaleNode !== null };
  log(before);
  const url = `${base}${base.includes('?') ? '&' : '?'}heartbeat=${Number(opt.heartbeat)}`;
  for (const name of shapes) {
    if (aborted) break;
    const { desired, channels } = SHAPES[name];
    const limits = await readLimits(brokerNode);
    const plan = planBroker(limits, { desired, raise: !opt['no-raise'], headroom });
    if (plan.connections <= 0) throw new Error(`no room on the broker: ${plan.note}`);
    if (plan.raiseTo !== null) {
      original ??= limits.totalLimit;
      await setHandleLimit(plan.raiseTo, brokerNode);
    }
    log(`shape ${name}: ${plan.note}`);
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
    for (let rep = 1; rep <= reps && !aborted; rep++) {
      for (const c of clients) {
        if (aborted) break;
        const tag = reps > 1 ? `-${rep}` : '';
        const snapshot = opt['heap-snapshot'] && c === SUBJECT ? join(opt['heap-snapshot'], `scale-${name}-${c}${tag}`) : undefined;
        const t0 = Date.now();
        try {
          shape.raw.push(await runChild(url, c, plan.connections, channels, snapshot));
        } catch (err) {
          shape.failed.push({ client: c, rep, error: err.message });
          log(`${c} failed: ${err.message}`);
        }
        log(`${c}${reps > 1 ? ` (run ${rep} of ${reps})` : ''}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        if (!aborted) await waitForSockets(limits.socketsUsed, brokerNode);
      }
    }
    await restore();
    shape.rows = summarize(shape.raw.map(derive));
    shape.ratios = ratiosToBest(shape.rows, SUBJECT);
    shape.verdicts = verdicts(shape.rows, SUBJECT);
    result.shapes.push(shape);
  }
} catch (err) {
  result.error = err.message;
} finally {
  if (!aborted) await cleanup();
}

if (result.error !== undefined) {
  log(`bench:scale failed: ${result.error}`);
  process.exitCode = 1;
} else if (!aborted) {
  process.stdout.write(`${render(result)}\n`);
  if (opt.json) writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
}
