/**
 * `perf`'s producers and consumers, each on its own connection and channel. A producer publishes
 * perf bodies to the queue (paced by --rate; with --confirm N at most N unconfirmed, timing each
 * confirm) until its count is done or the run's stop signal fires. A consumer acks (one by one,
 * or every --multi-ack) and times each delivery from the stamp in its body. Any failure is handed
 * to `fail`, which stops the whole run.
 */
import { type Channel, type Connection, Message, PublishNacked } from '../core.js';
import type { CliContext } from './context.js';
import { RateLimiter, Window } from './pacing.js';
import { perfBody, perfStamp, type PerfStats } from './perf-stats.js';

/** What producers and consumers share. */
export interface AgentPlan {
  /** The queue producers publish to (default exchange) and consumers read. */
  queue: string;
  /** Body size in bytes. */
  size: number;
  /** Per producer, messages per second (0: no limit). */
  rate: number;
  /** Per producer, unconfirmed messages at most (0: no confirms). */
  confirm: number;
  /** Per producer, messages to send (undefined: until stopped). */
  count: number | undefined;
  /** Publish with delivery_mode 2. */
  persistent: boolean;
  /** Per consumer basic.qos prefetch count. */
  prefetch: number;
  /** Consumers take messages without acks. */
  noAck: boolean;
  /** Ack every N deliveries with multiple (1: each). */
  multiAck: number;
  /** x-stream-offset for stream consumers (undefined for other queues). */
  streamOffset: string | undefined;
}

/** Shared run control: the stop signal, and a way to stop the run with an error. */
export interface RunControl {
  /** Fires when the run must stop (duration over, Ctrl-C, or a failure). */
  readonly stop: AbortSignal;
  /** Stops the run because of `err` (the first failure wins). */
  fail(err: unknown): void;
}

/**
 * Publishes until the count is done or the run stops; then waits (up to --timeout) for the
 * outstanding confirms. Failures go to `control.fail`; never rejects.
 */
export async function runProducer(
  ctx: CliContext,
  conn: Connection,
  plan: AgentPlan,
  stats: PerfStats,
  control: RunControl,
): Promise<void> {
  let ch: Channel | undefined;
  try {
    ch = await conn.channel(undefined, ctx.call);
    const c = ch;
    if (plan.confirm > 0) await c.confirmSelect(ctx.call);
    const limiter = new RateLimiter(plan.rate);
    const window = new Window(Math.max(1, plan.confirm));
    const props = plan.persistent ? { deliveryMode: 2 } : {};
    const opts = { routingKey: plan.queue, timeout: ctx.global.timeout };
    for (let n = 0; plan.count === undefined || n < plan.count; n++) {
      await limiter.take(control.stop);
      if (plan.confirm > 0) {
        await window.acquire(control.stop);
        const t = performance.now();
        c.basicPublish(new Message(perfBody(plan.size, t), props), opts)
          .then(
            () => {
              stats.confirmed++;
              stats.confirmLatency(performance.now() - t);
            },
            (err: unknown) => {
              if (err instanceof PublishNacked) stats.nacked++;
              else if (!control.stop.aborted) control.fail(err);
            },
          )
          .finally(() => window.release());
      } else {
        await c.basicPublish(new Message(perfBody(plan.size), props), opts);
      }
      stats.sent++;
    }
  } catch (err) {
    if (!control.stop.aborted) control.fail(err);
  }
  if (ch && plan.confirm > 0 && ch.isOpen) await ch.waitForConfirms({ timeout: ctx.global.timeout }).catch(() => undefined);
}

/** A started consumer. */
export interface PerfConsumer {
  /** Cancels it and acks what it holds (up to --timeout); never rejects. */
  cancel(): Promise<void>;
}

/**
 * Starts a consumer on the queue. Its deliveries count into `stats`; a server cancel goes to
 * `control.fail`.
 * @throws the channel's errors while starting (NotFound, AccessRefused, ...), Timeout.
 */
export async function startConsumer(
  ctx: CliContext,
  conn: Connection,
  plan: AgentPlan,
  stats: PerfStats,
  control: RunControl,
): Promise<PerfConsumer> {
  const ch = await conn.channel(undefined, ctx.call);
  if (!plan.noAck) await ch.basicQos({ prefetchCount: plan.prefetch, ...ctx.call });
  let unacked: Message | undefined;
  let pending = 0;
  const tag = await ch.basicConsume(plan.queue, {
    noAck: plan.noAck,
    arguments: plan.streamOffset !== undefined ? { 'x-stream-offset': plan.streamOffset } : {},
    ...ctx.call,
    onCancel: (err) => {
      if (!control.stop.aborted) control.fail(err);
    },
    callback: (msg) => {
      stats.received++;
      const stamp = perfStamp(msg.body);
      if (stamp !== undefined) stats.latency(performance.now() - stamp);
      if (plan.noAck) return;
      if (++pending >= plan.multiAck) {
        msg.ack({ multiple: plan.multiAck > 1 });
        pending = 0;
        unacked = undefined;
      } else unacked = msg;
    },
  });
  return {
    async cancel() {
      if (!ch.isOpen) return;
      await ch.basicCancel(tag, { timeout: ctx.global.timeout }).catch(() => undefined);
      try {
        unacked?.ack({ multiple: true });
      } catch {
        // the channel closed meanwhile: the broker requeues what was unacked
      }
    },
  };
}
