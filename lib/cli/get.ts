/**
 * `amqpts get <queue>`: fetches up to --count messages with basic.get, prints each (body, or a
 * JSON line with --json) and acks it; --requeue puts them all back at the end, --no-ack takes them
 * without acks. An empty queue is not an error (a note on stderr, exit 0).
 */
import type { Message } from '../core.js';
import { emitMessage } from './consume.js';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';
import { plural } from './format.js';

/** A validated `get` invocation. */
export interface GetPlan {
  /** The queue to fetch from. */
  queue: string;
  /** Fetch up to this many messages. */
  count: number;
  /** Take them without acks. */
  noAck: boolean;
  /** Put them all back at the end. */
  requeue: boolean;
  /** One JSON line per message. */
  json: boolean;
}

/** Checks a get invocation. @throws UsageError for --requeue with --no-ack. */
export function getPlan(queue: string, o: { count: number; ack: boolean; requeue: boolean; json: boolean }): GetPlan {
  if (o.requeue && !o.ack)
    throw new UsageError('--requeue and --no-ack exclude each other: a message taken without ack cannot be put back');
  return { queue, count: o.count, noAck: !o.ack, requeue: o.requeue, json: o.json };
}

/**
 * Runs `get`. Resolves the exit code (0).
 * @throws NotFound (no such queue); AccessRefused; ResourceLocked; the connection's errors; Timeout.
 */
export async function runGet(ctx: CliContext, plan: GetPlan): Promise<number> {
  return ctx.withConnection(async (conn) => {
    const ch = await conn.channel(undefined, ctx.call);
    const held: Message[] = [];
    let got = 0;
    try {
      while (got < plan.count) {
        const msg = await ch.basicGet(plan.queue, { noAck: plan.noAck, ...ctx.call });
        if (!msg) break;
        got++;
        await emitMessage(ctx, msg, plan.queue, plan.json);
        if (plan.requeue) held.push(msg);
        else if (!plan.noAck) msg.ack();
      }
    } finally {
      const last = held.at(-1);
      if (last && ch.isOpen) ch.basicNack(last, { multiple: true, requeue: true });
    }
    if (got === 0) ctx.info(`queue '${plan.queue}' is empty`);
    else if (held.length > 0) ctx.info(`got ${plural(got, 'message')} from '${plan.queue}', all put back`);
    return 0;
  });
}
