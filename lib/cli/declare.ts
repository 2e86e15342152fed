/**
 * `amqpts declare queue|exchange|binding`: declares one entity and says what the broker answered
 * (or --json). Queues take the typed options of queue-options.ts; --passive only checks that the
 * entity exists (exit 4 if not). Bindings go from an exchange to a queue or to another exchange.
 */
import type { FieldTable, QueueDeclareOptions } from '../core.js';
import type { CliContext } from './context.js';
import { plural } from './format.js';

/** Where a binding leads. */
export type DestinationType = 'queue' | 'exchange';

/** A queue to declare. */
export interface QueuePlan {
  kind: 'queue';
  /** The queue name (`''`: the broker names it). */
  name: string;
  /** Only check that it exists. */
  passive: boolean;
  /** durable, autoDelete and x-arguments (from queue-options.ts). */
  options: QueueDeclareOptions;
  /** Print the result as JSON. */
  json: boolean;
}

/** An exchange to declare. */
export interface ExchangePlan {
  kind: 'exchange';
  /** The exchange name. */
  name: string;
  /** direct, fanout, topic, headers, or a plugin's type. */
  type: string;
  /** Only check that it exists. */
  passive: boolean;
  /** Survive a broker restart. */
  durable: boolean;
  /** Delete it when its last binding goes. */
  autoDelete: boolean;
  /** Only other exchanges may publish to it. */
  internal: boolean;
  /** Exchange arguments (alternate-exchange, ...). */
  arguments: FieldTable;
  /** Print the result as JSON. */
  json: boolean;
}

/** A validated `declare` invocation. */
export type DeclarePlan = QueuePlan | ExchangePlan | BindingPlan;

/** A binding to declare or delete. */
export interface BindingPlan {
  kind: 'binding';
  /** The exchange messages come from. */
  source: string;
  /** The queue or exchange they go to. */
  destination: string;
  /** What the destination is. */
  destinationType: DestinationType;
  /** The binding key. */
  routingKey: string;
  /** Binding arguments (x-match for headers exchanges, ...). */
  arguments: FieldTable;
  /** Print the result as JSON. */
  json: boolean;
}

/** Describes a binding for a person. */
export function bindingText(p: BindingPlan): string {
  return `${p.destinationType} '${p.destination}' to exchange '${p.source}' with routing key '${p.routingKey}'`;
}

/**
 * Runs `declare`. Resolves the exit code (0).
 * @throws PreconditionFailed (exists with other settings); NotFound (--passive, or a binding's
 *   missing end); AccessRefused (e.g. `amq.` names); ResourceLocked; the connection's errors; Timeout.
 */
export async function runDeclare(ctx: CliContext, plan: DeclarePlan): Promise<number> {
  const out = await ctx.withConnection(async (conn) => {
    const ch = await conn.channel(undefined, ctx.call);
    switch (plan.kind) {
      case 'queue': {
        const ok = await ch.queueDeclare(plan.name, { ...plan.options, passive: plan.passive, ...ctx.call });
        const type = String(plan.options.arguments?.['x-queue-type'] ?? 'classic');
        return {
          json: { queue: ok.queue, messageCount: ok.messageCount, consumerCount: ok.consumerCount },
          text: `queue '${ok.queue}' ${plan.passive ? 'exists' : `declared (${type}${plan.options.durable ? ', durable' : ''})`}: ${plural(ok.messageCount, 'message')}, ${plural(ok.consumerCount, 'consumer')}`,
        };
      }
      case 'exchange': {
        const { name, type, passive, durable, autoDelete, internal } = plan;
        await ch.exchangeDeclare(name, type, { passive, durable, autoDelete, internal, arguments: plan.arguments, ...ctx.call });
        return {
          json: { exchange: name, type, durable },
          text: passive ? `exchange '${name}' exists` : `exchange '${name}' declared (${type}${durable ? ', durable' : ''})`,
        };
      }
      case 'binding': {
        const opts = { routingKey: plan.routingKey, arguments: plan.arguments, ...ctx.call };
        if (plan.destinationType === 'queue') await ch.queueBind(plan.destination, { exchange: plan.source, ...opts });
        else await ch.exchangeBind(plan.destination, plan.source, opts);
        return {
          json: { source: plan.source, destination: plan.destination, destinationType: plan.destinationType, routingKey: plan.routingKey },
          text: `bound ${bindingText(plan)}`,
        };
      }
    }
  });
  if (plan.json) ctx.io.stdout.write(`${JSON.stringify(out.json)}\n`);
  else if (!ctx.global.quiet) ctx.io.stdout.write(`${out.text}\n`);
  return 0;
}
