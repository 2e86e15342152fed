// Benchmark scenarios: what is measured, with how many messages, and the code that runs one
// measurement inside a child process (bench/run.mjs spawns one child per measurement).
//
// Every scenario talks to a client only through the session object its adapter returns
// (bench/clients/*.mjs); the adapter decides how to use its library (flow control, confirm
// bookkeeping, ack style), the scenario decides what is timed.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** The message sizes of the throughput scenarios (issue 14: 100 B, 4 KiB, 1 MiB, 16 MiB). */
export const SIZES = [100, 4 * KiB, 1 * MiB, 16 * MiB];
const LARGE = 1 * MiB;

/** Unconfirmed publishes allowed in confirm mode: 1000, or 128 MiB of bodies when that is fewer. */
export const confirmWindow = (size) => Math.max(1, Math.min(1000, Math.floor((128 * MiB) / size)));
/** Consumer prefetch: 1000 for small messages, 10 from 1 MiB up. */
export const prefetchFor = (size) => (size >= LARGE ? 10 : 1000);

/** `{ 100: a, 4096: b, 1048576: c, 16777216: d }` */
const bySize = (a, b, c, d) => ({ 100: a, [4 * KiB]: b, [MiB]: c, [16 * MiB]: d });

/**
 * Scenario table. `count[mode][size]` is the number of messages (or round trips) of one
 * measurement; the same for every client. Consumers ack the last message too, so counts need not
 * be multiples of `ackEvery`.
 */
export const SCENARIOS = {
  'publish-noconfirm': {
    what: 'publish N messages without confirms; clock stops when the broker reports N messages in the queue',
    sizes: SIZES,
    count: { full: bySize(200_000, 100_000, 1000, 64), quick: bySize(30_000, 20_000, 300, 24) },
  },
  'publish-confirm': {
    what: 'publish N messages in confirm mode, at most confirmWindow(size) unconfirmed (1000; 128 for 1 MiB, 8 for 16 MiB); clock stops at the last confirm',
    sizes: SIZES,
    count: { full: bySize(100_000, 50_000, 1000, 64), quick: bySize(20_000, 10_000, 300, 24) },
  },
  consume: {
    what: 'drain N pre-published messages, prefetch 1000 (10 from 1 MiB), basic.ack(multiple) every 100th (every 5th from 1 MiB)',
    sizes: SIZES,
    ackEvery: (size) => (size >= LARGE ? 5 : 100),
    count: { full: bySize(200_000, 100_000, 1000, 64), quick: bySize(30_000, 20_000, 300, 24) },
  },
  'consume-ack1': {
    what: 'drain N pre-published messages, prefetch 1000 (10 from 1 MiB), one basic.ack per message',
    sizes: SIZES,
    ackEvery: () => 1,
    count: { full: bySize(100_000, 50_000, 1000, 64), quick: bySize(20_000, 10_000, 300, 24) },
  },
  'rpc-1': {
    what: 'request/reply round trips through amq.rabbitmq.reply-to, 1 in flight, TCP_NODELAY on every socket (set by hand for amqplib and cloudamqp)',
    sizes: [100],
    inFlight: 1,
    noDelay: true,
    warmup: { full: 500, quick: 200 },
    maxMs: { full: 10_000, quick: 3000 },
    count: { full: { 100: 5000 }, quick: { 100: 1500 } },
  },
  'rpc-64': {
    what: 'the same with 64 calls in flight',
    sizes: [100],
    inFlight: 64,
    noDelay: true,
    warmup: { full: 2000, quick: 640 },
    maxMs: { full: 10_000, quick: 3000 },
    count: { full: { 100: 30_000 }, quick: { 100: 6400 } },
  },
  rss: {
    what: 'peak RSS of a process publishing N 100-byte messages with confirms (at most 1000 unconfirmed)',
    sizes: [100],
    count: { full: { 100: 1_000_000 }, quick: { 100: 100_000 } },
  },
};

export const SCENARIO_NAMES = Object.keys(SCENARIOS);

/**
 * How many no-confirm publishes a promise-style adapter starts before it awaits one: a bounded
 * amount of data queued in user space (1000 messages, or 4 MiB of bodies if that is fewer).
 */
export function publishBatch(size) {
  return Math.max(1, Math.min(1000, Math.floor((4 * MiB) / Math.max(1, size))));
}

/**
 * Starts `total` operations with `start(i)` (which returns a promise) while keeping at most
 * `limit` of them unsettled. Resolves when all settled; rejects with the first failure.
 */
