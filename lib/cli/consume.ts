/**
 * `amqpts consume <queue>`: prints each delivery (its body, or with --json one JSON line with
 * properties and headers) and acks it once printed. --count stops after N, --idle-timeout after a
 * quiet spell, Ctrl-C at once (exit 130); in every case the consumer is cancelled, unprinted
 * deliveries are requeued and the connection is closed. --requeue looks without taking: the
 * messages are held unacked and all put back at the end. --no-ack lets the broker forget messages
 * as it sends them; with --count it is emulated with immediate acks, so none beyond the count is lost.
 */
import type { FieldTable, FieldValue, Message } from '../core.js';
import type { CliContext } from './context.js';
import { interruption, UsageError } from './errors.js';
import { messageRecord, plainBody, plural } from './format.js';
import { writeOut } from './io.js';
import { LiveLine } from './progress.js';

/** A validated `consume` invocation. */
export interface ConsumePlan {
  /** The queue to consume from. */
  queue: string;
  /** Stop after this many messages. */
  count: number | undefined;
  /** basic.qos prefetch count. */
  prefetch: number;
  /** Broker-side auto-ack (emulated when count is set). */
  noAck: boolean;
  /** Hold every message and requeue them all at the end. */
  requeue: boolean;
  /** One JSON line per message. */
  json: boolean;
  /** x-stream-offset, for streams. */
  offset: FieldValue | undefined;
  /** Stop after this many ms without a message. */
  idleTimeout: number | undefined;
}

/**
 * Checks a consume invocation.
 * @throws UsageError for --requeue with --no-ack, --offset with --no-ack (streams need acks), or
 *   --requeue with neither --count nor a prefetch to bound what it holds.
 */
export function consumePlan(
  queue: string,
  o: {
    count?: number | undefined;
    prefetch: number;
    ack: boolean;
    requeue: boolean;
    json: boolean;
    offset?: FieldValue | undefined;
    idleTimeout?: number | undefined;
  },
): ConsumePlan {
  if (o.requeue && !o.ack)
    throw new UsageError('--requeue and --no-ack exclude each other: a message taken without ack cannot be put back');
  if (o.offset !== undefined && !o.ack) throw new UsageError('--offset is for streams, which need acks: drop --no-ack');
  if (o.requeue && o.count === undefined && o.prefetch === 0) {
    throw new UsageError('--requeue holds every message it shows: give --count, or a --prefetch above 0, to bound them');
  }
  return {
    queue,
    count: o.count,
    prefetch: o.prefetch,
    noAck: !o.ack,
    requeue: o.requeue,
    json: o.json,
    offset: o.offset,
    idleTimeout: o.idleTimeout,
  };
}

/** Prints one message to stdout (plain body or a JSON line); resolves when stdout can take more. */
export async function emitMessage(ctx: CliContext, msg: Message, queue: string, json: boolean): Promise<void> {
  await writeOut(ctx.io.stdout, json ? `${JSON.stringify(messageRecord(msg, queue))}\n` : plainBody(msg));
}

/**
 * Runs `consume`. Resolves the exit code: 0, or 130 after Ctrl-C.
 * @throws NotFound (no such queue); AccessRefused; ResourceLocked (exclusive queue);
 *   ConsumerCancelled (queue deleted while consuming); the connection's errors; Timeout.
 */
export async function runConsume(ctx: CliContext, plan: ConsumePlan): Promise<number> {
  // with --requeue every message stays unacked, so the prefetch window must hold them all
  const limit = plan.requeue ? (plan.count ?? plan.prefetch) : plan.count;
  const brokerNoAck = plan.noAck && limit === undefined;
  const prefetch = limit !== undefined ? Math.min(plan.prefetch || limit, limit) : plan.prefetch;
  return ctx.withConnection(async (conn) => {
    const ch = await conn.channel(undefined, ctx.call);
    if (!brokerNoAck) await ch.basicQos({ prefetchCount: prefetch, ...ctx.call });
    const held: Message[] = [];
    let received = 0;
    let finished = false;
    let idle: NodeJS.Timeout | undefined;
    let finish: (err?: unknown) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      finish = (err) => {
        if (finished) return;
        finished = true;
        if (idle) clearTimeout(idle);
        if (err === undefined) resolve();
        else reject(err);
      };
    });
    done.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    const armIdle = (): void => {
      if (plan.idleTimeout === undefined || finished) return;
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => finish(), plan.idleTimeout);
    };
    const onAbort = (): void => finish(ctx.io.signal.reason);
    ctx.io.signal.addEventListener('abort', onAbort, { once: true });
    const live = new LiveLine(ctx.io.stderr, { total: limit, disabled: ctx.global.quiet || ctx.io.stdout.isTTY === true });
    const args: FieldTable = plan.offset !== undefined ? { 'x-stream-offset': plan.offset } : {};
    let tag: string | undefined;
    try {
      armIdle();
      tag = await ch.basicConsume(plan.queue, {
        noAck: brokerNoAck,
        arguments: args,
        concurrency: 1,
        ...ctx.call,
        onCancel: (err) => finish(err),
        callback: async (msg) => {
          if (finished && !brokerNoAck) {
            msg.reject({ requeue: true }); // arrived after the end: back to the queue
            return;
          }
          received++;
          armIdle();
          if (plan.noAck && !brokerNoAck) msg.ack(); // emulated no-ack: taken before printing
          await emitMessage(ctx, msg, plan.queue, plan.json);
          if (plan.requeue) held.push(msg);
          else if (!plan.noAck) msg.ack();
          live.update(received, `${plural(received, 'message')} received`);
          if (limit !== undefined && received >= limit) finish();
        },
      });
      await done;
    } catch (err) {
      finish(err);
      if (!interruption(err)) throw err;
    } finally {
      finish();
      ctx.io.signal.removeEventListener('abort', onAbort);
      live.stop();
      const close = { timeout: ctx.global.timeout };
      if (tag !== undefined && ch.isOpen) await ch.basicCancel(tag, close).catch(() => undefined);
      const last = held.at(-1);
      if (last && ch.isOpen) {
        try {
          ch.basicNack(last, { multiple: true, requeue: true });
        } catch {
          // the channel went away: the broker requeues unacked messages by itself
        }
      }
      if (tag !== undefined) {
        ctx.info(`consumed ${plural(received, 'message')} from '${plan.queue}'${held.length > 0 ? `, ${held.length} put back` : ''}`);
      }
    }
    return ctx.endCode();
  });
}
