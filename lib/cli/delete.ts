/**
 * `amqpts delete queue|exchange|binding`: deletes one entity. AMQP's delete of a missing queue or
 * exchange quietly succeeds; the CLI checks first (a passive declare) so a typo exits 4 (NotFound)
 * instead of reporting a deletion that did not happen.
 */
import type { CliContext } from './context.js';
import { type BindingPlan, bindingText } from './declare.js';
import { plural } from './format.js';

/** A queue or an exchange to delete. */
export interface EntityDeletePlan {
  kind: 'queue' | 'exchange';
  /** Its name. */
  name: string;
  /** Only if it has no consumers (queue) or bindings (exchange). */
  ifUnused: boolean;
  /** Queues only: only if it has no messages. */
  ifEmpty?: boolean;
  /** Print the result as JSON. */
  json: boolean;
}

/** A validated `delete` invocation. */
export type DeletePlan = EntityDeletePlan | BindingPlan;

/**
 * Runs `delete`. Resolves the exit code (0).
 * @throws NotFound (no such queue or exchange); PreconditionFailed (--if-unused / --if-empty do
 *   not hold); ResourceLocked; AccessRefused; the connection's errors; Timeout.
 */
export async function runDelete(ctx: CliContext, plan: DeletePlan): Promise<number> {
  const out = await ctx.withConnection(async (conn) => {
    const ch = await conn.channel(undefined, ctx.call);
    switch (plan.kind) {
      case 'queue': {
        await ch.queueDeclare(plan.name, { passive: true, ...ctx.call });
        const n = await ch.queueDelete(plan.name, { ifUnused: plan.ifUnused, ifEmpty: plan.ifEmpty ?? false, ...ctx.call });
        return {
          json: { queue: plan.name, deleted: true, messageCount: n },
          text: `deleted queue '${plan.name}' (${plural(n, 'message')})`,
        };
      }
      case 'exchange': {
        await ch.exchangeDeclare(plan.name, 'direct', { passive: true, ...ctx.call });
        await ch.exchangeDelete(plan.name, { ifUnused: plan.ifUnused, ...ctx.call });
        return { json: { exchange: plan.name, deleted: true }, text: `deleted exchange '${plan.name}'` };
      }
      case 'binding': {
        const opts = { routingKey: plan.routingKey, arguments: plan.arguments, ...ctx.call };
        if (plan.destinationType === 'queue') await ch.queueUnbind(plan.destination, { exchange: plan.source, ...opts });
        else await ch.exchangeUnbind(plan.destination, plan.source, opts);
        return {
          json: {
            source: plan.source,
            destination: plan.destination,
            destinationType: plan.destinationType,
            routingKey: plan.routingKey,
            deleted: true,
          },
          text: `unbound ${bindingText(plan)}`,
        };
      }
    }
  });
  if (plan.json) ctx.io.stdout.write(`${JSON.stringify(out.json)}\n`);
  else if (!ctx.global.quiet) ctx.io.stdout.write(`${out.text}\n`);
  return 0;
}
