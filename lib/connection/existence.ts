/**
 * Existence checks that never close the caller's channel: a passive declare runs on a short-lived
 * channel of its own, and a missing queue or exchange comes back as an `Err` value (the broker's
 * 404 closed only that scratch channel). Any other failure (no permission, a timeout, the
 * connection going away) rejects as usual.
 */
import { Err, Ok, type Result } from 'ts-results-es';
import type { Channel } from '../channel/channel.js';
import type { QueueDeclareOk } from '../channel/options.js';
import { NotFound } from '../errors.js';
import type { CallOptions } from '../util/wait.js';

/** Runs `check` on a scratch channel; NotFound becomes `Err`, the channel is closed in any case. */
async function onScratch<T>(
  open: () => Promise<Channel>,
  check: (ch: Channel) => Promise<T>,
  opts: CallOptions,
): Promise<Result<T, NotFound>> {
  const ch = await open();
  try {
    return Ok(await check(ch));
  } catch (err) {
    if (err instanceof NotFound) return Err(err);
    throw err;
  } finally {
    await ch.close(opts).catch(() => undefined);
  }
}

/** See `Connection.checkQueue`. */
export function checkQueue(open: () => Promise<Channel>, queue: string, opts: CallOptions): Promise<Result<QueueDeclareOk, NotFound>> {
  return onScratch(open, (ch) => ch.queueDeclare(queue, { ...opts, passive: true }), opts);
}

/** See `Connection.checkExchange`. */
export function checkExchange(open: () => Promise<Channel>, exchange: string, opts: CallOptions): Promise<Result<void, NotFound>> {
  return onScratch(open, (ch) => ch.exchangeDeclare(exchange, 'direct', { ...opts, passive: true }), opts);
}
