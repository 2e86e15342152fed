// One client run of the scale benchmark, in its own `node --expose-gc` process (bench/scale.mjs
// starts it): baseline memory after loading the library; open N connections, then M channels on
// each (a pool of `--concurrency` workers, one connection at a time per worker, its channels in
// sequence); memory after each phase; CPU while idle with heartbeats on (after `--quiet` seconds
// unmeasured); a 1 MiB round trip on
// every connection; memory once traffic has stopped; close. Prints one line (with the child's own
// `ulimit -n` as fdLimit) `SCALE-RESULT {json}` (the RawRun of report.d.mts). `--heap-snapshot FILE` also writes V8
// heap snapshots FILE-baseline, FILE-connections, FILE-idle and FILE-burst (.heapsnapshot; compare them with
// heap-diff.mjs), `--cpu-profile FILE` a CPU profile of the idle window: diagnostics only, the
// figures of such a run are not comparable.

import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADAPTERS } from './adapters.mjs';

const { values: opt } = parseArgs({
  options: {
    client: { type: 'string' },
    connections: { type: 'string' },
    channels: { type: 'string' },
    idle: { type: 'string', default: '30' }, // seconds
    quiet: { type: 'string', default: '5' }, // seconds of unmeasured quiet before the idle window
    concurrency: { type: 'string', default: '50' },
    url: { type: 'string' },
    'burst-bytes': { type: 'string', default: String(1024 * 1024) },
    'heap-snapshot': { type: 'string' },
    'cpu-profile': { type: 'string' }, // FILE.cpuprofile of the idle window only
  },
});

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const spec = ADAPTERS[opt.client];
if (!spec) throw new Error(`--client must be one of ${Object.keys(ADAPTERS).join(', ')}`);
const N = Number(opt.connections);
const M = Number(opt.channels);
const C = Number(opt.concurrency);
const log = (s) => process.stderr.write(`[${opt.client}] ${s}\n`);

/** gc() twice with a pause, so weak callbacks and external frees have run, then a sample. */
async function settled() {
  globalThis.gc();
  await sleep(300);
  globalThis.gc();
  await sleep(300);
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Runs `work(i)` for i in [0, n) with at most `c` at once; rejects with the first failure. */
async function pool(n, c, work) {
  let next = 0;
  const worker = async () => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(c, n) }, worker));
}

/** With --heap-snapshot FILE: FILE-<phase>.heapsnapshot (diff them with bench/scale/heap-diff.mjs). */
function snapshot(phase) {
  if (opt['heap-snapshot']) log(`heap snapshot: ${writeHeapSnapshot(`${opt['heap-snapshot']}-${phase}.heapsnapshot`)}`);
}

/** This process's soft `ulimit -n` (Linux: /proc/self/limits), or null. */
function fdLimit() {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const lib = await spec.load();
const baseline = await settled();
snapshot('baseline');

const conns = new Array(N);
const chans = Array.from({ length: N }, () => []);
let t = performance.now();
await pool(N, C, async (i) => {
  conns[i] = await lib.connect(opt.url);
});
const openConnectionsMs = performance.now() - t;
log(`${N} connections in ${(openConnectionsMs / 1000).toFixed(2)} s`);
const afterConnections = await settled();
snapshot('connections');

t = performance.now();
await pool(N, C, async (i) => {
  for (let j = 0; j < M; j++) chans[i].push(await lib.channel(conns[i]));
});
const openChannelsMs = performance.now() - t;
log(`${N * M} channels in ${(openChannelsMs / 1000).toFixed(2)} s`);

const idleWindowMs = Number(opt.idle) * 1000;
// one-off work left from the opening phase (background JIT compiles, V8's memory reducer) is not idling
await sleep(Number(opt.quiet) * 1000);
const profiler = opt['cpu-profile'] ? new Session() : null;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
const cpu0 = process.cpuUsage();
await sleep(idleWindowMs);
const idleCpu = process.cpuUsage(cpu0);
if (profiler) {
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(opt['cpu-profile'], JSON.stringify(profile));
  profiler.disconnect();
  log(`idle CPU profile: ${opt['cpu-profile']}`);
}
const lost = conns.filter((c) => !lib.alive(c)).length;
log(`idle ${opt.idle} s: ${((idleCpu.user + idleCpu.system) / 1000).toFixed(0)} ms CPU, ${lost} connections lost`);
// idle memory is taken once the connections have been idle (quiet + the idle window), not right
// after the opening burst: what a library keeps from opening and lets go when quiet is not idle state
const idle = await settled();
snapshot('idle');

let body = Buffer.alloc(Number(opt['burst-bytes']), 0x61);
t = performance.now();
await pool(N, C, async (i) => {
  if (lib.alive(conns[i])) await lib.burst(conns[i], chans[i][0], body);
});
const burstMs = performance.now() - t;
body = null; // the sample below must not count the one shared 1 MiB body
log(`burst in ${(burstMs / 1000).toFixed(2)} s`);
await sleep(3000); // traffic has stopped: let the sockets' and the libraries' own quiet-time work run
const afterBurst = await settled();
snapshot('burst');

await pool(N, C, async (i) => {
  if (lib.alive(conns[i])) await lib.close(conns[i]);
});

const result = {
  client: opt.client,
  library: spec.library,
  version: lib.version,
  heartbeatHow: spec.heartbeat,
  connections: N,
  channelsPerConnection: M,
  concurrency: C,
  baseline,
  afterConnections,
  idle,
  afterBurst,
  openConnectionsMs,
  openChannelsMs,
  idleCpu,
  idleWindowMs,
  lost,
  burstMs,
  fdLimit: fdLimit(),
};
process.stdout.write(`SCALE-RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