export async function windowed(total, limit, start) {
  let open = 0;
  let failure = null;
  let wake = null;
  const settled = () => {
    open--;
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const failed = (err) => {
    failure ??= err;
    settled();
  };
  for (let i = 0; i < total; i++) {
    if (open >= limit)
      await new Promise((r) => {
        wake = r;
      });
    if (failure) throw failure;
    open++;
    start(i).then(settled, failed);
  }
  while (open > 0)
    await new Promise((r) => {
      wake = r;
    });
  if (failure) throw failure;
}

/** Polls the queue depth (passive declare) until it equals `n`. */
export async function waitDepth(session, queue, n, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const depth = await session.depth(queue);
    if (depth === n) return;
    if (depth > n) throw new Error(`${queue}: ${depth} messages, expected ${n}`);
    if (Date.now() > until) throw new Error(`${queue}: still ${depth} of ${n} messages after ${timeoutMs} ms`);
    await sleep(3);
  }
}

// ------------------------------------------------------------------ measuring

let brokerPid;
function cpuOfPid(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime; USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}
/**
 * CPU seconds (user+sys) of the local broker, read-only from /proc; null when not visible. Tools
 * such as rabbitmqctl run short-lived beam.smp processes too: the broker is the busiest one.
 */
function brokerCpu() {
  if (brokerPid === undefined) {
    brokerPid = null;
    let most = -1;
    try {
      for (const d of readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        let comm;
        try {
          comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
        } catch {
          continue;
        }
        if (comm !== 'beam.smp') continue;
        const cpu = cpuOfPid(d) ?? -1;
        if (cpu > most) {
          most = cpu;
          brokerPid = d;
        }
      }
    } catch {
      /* no /proc */
    }
  }
  return brokerPid ? cpuOfPid(brokerPid) : null;
}

/** Runs `fn` as the timed section: wall time, this process's CPU, the broker's CPU. */
async function timed(fn) {
  globalThis.gc?.();
  const broker0 = brokerCpu();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const extra = (await fn()) ?? {};
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const broker1 = brokerCpu();
  return {
    seconds,
    cpuUser: cpu.user / 1e6,
    cpuSys: cpu.system / 1e6,
    brokerCpu: broker0 === null || broker1 === null ? null : broker1 - broker0,
    ...extra,
  };
}

const r3 = (x, d = 3) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

function row(base, t, count, size, extra = {}) {
  const cpu = t.cpuUser + t.cpuSys;
  return {
    ...base,
    size,
    count,
    seconds: r3(t.seconds, 4),
    msgsPerSec: r3(count / t.seconds, 1),
    mbPerSec: r3((count * size) / t.seconds / 1e6, 2),
    cpuUser: r3(t.cpuUser),
    cpuSys: r3(t.cpuSys),
    cpuPer100k: r3((cpu / count) * 100_000, 4),
    brokerCpu: r3(t.brokerCpu, 2),
    ...extra,
  };
}

function sortedPercentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

// ------------------------------------------------------------------ round trips

const ECHO_SERVER = fileURLToPath(new URL('./lib/echo-server.mjs', import.meta.url));

