/**
 * `amqpts perf`: a PerfTest-like load generator. It declares a queue (classic, quorum or stream;
 * or uses --queue), starts the consumers, then the producers, and runs for --duration or until
 * each producer sent --count (and the consumers got them all). A live line shows send and receive
 * rates and confirm and end-to-end latency percentiles (redrawn in place on a terminal, one plain
 * line per --interval in a pipe); a final table or --json follows. It deletes the queue if it
 * created it. Ctrl-C ends the run cleanly: final table, queue deleted, connections closed, exit 130.
 */
import { randomBytes } from 'node:crypto';
import { type Connection, NotFound } from '../core.js';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';
import { type AgentPlan, type PerfConsumer, type RunControl, runProducer, startConsumer } from './perf-agents.js';
import { PerfStats, perfJson, perfTable } from './perf-stats.js';
import { LiveLine } from './progress.js';
import { type QueueType, queueDeclareOptions } from './queue-options.js';

/** A validated `perf` invocation. */
export interface PerfPlan extends AgentPlan {
  /** Producers, one connection each. */
  producers: number;
  /** Consumers, one connection each. */
  consumers: number;
  /** Run this long (ms); undefined with --count alone. */
  durationMs: number | undefined;
  /** The type of the queue perf creates. */
  queueType: QueueType;
  /** True when --queue named the queue (it is then kept if it existed). */
  namedQueue: boolean;
  /** Live line / plain line interval (ms). */
  intervalMs: number;
  /** Print the result as JSON instead of a table. */
  json: boolean;
}

/** The default run length when neither --duration nor --count is given. */
export const DEFAULT_PERF_DURATION = 10_000;

/** The options `perf` reads, as commander gives them (see `amqpts perf --help` for each). */
export interface PerfOptions {
  /** --producers. */
  producers: number;
  /** --consumers. */
  consumers: number;
  /** --size (bytes). */
  size: number;
  /** --rate (per producer, msg/s). */
  rate: number;
  /** --confirm (window per producer). */
  confirm: number;
  /** --duration (ms). */
  duration?: number | undefined;
  /** --count (per producer). */
  count?: number | undefined;
  /** --queue-type. */
  queueType: QueueType;
  /** --queue. */
  queue?: string | undefined;
  /** --prefetch. */
  prefetch: number;
  /** false with --no-ack. */
  ack: boolean;
  /** --multi-ack. */
  multiAck: number;
  /** --persistent. */
  persistent: boolean;
  /** --interval (ms). */
  interval: number;
  /** --json. */
  json: boolean;
}

/**
 * Checks a perf invocation.
 * @throws UsageError for no producers and no consumers, --count without producers, --no-ack on a
 *   stream, a stream without prefetch, or --multi-ack above --prefetch.
 */
export function perfPlan(o: PerfOptions): PerfPlan {
  if (o.producers === 0 && o.consumers === 0) throw new UsageError('nothing to do: --producers and --consumers are both 0');
  if (o.count !== undefined && o.producers === 0) throw new UsageError('--count is per producer: it needs --producers of 1 or more');
  if (o.queueType === 'stream' && !o.ack) throw new UsageError('stream consumers need acks: drop --no-ack');
  if (o.queueType === 'stream' && o.prefetch === 0) throw new UsageError('stream consumers need a --prefetch above 0');
  if (o.ack && o.prefetch > 0 && o.multiAck > o.prefetch)
    throw new UsageError(`--multi-ack ${o.multiAck} can never fill a --prefetch of ${o.prefetch}`);
  const durationMs = o.duration ?? (o.count === undefined ? DEFAULT_PERF_DURATION : undefined);
  return {
    producers: o.producers,
    consumers: o.consumers,
    durationMs,
    queueType: o.queueType,
    queue: o.queue ?? `amqpts-perf-${randomBytes(4).toString('hex')}`,
    namedQueue: o.queue !== undefined,
    size: o.size,
    rate: o.rate,
    confirm: o.confirm,
    count: o.count,
    persistent: o.persistent,
    prefetch: o.prefetch,
    noAck: !o.ack,
    multiAck: o.multiAck,
    streamOffset: o.queueType === 'stream' ? 'next' : undefined,
    intervalMs: o.interval,
    json: o.json,
  };
}

