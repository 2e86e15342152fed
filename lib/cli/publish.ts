/**
 * `amqpts publish`: publishes a body (an argument, --file, or stdin; --lines makes each line a
 * message) --count times, optionally paced (--rate) and confirmed (--confirm; --mandatory implies
 * it, since only a confirm tells that a message was not returned). Without --confirm a final round
 * trip still reports an unknown exchange. Prints a summary (or --json) on stdout.
 */
import { readFile } from 'node:fs/promises';
import { type BasicProperties, Message, NoRoute } from '../core.js';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';
import { plural } from './format.js';
import type { CliIo } from './io.js';
import { RateLimiter, Window } from './pacing.js';
import { LiveLine } from './progress.js';

/** Where the body comes from: the argument's text, a file, or stdin. */
export type BodySource = { kind: 'arg'; text: string } | { kind: 'file'; path: string } | { kind: 'stdin' };

/** A validated `publish` invocation. */
export interface PublishPlan {
  /** Exchange to publish to (`''`: the default exchange). */
  exchange: string;
  /** Routing key. */
  routingKey: string;
  /** Message properties, with the headers in `applicationHeaders`. */
  properties: BasicProperties;
  /** Where the body comes from. */
  body: BodySource;
  /** Each line of the body is one message. */
  lines: boolean;
  /** How many times each body is published. */
  count: number;
  /** Messages per second (0: no limit). */
  rate: number;
  /** Wait for publisher confirms. */
  confirm: boolean;
  /** Ask the broker to return unroutable messages (implies confirm). */
  mandatory: boolean;
  /** Print the summary as JSON. */
  json: boolean;
}

/** Unconfirmed publishes allowed at once with --confirm. */
const CONFIRM_WINDOW = 1000;

/**
 * Checks a publish invocation.
 * @throws UsageError when both a body argument and --file are given, or stdin is a terminal and no
 *   body is given.
 */
export function publishPlan(
  body: string | undefined,
  o: {
    exchange: string;
    routingKey: string;
    properties: BasicProperties;
    file?: string | undefined;
    lines: boolean;
    count: number;
    rate: number;
    confirm: boolean;
    mandatory: boolean;
    json: boolean;
  },
  stdinIsTTY: boolean,
): PublishPlan {
  if (body !== undefined && o.file !== undefined) throw new UsageError('give the body as an argument or with --file, not both');
  const source: BodySource =
    body !== undefined ? { kind: 'arg', text: body } : o.file !== undefined ? { kind: 'file', path: o.file } : { kind: 'stdin' };
  if (source.kind === 'stdin' && stdinIsTTY)
    throw new UsageError('no message body: give it as an argument, with --file, or on stdin (a pipe)');
  return {
    exchange: o.exchange,
    routingKey: o.routingKey,
    properties: o.properties,
    body: source,
    lines: o.lines,
    count: o.count,
    rate: o.rate,
    confirm: o.confirm || o.mandatory,
    mandatory: o.mandatory,
    json: o.json,
  };
}

async function readStdin(io: CliIo): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stop = new Promise<never>((_, reject) => {
    io.signal.addEventListener('abort', () => reject(io.signal.reason), { once: true });
  });
  stop.catch(() => undefined);
  const read = (async () => {
    for await (const c of io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  })();
  await Promise.race([read, stop]);
  return Buffer.concat(chunks);
}

/** The message bodies of a plan. @throws UsageError when --file cannot be read. */
export async function readBodies(io: CliIo, plan: PublishPlan): Promise<Buffer[]> {
  let data: Buffer;
  if (plan.body.kind === 'arg') data = Buffer.from(plan.body.text, 'utf8');
  else if (plan.body.kind === 'file') {
    try {
      data = await readFile(plan.body.path);
    } catch (err) {
      throw new UsageError(`--file: cannot read '${plan.body.path}': ${(err as Error).message}`);
    }
  } else data = await readStdin(io);
  if (!plan.lines) return [data];
  const text = data.toString('utf8');
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.length > 0)
    .map((l) => Buffer.from(l, 'utf8'));
}

function where(plan: PublishPlan): string {
  return `exchange '${plan.exchange}' with routing key '${plan.routingKey}'`;
}

/**
 * Runs `publish`. Resolves the exit code (0).
 * @throws UsageError (unreadable file); NotFound (unknown exchange); NoRoute (returned, with
 *   --mandatory); PublishNacked; AccessRefused; the connection's errors; Timeout; Interrupted.
 */
export async function runPublish(ctx: CliContext, plan: PublishPlan): Promise<number> {
  const bodies = await readBodies(ctx.io, plan);
  const total = bodies.length * plan.count;
  if (total === 0) {
    ctx.info('nothing to publish (the input has no lines)');
    return 0;
  }
  return ctx.withConnection(async (conn) => {
    const ch = await conn.channel(undefined, ctx.call);
    if (plan.confirm) await ch.confirmSelect(ctx.call);
    const limiter = new RateLimiter(plan.rate);
    const window = new Window(CONFIRM_WINDOW);
    const live = new LiveLine(ctx.io.stderr, { total, disabled: ctx.global.quiet || total < 100 });
    const opts = { exchange: plan.exchange, routingKey: plan.routingKey, mandatory: plan.mandatory, ...ctx.call };
    let published = 0;
    let confirmed = 0;
    let failure: unknown;
    const started = performance.now();
    try {
      for (let round = 0; round < plan.count && failure === undefined; round++) {
        for (const body of bodies) {
          await limiter.take(ctx.io.signal);
          const msg = new Message(body, plan.properties);
          if (plan.confirm) {
            await window.acquire(ctx.io.signal);
            if (failure !== undefined) break;
            ch.basicPublish(msg, opts)
              .then(
                () => void confirmed++,
                (err: unknown) => void (failure ??= err),
              )
              .finally(() => window.release());
          } else {
            await ch.basicPublish(msg, opts);
          }
          published++;
          live.update(published, `${published}/${total} published`);
        }
      }
      // wait for the last confirms (each publish has its own timeout), or surface a channel error
      if (plan.confirm) for (let i = 0; i < CONFIRM_WINDOW; i++) await window.acquire(ctx.io.signal);
      else await ch.basicQos({ prefetchCount: 0, ...ctx.call });
    } catch (err) {
      failure ??= err;
    } finally {
      live.stop();
    }
    if (failure !== undefined) {
      if (total > 1) {
        ctx.info(
          `amqpts: published ${published} of ${plural(total, 'message')}${plan.confirm ? `, ${confirmed} confirmed` : ''} before the error`,
        );
      }
      if (failure instanceof NoRoute) {
        throw new NoRoute(`the message was returned: no queue is bound to ${where(plan)}`, {
          replyCode: 312,
          replyText: `NO_ROUTE - no queue is bound to ${where(plan)}`,
        });
      }
      throw failure;
    }
    const seconds = (performance.now() - started) / 1000;
    if (plan.json) {
      const out = { published, confirmed: plan.confirm ? confirmed : null, exchange: plan.exchange, routingKey: plan.routingKey, seconds };
      ctx.io.stdout.write(`${JSON.stringify(out)}\n`);
    } else if (!ctx.global.quiet) {
      ctx.io.stdout.write(`published ${plural(published, 'message')} to ${where(plan)}${plan.confirm ? `, ${confirmed} confirmed` : ''}\n`);
    }
    return 0;
  });
}