/** Starts bench/lib/echo-server.mjs on `queue` in a process of its own; resolves once it consumes. */
export async function startEchoServer(url, queue) {
  const p = spawn(process.execPath, [ECHO_SERVER, url, queue], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => p.on('exit', resolve));
  await new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    exited.then((code) => reject(new Error(`echo server exited with ${code}`)));
  });
  return {
    async stop() {
      p.stdin.end();
      const killer = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Warm-up, then `count` round trips (or until maxMs) with `spec.inFlight` calls in flight; one
 * result row with the latency percentiles of every measured call.
 */
async function roundTrips(client, body, spec, mode, count, base) {
  const size = body.length;
  const call = async () => {
    const got = await client.call(body);
    if (got !== size) throw new Error(`reply of ${got} bytes, expected ${size}`);
  };
  const k = spec.inFlight;
  const warmUntil = Date.now() + spec.maxMs[mode] / 4;
  for (let i = 0; i < spec.warmup[mode] && Date.now() < warmUntil; i += k) await Promise.all(Array.from({ length: k }, call));
  const ms = new Float64Array(count);
  let started = 0;
  let done = 0;
  const t = await timed(async () => {
    const stopAt = Date.now() + spec.maxMs[mode];
    const worker = async () => {
      while (started < count && (started < 20 * k || Date.now() < stopAt)) {
        started++;
        const t0 = process.hrtime.bigint();
        await call();
        ms[done++] = Number(process.hrtime.bigint() - t0) / 1e6;
      }
    };
    await Promise.all(Array.from({ length: k }, worker));
  });
  const lat = ms.subarray(0, done).sort();
  const mean = lat.reduce((a, b) => a + b, 0) / done;
  return row(base, t, done, size, {
    inFlight: k,
    p50ms: r3(sortedPercentile(lat, 50), 4),
    p99ms: r3(sortedPercentile(lat, 99), 4),
    meanms: r3(mean, 4),
    maxms: r3(lat[done - 1], 3),
  });
}

// ------------------------------------------------------------------ one measurement

/**
 * Runs one measurement in this process and returns its result rows.
 * @param {object} o
 * @param {object} o.adapter   a client adapter (bench/clients/*.mjs default export)
 * @param {() => Promise<object>} o.filler  opens the session used to pre-fill consume queues
 * @param {string} o.scenario
 * @param {number} o.size
 * @param {number} o.count
 * @param {'full'|'quick'} o.mode
 * @param {string} o.url
 * @param {(queue: string) => void} [o.announce]  told the queue name before it is declared
 */
export async function runOne({ adapter, filler, scenario, size, count, mode, url, rep = 0, announce }) {
  const spec = SCENARIOS[scenario];
  if (!spec) throw new Error(`unknown scenario ${scenario}`);
  const session = await adapter.open(url, { noDelay: spec.noDelay });
  const queue = `bench.${scenario}.${adapter.name}.${process.pid}.${randomBytes(3).toString('hex')}`;
  announce?.(queue);
  const body = Buffer.alloc(size, 0x2a);
  const base = {
    client: adapter.name,
    library: adapter.library,
    version: adapter.version,
    scenario,
    rep,
    mode,
    frameMax: session.frameMax ?? null,
    noDelay: session.noDelay ?? null,
    node: process.version,
  };
  const rows = [];
  let fill = null;
  let wrongSize = 0;
  const check = (n) => {
    if (n !== size) wrongSize++;
  };
  await session.declare(queue);
  try {
    switch (scenario) {
      case 'publish-noconfirm': {
        const t = await timed(async () => {
          await session.publish(queue, body, count);
          await waitDepth(session, queue, count);
        });
        rows.push(row(base, t, count, size));
        break;
      }
      case 'publish-confirm': {
        const window = confirmWindow(size);
        const t = await timed(() => session.publishConfirmed(queue, body, count, window));
        await waitDepth(session, queue, count, 10_000);
        rows.push(row(base, t, count, size, { window }));
        break;
      }
      case 'consume':
      case 'consume-ack1': {
        fill = await filler();
        await fill.publish(queue, body, count);
        await waitDepth(fill, queue, count);
        await fill.close();
        fill = null;
        const prefetch = prefetchFor(size);
        const ackEvery = spec.ackEvery(size);
        const t = await timed(() => session.consume(queue, count, { prefetch, ackEvery, check }));
        if (wrongSize) throw new Error(`${wrongSize} deliveries had a body of the wrong size`);
        await waitDepth(session, queue, 0, 10_000);
        rows.push(row(base, t, count, size, { prefetch, ackEvery }));
        break;
      }
      case 'rpc-1':
      case 'rpc-64': {
        const server = await startEchoServer(url, queue);
        const client = await session.rpcConnect(queue);
        try {
          rows.push(await roundTrips(client, body, spec, mode, count, base));
        } finally {
          await client.stop();
          await server.stop();
        }
        break;
      }
      case 'rss': {
        const rssBefore = process.memoryUsage.rss();
        let sampledPeak = rssBefore;
        const sampler = setInterval(() => {
          sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
        }, 50);
        const window = confirmWindow(size);
        let t;
        try {
          t = await timed(() => session.publishConfirmed(queue, body, count, window));
        } finally {
          clearInterval(sampler);
        }
        const maxRss = process.resourceUsage().maxRSS * 1024; // kernel high-water mark, KiB -> bytes
        rows.push(
          row(base, t, count, size, {
            window,
            rssStartMB: r3(rssBefore / 1e6, 1),
            rssPeakMB: r3(Math.max(maxRss, sampledPeak) / 1e6, 1),
            heapUsedEndMB: r3(process.memoryUsage().heapUsed / 1e6, 1),
          }),
        );
        break;
      }
      default:
        throw new Error(`scenario ${scenario} has no runner`);
    }
  } finally {
    if (fill) await fill.close().catch(() => {});
    try {
      await session.remove(queue);
    } catch {
      // the library's connection is unusable: delete through a fresh filler session
      const s = await filler().catch(() => null);
      if (s) {
        await s.remove(queue).catch(() => {});
        await s.close().catch(() => {});
      }
    }
    await session.close().catch(() => {});
  }
  return rows;
}