/** Declares the queue unless --queue names one that exists; true when this run created it. */
async function setUpQueue(ctx: CliContext, admin: Connection, plan: PerfPlan): Promise<boolean> {
  const ch = await admin.channel(undefined, ctx.call);
  if (plan.namedQueue) {
    try {
      await ch.queueDeclare(plan.queue, { passive: true, ...ctx.call });
      return false;
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
  }
  await ch.queueDeclare(plan.queue, { ...queueDeclareOptions({ type: plan.queueType }), ...ctx.call });
  return true;
}

/** Resolves when `cond()` holds, or when nothing changes in `progress()` for `idleMs`, or on `stop`. */
async function settle(cond: () => boolean, progress: () => number, idleMs: number, stop: AbortSignal): Promise<void> {
  let last = progress();
  let since = performance.now();
  while (!cond() && !stop.aborted) {
    await new Promise((r) => setTimeout(r, 20));
    const p = progress();
    if (p !== last) [last, since] = [p, performance.now()];
    else if (performance.now() - since > idleMs) return;
  }
}

/**
 * Runs `perf`. Resolves the exit code: 0, or 130 after Ctrl-C (the table is printed either way).
 * @throws the first failure of any producer or consumer (connection lost, NotFound, AccessRefused,
 *   PreconditionFailed for a --queue of another type, Timeout...), after cleaning up.
 */
export async function runPerf(ctx: CliContext, plan: PerfPlan): Promise<number> {
  const stop = new AbortController();
  let failure: unknown;
  const control: RunControl = {
    stop: stop.signal,
    fail: (err) => {
      failure ??= err;
      stop.abort(err);
    },
  };
  const onInterrupt = (): void => stop.abort(ctx.io.signal.reason);
  ctx.io.signal.addEventListener('abort', onInterrupt, { once: true });
  const conns: Connection[] = [];
  const consumers: PerfConsumer[] = [];
  const stats = new PerfStats();
  const live = new LiveLine(ctx.io.stderr, {
    total: plan.durationMs ?? (plan.count ?? 0) * plan.producers,
    plain: true,
    disabled: ctx.global.quiet,
  });
  let ticker: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let admin: Connection | undefined;
  let created = false;
  let started = false;
  const progress = (): number => (plan.durationMs !== undefined ? stats.elapsed() : plan.consumers > 0 ? stats.received : stats.sent);
  try {
    admin = await ctx.connect('perf');
    conns.push(admin);
    created = await setUpQueue(ctx, admin, plan);
    for (let i = 0; i < plan.consumers; i++) {
      const c = await ctx.connect(`perf consumer ${i + 1}`);
      conns.push(c);
      consumers.push(await startConsumer(ctx, c, plan, stats, control));
    }
    const producerConns: Connection[] = [];
    for (let i = 0; i < plan.producers; i++) {
      const c = await ctx.connect(`perf producer ${i + 1}`);
      conns.push(c);
      producerConns.push(c);
    }
    ctx.io.signal.throwIfAborted();
    stats.restart();
    started = true;
    ticker = setInterval(() => live.update(progress(), stats.status()), plan.intervalMs);
    if (plan.durationMs !== undefined) timer = setTimeout(() => stop.abort(), plan.durationMs);
    const producing = producerConns.map((c) => runProducer(ctx, c, plan, stats, control));
    await Promise.all(producing);
    if (plan.durationMs === undefined && plan.consumers > 0) {
      // --count: wait until the consumers have everything, or nothing arrives for --timeout
      await settle(
        () => stats.received >= stats.sent - stats.nacked,
        () => stats.received,
        ctx.global.timeout,
        stop.signal,
      );
    } else if (plan.producers === 0) {
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } catch (err) {
    failure ??= err;
  } finally {
    clearInterval(ticker);
    clearTimeout(timer);
    ctx.io.signal.removeEventListener('abort', onInterrupt);
    if (!stop.signal.aborted) stop.abort();
    if (started) live.update(progress(), stats.status()); // the bar ends where the run did
    live.stop();
    for (const c of consumers) await c.cancel();
    const result = stats.result(
      {
        producers: plan.producers,
        consumers: plan.consumers,
        size: plan.size,
        queue: plan.queue,
        queueType: plan.queueType,
        confirm: plan.confirm,
        rate: plan.rate,
      },
      ctx.io.signal.aborted,
    );
    if (started) ctx.io.stdout.write(plan.json ? `${perfJson(result)}\n` : `\n${perfTable(result)}`);
    if (created && admin?.isAlive()) {
      const ch = await admin.channel(undefined, { timeout: ctx.global.timeout }).catch(() => undefined);
      await ch?.queueDelete(plan.queue, { timeout: ctx.global.timeout }).then(
        () => ctx.debug(`deleted queue '${plan.queue}'`),
        (err: unknown) => ctx.info(`amqpts: could not delete queue '${plan.queue}': ${String(err)}`),
      );
    }
    for (const c of conns.reverse()) await c.close({ timeout: ctx.global.timeout }).catch(() => undefined);
  }
  const code = ctx.endCode();
  if (failure !== undefined && code === 0) throw failure;
  return code;
}
