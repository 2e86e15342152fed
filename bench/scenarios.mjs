// Benchmark scenarios: what is measured, with how many messages, and the code that runs one
// measurement inside a child process (bench/run.mjs spawns one child per measurement).
//
// Every scenario talks to a client only through the session object its adapter returns
// (bench/clients/*.mjs); the adapter decides how to use its library (flow control, confirm
// bookkeeping, ack style), the scenario decides what is timed.

import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/**
 * Scenario table. `count[mode][size]` is the number of messages (or round trips) of one
 * measurement; the same for every client. Counts in consume scenarios are multiples of 100 so
 * that "ack multiple every 100" ends exactly on the last message.
 */
export const SCENARIOS = {
  'publish-noconfirm': {
    what: 'publish N messages without confirms; clock stops when the broker reports N messages in the queue',
    sizes: [100, 4 * KiB],
    count: { full: { 100: 200_000, [4 * KiB]: 100_000 }, quick: { 100: 60_000, [4 * KiB]: 30_000 } },
  },
  'publish-confirm': {
    what: 'publish N messages in confirm mode, at most 1000 unconfirmed; clock stops at the last confirm',
    sizes: [100, 4 * KiB],
    window: 1000,
    count: { full: { 100: 100_000, [4 * KiB]: 50_000 }, quick: { 100: 40_000, [4 * KiB]: 20_000 } },
  },
  consume: {
    what: 'drain N pre-published messages, prefetch 1000, basic.ack(multiple) every 100th',
    sizes: [100],
    prefetch: 1000,
    ackEvery: 100,
    count: { full: { 100: 200_000 }, quick: { 100: 60_000 } },
  },
  'consume-ack1': {
    what: 'drain N pre-published messages, prefetch 1000, one basic.ack per message',
    sizes: [100],
    prefetch: 1000,
    ackEvery: 1,
    count: { full: { 100: 100_000 }, quick: { 100: 30_000 } },
  },
  'rpc-default': {
    what: 'sequential request/reply round trips via amq.rabbitmq.reply-to, each library with its default socket options',
    sizes: [100],
    noDelay: undefined,
    // With Nagle on a round trip takes ~40 ms, so this one is bounded by time as well: warm up for
    // warmupMs, then measure until `count` round trips or maxMs, whichever comes first.
    warmup: { full: 500, quick: 200 },
    warmupMs: { full: 1500, quick: 700 },
    maxMs: { full: 8000, quick: 3000 },
    count: { full: { 100: 5000 }, quick: { 100: 2000 } },
  },
  'rpc-nodelay': {
    what: 'the same with TCP_NODELAY on every socket (set by hand where the library has no option or defaults it off)',
    sizes: [100],
    noDelay: true,
    warmup: { full: 500, quick: 200 },
    warmupMs: { full: 1500, quick: 700 },
    maxMs: { full: 8000, quick: 3000 },
    count: { full: { 100: 5000 }, quick: { 100: 2000 } },
  },
  large: {
    what: 'publish N large messages (timed until all are in the queue), then consume them back, prefetch 10, one ack each',
    sizes: [1 * MiB, 16 * MiB],
    prefetch: 10,
    ackEvery: 1,
    count: { full: { [MiB]: 1000, [16 * MiB]: 64 }, quick: { [MiB]: 300, [16 * MiB]: 24 } },
  },
  rss: {
    what: 'peak RSS of a process publishing N 100-byte messages with confirms (at most 1000 unconfirmed)',
    sizes: [100],
    window: 1000,
    count: { full: { 100: 1_000_000 }, quick: { 100: 250_000 } },
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
  const check = (b) => {
    if (b.length !== size) wrongSize++;
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
        const t = await timed(() => session.publishConfirmed(queue, body, count, spec.window));
        await waitDepth(session, queue, count, 10_000);
        rows.push(row(base, t, count, size, { window: spec.window }));
        break;
      }
      case 'consume':
      case 'consume-ack1': {
        fill = await filler();
        await fill.publish(queue, body, count);
        await waitDepth(fill, queue, count);
        await fill.close();
        fill = null;
        const t = await timed(() => session.consume(queue, count, { prefetch: spec.prefetch, ackEvery: spec.ackEvery, check }));
        if (wrongSize) throw new Error(`${wrongSize} deliveries had a body of the wrong size`);
        await waitDepth(session, queue, 0, 10_000);
        rows.push(row(base, t, count, size, { prefetch: spec.prefetch, ackEvery: spec.ackEvery }));
        break;
      }
      case 'rpc-default':
      case 'rpc-nodelay': {
        const server = await session.rpcServe(queue);
        const client = await session.rpcConnect(queue);
        try {
          const warmUntil = Date.now() + spec.warmupMs[mode];
          for (let i = 0; i < spec.warmup[mode] && Date.now() < warmUntil; i++) await client.call(body);
          const ms = new Float64Array(count);
          let done = 0;
          const t = await timed(async () => {
            const stopAt = Date.now() + spec.maxMs[mode];
            while (done < count && (done < 20 || Date.now() < stopAt)) {
              const t0 = process.hrtime.bigint();
              const reply = await client.call(body);
              ms[done++] = Number(process.hrtime.bigint() - t0) / 1e6;
              if (reply.length !== size) throw new Error(`reply of ${reply.length} bytes, expected ${size}`);
            }
          });
          const lat = ms.subarray(0, done).sort();
          const mean = lat.reduce((a, b) => a + b, 0) / done;
          rows.push(
            row(base, t, done, size, {
              p50ms: r3(sortedPercentile(lat, 50), 4),
              p99ms: r3(sortedPercentile(lat, 99), 4),
              meanms: r3(mean, 4),
              maxms: r3(lat[done - 1], 3),
            }),
          );
        } finally {
          await client.stop();
          await server.stop();
        }
        break;
      }
      case 'large': {
        const tp = await timed(async () => {
          await session.publish(queue, body, count);
          await waitDepth(session, queue, count);
        });
        rows.push(row({ ...base, phase: 'publish' }, tp, count, size));
        await sleep(300);
        const tc = await timed(() => session.consume(queue, count, { prefetch: spec.prefetch, ackEvery: spec.ackEvery, check }));
        if (wrongSize) throw new Error(`${wrongSize} deliveries had a body of the wrong size`);
        rows.push(row({ ...base, phase: 'consume' }, tc, count, size, { prefetch: spec.prefetch, ackEvery: spec.ackEvery }));
        break;
      }
      case 'rss': {
        const rssBefore = process.memoryUsage.rss();
        let sampledPeak = rssBefore;
        const sampler = setInterval(() => {
          sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
        }, 50);
        let t;
        try {
          t = await timed(() => session.publishConfirmed(queue, body, count, spec.window));
        } finally {
          clearInterval(sampler);
        }
        const maxRss = process.resourceUsage().maxRSS * 1024; // kernel high-water mark, KiB -> bytes
        rows.push(
          row(base, t, count, size, {
            window: spec.window,
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
