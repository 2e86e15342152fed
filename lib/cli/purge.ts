/** `amqpts purge <queue>`: removes the queue's ready messages and says how many (or --json). */
import type { CliContext } from './context.js';
import { plural } from './format.js';

/** A validated `purge` invocation. */
export interface PurgePlan {
  /** The queue to purge. */
  queue: string;
  /** Print the result as JSON. */
  json: boolean;
}

/**
 * Runs `purge`. Resolves the exit code (0).
 * @throws NotFound (no such queue); ResourceLocked (another connection's exclusive queue);
 *   AccessRefused; the connection's errors; Timeout.
 */
export async function runPurge(ctx: CliContext, plan: PurgePlan): Promise<number> {
  const n = await ctx.withConnection(async (conn) => {
    const ch = await conn.channel(undefined, ctx.call);
    return ch.queuePurge(plan.queue, ctx.call);
  });
  if (plan.json) ctx.io.stdout.write(`${JSON.stringify({ queue: plan.queue, purged: n })}\n`);
  else if (!ctx.global.quiet) ctx.io.stdout.write(`purged ${plural(n, 'message')} from queue '${plan.queue}'\n`);
  return 0;
}
