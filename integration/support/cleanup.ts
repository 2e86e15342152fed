// The cleanup steps both suite harnesses (integration/harness.ts, cluster/support/cluster-harness.ts)
// run after each test; each failure is recorded in `problems`, never thrown, so every step runs.
import type { Connection } from '../../lib/index.js';

/** Runs the deferred cleanups, last registered first. */
export async function runDeferred(fns: Array<() => unknown>, problems: string[]): Promise<void> {
  for (const fn of [...fns].reverse()) {
    try {
      await fn();
    } catch (err) {
      problems.push(`deferred cleanup: ${String(err)}`);
    }
  }
}

/** Deletes the queues and exchanges a test declared, on a connection of its own. */
export async function deleteEntities(
  connect: () => Promise<Connection>,
  queues: readonly string[],
  exchanges: readonly string[],
  problems: string[],
): Promise<void> {
  if (queues.length === 0 && exchanges.length === 0) return;
  const admin = await connect();
  try {
    const ch = await admin.channel();
    for (const q of queues) await ch.queueDelete(q).catch((err: unknown) => problems.push(`queueDelete ${q}: ${String(err)}`));
    for (const x of exchanges) await ch.exchangeDelete(x).catch((err: unknown) => problems.push(`exchangeDelete ${x}: ${String(err)}`));
  } finally {
    await admin.close();
  }
}
