// Shared per-file scaffolding for the integration tests (not a test file itself):
//  - an unhandled-rejection guard that fails the running test,
//  - connection tracking (every connection is closed in afterEach, so jest exits cleanly),
//  - broker-entity tracking (queues, exchanges, vhosts, users are deleted in afterEach, through a
//    fresh admin connection / rabbitmqctl), plus an afterAll leak check on this worker's names.
import { afterAll, afterEach, beforeAll, expect, jest } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { AMQPError, Connection, type Channel, type ConnectionOptions } from '../lib/index.js';
import { brokerUrl, rabbitmqctl, uniqueName } from './support/broker.js';
import { deleteEntities, runDeferred } from './support/cleanup.js';

/** Prefix of every entity these tests create: `amqpts-it-<what>-<pid>-...`. */
export const PREFIX = 'amqpts-it';

export interface Suite {
  /** A fresh tracked connection to the broker with one channel. */
  open(options?: ConnectionOptions): Promise<{ conn: Connection; ch: Channel }>;
  /** Connects (URL or options as Connection.connect) and closes the connection after the test. */
  connect(urlOrOptions?: string | ConnectionOptions, options?: ConnectionOptions): Promise<Connection>;
  /** Closes `conn` after the test (for connections made some other way). */
  track(conn: Connection): Connection;
  /** A unique entity name (contains this worker's pid, see the leak check). */
  name(what: string): string;
  /** Registers queue `name` for deletion after the test; returns it. */
  queue(name: string): string;
  /** Registers exchange `name` for deletion after the test; returns it. */
  exchange(name: string): string;
  /** Creates a vhost (deleted after the test). */
  vhost(name: string): Promise<string>;
  /** Creates a user (deleted after the test), optionally with permissions on a vhost. */
  user(name: string, password: string, perms?: { vhost: string; configure: string; write: string; read: string }): Promise<string>;
  /** Runs `fn` after the test (before connections close), in reverse registration order. */
  defer(fn: () => unknown): void;
}

/**
 * Installs the hooks of one test file. Call at the top level of the file.
 *
 * Unhandled rejections: jest-circus 30 itself swaps the REAL process' 'unhandledRejection'
 * listeners for its own during a run and fails the owning test (verified: even a rejection from a
 * timer that fires after the test returned fails that test). The `process` a test sees is a
 * sandbox copy whose listeners the real process never calls, so the listener below is a second
 * line of defence for environments that forward the event; both fail the test.
 */
export function suite(): Suite {
  // jest.config.js sets testTimeout on the integration *project*, where Jest 30 ignores it (it is a
  // global-only option), so the 5 s default would apply.
  jest.setTimeout(30_000);
  const conns = new Set<Connection>();
  let queues: string[] = [];
  let exchanges: string[] = [];
  let vhosts: string[] = [];
  let users: string[] = [];
  let deferred: Array<() => unknown> = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(async () => {
    const problems: string[] = [];
    await runDeferred(deferred, problems);
    deferred = [];
    for (const c of conns) await c.close({ timeout: 5000 }).catch(() => undefined);
    conns.clear();
    await deleteEntities(() => Connection.connect(brokerUrl()), queues, exchanges, problems);
    queues = [];
    exchanges = [];
    for (const u of users) await rabbitmqctl('delete_user', u).catch((err: unknown) => problems.push(String(err)));
    for (const v of vhosts) await rabbitmqctl('delete_vhost', v).catch((err: unknown) => problems.push(String(err)));
    users = [];
    vhosts = [];
    await sleep(5); // let late rejections surface before the check
    expect(unhandled.splice(0).map((r) => (r instanceof AMQPError ? `${r.name}: ${r.message}` : String(r)))).toEqual([]);
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    // Leak check: nothing named after this worker may remain.
    const mine = `-${process.pid}-`;
    const left: string[] = [];
    for (const what of ['list_queues', 'list_exchanges', 'list_vhosts', 'list_users']) {
      const out = await rabbitmqctl(what, 'name', '--no-table-headers').catch(() => '');
      for (const line of out.split('\n')) if (line.includes(PREFIX) && line.includes(mine)) left.push(`${what}: ${line.trim()}`);
    }
    expect(left).toEqual([]);
  });

  const connect = async (urlOrOptions?: string | ConnectionOptions, options?: ConnectionOptions): Promise<Connection> => {
    const c = await Connection.connect(urlOrOptions ?? brokerUrl(), options);
    conns.add(c);
    return c;
  };
  return {
    connect,
    async open(options) {
      const conn = await connect(brokerUrl(), options);
      return { conn, ch: await conn.channel() };
    },
    track(conn) {
      conns.add(conn);
      return conn;
    },
    name: (what) => uniqueName(`${PREFIX}-${what}`),
    queue(name) {
      queues.push(name);
      return name;
    },
    exchange(name) {
      exchanges.push(name);
      return name;
    },
    async vhost(name) {
      await rabbitmqctl('add_vhost', name);
      vhosts.push(name);
      return name;
    },
    async user(name, password, perms) {
      await rabbitmqctl('add_user', name, password);
      users.push(name);
      if (perms) await rabbitmqctl('set_permissions', '-p', perms.vhost, name, perms.configure, perms.write, perms.read);
      return name;
    },
    defer(fn) {
      deferred.push(fn);
    },
  };
}

/** Awaits `p` expecting a rejection; returns the error (fails if it resolved). */
export async function rejectionOf(p: Promise<unknown>): Promise<AMQPError> {
  try {
    await p;
  } catch (err) {
    return err as AMQPError;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Polls `fn` until it returns a truthy value (or times out). */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A private queue (exclusive, server-named: it goes away with its connection). */
export async function privateQueue(ch: Channel): Promise<string> {
  return (await ch.queueDeclare('', { exclusive: true })).queue;
}

/** Drains `queue` with basicGet (noAck); the bodies as strings, in order. */
export async function bodies(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (let m = await ch.basicGet(queue, { noAck: true }); m; m = await ch.basicGet(queue, { noAck: true })) out.push(String(m.body));
  return out;
}

/**
 * Waits until a passive declare reports `want` ready messages. Needed even right after publishing
 * on the same channel: RabbitMQ's queue process prioritises the `stat` call over queued deliveries.
 */
export async function expectCount(ch: Channel, queue: string, want: number): Promise<void> {
  let last = -1;
  try {
    await eventually(async () => (last = (await ch.queueDeclare(queue, { passive: true })).messageCount) === want, { timeoutMs: 5000 });
  } catch {
    expect(last).toBe(want);
  }
}
