// Per-file scaffolding of the cluster tests (integration/cluster/*.test.ts), after harness.ts:
//  - one cluster test file runs at a time (a lock across jest workers): the fault scenarios stop
//    nodes, which must not happen under another file's feet;
//  - every connection is closed after each test, every queue/exchange it registered deleted (through
//    any running node), every node that a test left stopped started again;
//  - unhandled rejections fail the test; afterAll checks that no entity of this worker is left.
import { afterAll, afterEach, beforeAll, expect, jest } from '@jest/globals';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AMQPError, Connection, type ConnectionOptions } from '../../../lib/index.js';
import { clusterNodes, ctl, startNode } from '../../../scripts/cluster.mjs';
import { probeHandshake } from '../../../scripts/ensure-broker.mjs';
import { uniqueName } from '../../support/broker.js';
import { deleteEntities, runDeferred } from '../../support/cleanup.js';

/** Prefix of every entity the cluster tests create. */
export const PREFIX = 'amqpts-it-cluster';

/** The nodes' AMQP URLs, node 1 first (from the project's globalSetup, else the script's defaults). */
export const URLS: string[] = (process.env['AMQPTS_CLUSTER_URLS'] ?? clusterNodes().map((n) => n.url)).toString().split(' ');

/** Node names, in URL order. */
export const NODES: string[] = clusterNodes().map((n) => n.name);

/** The URLs starting with node `first` (then the others in order): a connection starts on `first`. */
export function urlsFrom(first: number): string[] {
  return [...URLS.slice(first), ...URLS.slice(0, first)];
}

/** Node index of a node name. */
export function nodeIndex(name: string): number {
  const i = NODES.indexOf(name);
  if (i < 0) throw new Error(`not a cluster node: ${name}`);
  return i;
}

export interface ClusterSuite {
  /**
   * A tracked connection starting on node `first` with all URLs for failover (closed after the
   * test); calls time out after 15 s (not 60), so a recovery step a restarting node leaves
   * hanging moves on to the next node sooner.
   */
  connect(first: number, options?: ConnectionOptions): Promise<Connection>;
  /** A unique entity name (contains this worker's pid, see the leak check). */
  name(what: string): string;
  /** Registers queue `name` for deletion after the test; returns it. */
  queue(name: string): string;
  /** Registers exchange `name` for deletion after the test; returns it. */
  exchange(name: string): string;
  /** Runs `fn` after the test (before connections close), in reverse registration order. */
  defer(fn: () => unknown): void;
}

const LOCK = join(tmpdir(), 'amqpts-cluster-tests.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
      } catch {
        /* being created */
      }
      if (owner && !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`cluster tests: lock ${LOCK} held by pid ${owner} for over ${timeoutMs} ms`);
      await sleep(200);
    }
  }
}

/** Starts every node that does not answer a handshake (a test stopped it and failed before restarting it). */
export async function ensureAllNodesUp(): Promise<void> {
  const nodes = clusterNodes();
  const up = await Promise.all(nodes.map((n) => probeHandshake('127.0.0.1', n.port, { timeoutMs: 1000 })));
  for (const [i, n] of nodes.entries()) if (!up[i]) await startNode(n.index);
}

/** A node that answers now (for rabbitmqctl). */
export async function someRunningNode(): Promise<number> {
  for (const n of clusterNodes()) if (await probeHandshake('127.0.0.1', n.port, { timeoutMs: 1000 })) return n.index;
  throw new Error('no cluster node answers');
}

/** rabbitmqctl list_queues as JSON rows, through a running node. */
export async function listQueues(...columns: string[]): Promise<Array<Record<string, unknown>>> {
  const out = await ctl(await someRunningNode(), 'list_queues', ...columns, '--formatter', 'json');
  return JSON.parse(out.trim() || '[]') as Array<Record<string, unknown>>;
}

/** The node leading quorum queue or stream `queue`, and the members online. */
export async function queueLeader(queue: string): Promise<{ leader: string; online: string[]; members: string[] }> {
  const row = (await listQueues('name', 'leader', 'members', 'online')).find((r) => r['name'] === queue);
  if (!row) throw new Error(`queue ${queue} not found`);
  return { leader: String(row['leader']), online: (row['online'] as string[]) ?? [], members: (row['members'] as string[]) ?? [] };
}

/** Waits until every member of `queue` is online again (after a node came back). */
export async function waitAllMembersOnline(queue: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const q = await queueLeader(queue).catch(() => null);
    if (q && q.members.length === NODES.length && q.online.length === NODES.length && q.leader.includes('@')) return;
    if (Date.now() > deadline) throw new Error(`members of ${queue} not all online after ${timeoutMs} ms: ${JSON.stringify(q)}`);
    await sleep(500);
  }
}

/**
 * Force-closes (connection.close 320 from the broker) the connection whose client properties
 * carry `connection_name: name`, wherever in the cluster it is; resolves how many it closed.
 */
export async function closeConnectionNamed(name: string): Promise<number> {
  const node = await someRunningNode();
  // the table formatter prints pids in the form close_connection takes
  const out = await ctl(node, 'list_connections', 'pid', 'client_properties', '--no-table-headers');
  let closed = 0;
  for (const line of out.split('\n')) {
    const pid = line.split('\t')[0]?.trim();
    if (!pid || !line.includes(`"${name}"`)) continue;
    await ctl(node, 'close_connection', pid, 'closed by test');
    closed++;
  }
  return closed;
}

/** Installs the hooks of one cluster test file; call at the top level. `timeoutMs`: per test. */
export function clusterSuite({ timeoutMs = 60_000 }: { timeoutMs?: number } = {}): ClusterSuite {
  jest.setTimeout(timeoutMs);
  const conns = new Set<Connection>();
  let queues: string[] = [];
  let exchanges: string[] = [];
  let deferred: Array<() => unknown> = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    await acquireLock(10 * 60_000);
    await ensureAllNodesUp();
  }, 11 * 60_000);

  afterEach(async () => {
    const problems: string[] = [];
    await runDeferred(deferred, problems);
    deferred = [];
    for (const c of conns) await c.close({ timeout: 5000 }).catch(() => undefined);
    conns.clear();
    await ensureAllNodesUp();
    await deleteEntities(() => Connection.connect({ urls: URLS, reconnect: false }), queues, exchanges, problems);
    queues = [];
    exchanges = [];
    await sleep(5);
    expect(unhandled.splice(0).map((r) => (r instanceof AMQPError ? `${r.name}: ${r.message}` : String(r)))).toEqual([]);
    expect(problems).toEqual([]);
  }, 3 * 60_000);

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    try {
      const mine = `-${process.pid}-`;
      const left = (await listQueues('name')).map((r) => String(r['name'])).filter((n) => n.includes(PREFIX) && n.includes(mine));
      expect(left).toEqual([]);
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }, 60_000);

  return {
    async connect(first, options = {}) {
      const c = await Connection.connect({ urls: urlsFrom(first), callTimeout: 15_000, ...options });
      conns.add(c);
      return c;
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
    defer(fn) {
      deferred.push(fn);
    },
  };
}
