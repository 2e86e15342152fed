// Fault injection against real RabbitMQ: automatic recovery must lose nothing that was confirmed.
// Each scenario publishes confirmed, persistent messages with ids to a durable queue while a
// consumer on the same connection acks them, injects a fault, and then checks that every id whose
// publish promise resolved arrived at least once (duplicates are counted, not failures), that every
// publish promise settled, and that no timer, socket or listener was left behind. Faults:
// rabbitmqctl close_connection, a second broker node stopped and started, a TCP forwarder that
// black-holes traffic (heartbeat detection, failover to the next URL), a refused first URL, and 50
// kill-and-recover cycles. afterAll prints `scenario | sent | received | duplicates | lost | recovery ms`.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  type AMQPError,
  Backoff,
  type Channel,
  Connection,
  ConnectionForced,
  HeartbeatTimeout,
  Message,
  RecoverableConnectionError,
  type ReconnectStrategy,
  StaleDelivery,
} from '../lib/index.js';
import { brokerUrl, closeConnectionsWhere } from './support/broker.js';
import { startSecondNode, type SecondNode } from './support/second-node.js';
import { freePort, startProxy } from './support/tcp-proxy.js';
import { eventually, suite } from './harness.js';

const s = suite();

// ------------------------------------------------------------------ reporting

interface Row {
  scenario: string;
  sent: number;
  received: number;
  duplicates: number;
  lost: number;
  recoveryMs: string;
}
const rows: Row[] = [];

afterAll(() => {
  const lines = rows.map((r) => `${r.scenario} | ${r.sent} | ${r.received} | ${r.duplicates} | ${r.lost} | ${r.recoveryMs}`);
  console.log(['scenario | sent | received | duplicates | lost | recovery ms', ...lines].join('\n'));
});

// ------------------------------------------------------------------ leak probes

type AnyFn = (...args: unknown[]) => unknown;
type TimerFns = Pick<typeof globalThis, 'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval'>;

/**
 * Tracks timers created from now on (by amqpts, p-timeout and the test) through the global timer
 * functions, which the library modules share with this file. `live()` lists those neither fired
 * (timeouts) nor cleared; intervals and long timeouts carry a short creation stack.
 */
class TimerProbe {
  private readonly orig: TimerFns;
  private readonly alive = new Map<object, string>();

  constructor() {
    const g = globalThis as unknown as Record<keyof TimerFns, AnyFn>;
    this.orig = {
      setTimeout: globalThis.setTimeout,
      clearTimeout: globalThis.clearTimeout,
      setInterval: globalThis.setInterval,
      clearInterval: globalThis.clearInterval,
    };
    const o = this.orig as unknown as Record<keyof TimerFns, AnyFn>;
    const alive = this.alive;
    const where = (kind: string, ms: unknown): string => {
      if (kind === 'interval' || (typeof ms === 'number' && ms >= 1000)) {
        const stack = (new Error().stack ?? '')
          .split('\n')
          .slice(3, 7)
          .map((l) => l.trim())
          .join(' < ');
        return `${kind} ${String(ms)} ms: ${stack}`;
      }
      return `${kind} ${String(ms)} ms`;
    };
    g.setTimeout = (fn: unknown, ms?: unknown, ...args: unknown[]) => {
      const t = o.setTimeout(
        (...a: unknown[]) => {
          alive.delete(t as object);
          (fn as AnyFn)(...a);
        },
        ms,
        ...args,
      ) as object;
      alive.set(t, where('timeout', ms));
      return t;
    };
    g.clearTimeout = (t: unknown) => {
      if (t) alive.delete(t as object);
      return o.clearTimeout(t);
    };
    g.setInterval = (fn: unknown, ms?: unknown, ...args: unknown[]) => {
      const t = o.setInterval(fn, ms, ...args) as object;
      alive.set(t, where('interval', ms));
      return t;
    };
    g.clearInterval = (t: unknown) => {
      if (t) alive.delete(t as object);
      return o.clearInterval(t);
    };
  }

  /** Timers created since construction and still pending. */
  live(): string[] {
    return [...this.alive.values()];
  }
  /** Pending intervals. */
  intervals(): number {
    return this.live().filter((x) => x.startsWith('interval')).length;
  }

  restore(): void {
    Object.assign(globalThis, this.orig);
  }
}

/** Counts of the active libuv resources keeping the process alive, by type. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** Sockets and servers only (child processes of rabbitmqctl come and go). */
function sockets(): number {
  const h = handles();
  return (h['TCPSocketWrap'] ?? 0) + (h['TCPServerWrap'] ?? 0) + (h['TLSWrap'] ?? 0);
}

function listenerCounts(...emitters: Array<{ eventNames(): Array<string | symbol>; listenerCount(e: string | symbol): number }>): string {
  return emitters
    .map((e) =>
      e
        .eventNames()
        .map((n) => `${String(n)}=${e.listenerCount(n)}`)
        .sort()
        .join(','),
    )
    .join(' | ');
}

/** A real gc() when possible (jest does not pass --expose-gc; V8 lets us turn it on). */
function gcFunction(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ workload

/**
 * Confirmed persistent publishes with ids on one channel (maxUnconfirmed window), and a consumer
 * acking each delivery on another channel of the same connection.
 */
class Workload {
  readonly confirmed = new Set<number>();
  readonly failed = new Map<number, unknown>();
  readonly received = new Map<number, number>();
  deliveries = 0;
  staleAcks = 0;
  readonly ackErrors: unknown[] = [];
  pubCh!: Channel;
  conCh!: Channel;
  private nextId = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    readonly conn: Connection,
    readonly queue: string,
  ) {}

  async init({ maxUnconfirmed = 1000, prefetch = 500 } = {}): Promise<this> {
    this.pubCh = await this.conn.channel();
    await this.pubCh.queueDeclare(this.queue, { durable: true });
    await this.pubCh.confirmSelect({ maxUnconfirmed });
    this.conCh = await this.conn.channel();
    await this.conCh.basicQos({ prefetchCount: prefetch });
    await this.conCh.basicConsume(this.queue, { callback: (m) => this.onMessage(m) });
    return this;
  }

  private onMessage(m: Message): void {
    this.deliveries++;
    const id = Number(m.properties.messageId);
    this.received.set(id, (this.received.get(id) ?? 0) + 1);
    try {
      m.ack();
    } catch (err) {
      // a delivery of the dead connection: the broker redelivers it
      if (err instanceof StaleDelivery) this.staleAcks++;
      else this.ackErrors.push(err);
    }
  }

  /** Publishes `n` messages (or until stopPublishing()), at most 2000 calls outstanding. */
  async publish(n?: number, pace?: { every: number; ms: number }): Promise<void> {
    const W = 2000;
    const ring: Array<Promise<void> | undefined> = new Array<Promise<void> | undefined>(W);
    for (let i = 0; (n === undefined || i < n) && !this.stopped; i++) {
      const slot = i % W;
      const prev = ring[slot];
      if (prev) await prev;
      const id = this.nextId++;
      ring[slot] = this.pubCh
        .basicPublish(new Message(`message ${id}`, { messageId: String(id), deliveryMode: 2 }), { routingKey: this.queue })
        .then(
          () => {
            this.confirmed.add(id);
          },
          (err: unknown) => {
            this.failed.set(id, err);
          },
        );
      if (pace && i % pace.every === pace.every - 1) await sleep(pace.ms);
    }
    await Promise.all(ring);
  }

  startPublishing(pace: { every: number; ms: number }): void {
    this.stopped = false;
    this.running = this.publish(undefined, pace);
  }

  async stopPublishing(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Publish calls made. */
  get attempted(): number {
    return this.nextId;
  }
  /** Publish promises settled (confirmed or failed). */
  get settled(): number {
    return this.confirmed.size + this.failed.size;
  }

  missing(): number[] {
    const out: number[] = [];
    for (const id of this.confirmed) if (!this.received.has(id)) out.push(id);
    return out;
  }

  async waitAllReceived(timeoutMs = 30_000): Promise<void> {
    await eventually(() => this.missing().length === 0, { timeoutMs, intervalMs: 100, what: 'every confirmed id to arrive' }).catch(
      () => undefined,
    );
  }

  failures(): string[] {
    const byKind = new Map<string, number>();
    for (const e of this.failed.values()) {
      const k = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      byKind.set(k, (byKind.get(k) ?? 0) + 1);
    }
    return [...byKind].map(([k, n]) => `${n} x ${k}`);
  }

  row(scenario: string, recoveryMs: string): Row {
    const lost = this.missing().length;
    return {
      scenario,
      sent: this.confirmed.size,
      received: this.received.size,
      duplicates: this.deliveries - this.received.size,
      lost,
      recoveryMs,
    };
  }
}

/**
 * Soft assertions: every check of a scenario runs (and cleanup happens) even when an early one
 * fails; `done()` fails the test with all of them.
 */
class Checks {
  readonly failures: string[] = [];
  check(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  done(): void {
    expect(this.failures).toEqual([]);
  }
}

/** The common end-of-scenario checks of a workload (after waitAllReceived). */
function checkNothingLost(c: Checks, w: Workload): void {
  c.check('every publish promise settled', () => expect(w.settled).toBe(w.attempted));
  c.check('no publish was rejected', () => expect(w.failures()).toEqual([]));
  const missing = w.missing();
  c.check('every confirmed id arrived at least once', () =>
    expect({ lost: missing.length, first: missing.slice(0, 5) }).toEqual({ lost: 0, first: [] }),
  );
  c.check('acks fail only with StaleDelivery', () => expect(w.ackErrors.map(String)).toEqual([]));
}

function recordEvents(conn: Connection): {
  reconnecting: Array<{ attempt: number; delay: number; url: string; at: number }>;
  recovered: Array<{ attempts: number; downtimeMs: number; url: string; at: number }>;
  disconnected: Array<{ err: AMQPError; at: number }>;
} {
  const ev = {
    reconnecting: [] as Array<{ attempt: number; delay: number; url: string; at: number }>,
    recovered: [] as Array<{ attempts: number; downtimeMs: number; url: string; at: number }>,
    disconnected: [] as Array<{ err: AMQPError; at: number }>,
  };
  conn.on('reconnecting', (i) => ev.reconnecting.push({ ...i, at: Date.now() }));
  conn.on('recovered', (i) => ev.recovered.push({ ...i, at: Date.now() }));
  conn.on('disconnected', (err) => ev.disconnected.push({ err, at: Date.now() }));
  return ev;
}

const DIRECT_SHOWN = 'amqp://guest@127.0.0.1:5672/%2F';

/** Waits until nothing of ours is pending any more, then checks timers and sockets. */
async function checkNoLeaks(c: Checks, probe: TimerProbe, socketsBefore: number): Promise<void> {
  await eventually(() => probe.live().length === 0 && sockets() <= socketsBefore, { timeoutMs: 3000, intervalMs: 50 }).catch(
    () => undefined,
  );
  const live = probe.live();
  probe.restore();
  c.check('no timer left behind', () => expect(live).toEqual([]));
  c.check('no socket left behind', () => expect(sockets()).toBeLessThanOrEqual(socketsBefore));
}

let probe: TimerProbe | undefined;
afterEach(() => {
  probe?.restore();
  probe = undefined;
});
/** A TimerProbe that is uninstalled after the test whatever happens. */
function newProbe(): TimerProbe {
  probe = new TimerProbe();
  return probe;
}

// ------------------------------------------------------------------ second node, started early

const NODE_PORT = 5687;
let nodeStarting: Promise<SecondNode> | undefined;
beforeAll(() => {
  // boots (≈5 s) while the first scenarios run
  nodeStarting = startSecondNode({ port: NODE_PORT });
  nodeStarting.catch(() => undefined);
});
afterAll(async () => {
  const node = await nodeStarting?.catch(() => undefined);
  await node?.dispose();
}, 60_000);

// ------------------------------------------------------------------ scenarios

describe('resilience under injected faults (serial)', () => {
  test('rabbitmqctl close_connection in the middle of 100k confirmed publishes: all settle, every id arrives', async () => {
    const probe = newProbe();
    const c = new Checks();
    const sockets0 = sockets();
    const name = s.name('res-kill');
    const queue = s.queue(s.name('q-kill'));
    const conn = await s.connect(brokerUrl(), { clientProperties: { connection_name: name }, reconnect: new Backoff({ random: () => 0 }) });
    const ev = recordEvents(conn);
    const w = await new Workload(conn, queue).init({ maxUnconfirmed: 1000, prefetch: 1000 });
    const listeners0 = listenerCounts(conn, w.pubCh, w.conCh);
    const recovered = once(conn, 'recovered');
    const publishing = w.publish(100_000);
    await eventually(() => w.confirmed.size >= 30_000, { timeoutMs: 60_000, intervalMs: 10, what: '30k confirms' });
    const killed = await closeConnectionsWhere((x) => x.connectionName === name, 'resilience test');
    expect(killed).toHaveLength(1);
    await recovered;
    await publishing;
    await w.waitAllReceived(30_000);
    rows.push(w.row('close_connection mid 100k', String(ev.recovered[0]?.downtimeMs ?? 'none')));

    c.check('disconnected once, with ConnectionForced', () =>
      expect(ev.disconnected.map((d) => d.err)).toEqual([expect.any(ConnectionForced)]),
    );
    c.check('recovered once', () => expect(ev.recovered).toHaveLength(1));
    c.check('all 100k published', () => expect(w.attempted).toBe(100_000));
    checkNothingLost(c, w);
    c.check('listener counts unchanged', () => expect(listenerCounts(conn, w.pubCh, w.conCh)).toBe(listeners0));
    c.check('same channels', () => {
      expect(conn.channels.size).toBe(2);
      expect(conn.channels.get(w.pubCh.channelId)).toBe(w.pubCh);
      expect(conn.channels.get(w.conCh.channelId)).toBe(w.conCh);
    });
    await w.pubCh.queueDelete(queue);
    await conn.close();
    await checkNoLeaks(c, probe, sockets0);
    c.done();
  }, 120_000);

  test('a second broker node stopped and started again: recovery follows the backoff schedule and completes once the node is back', async () => {
    expect(nodeStarting).toBeDefined();
    const node = await (nodeStarting as Promise<SecondNode>);
    const probe = newProbe();
    const c = new Checks();
    const sockets0 = sockets();
    const queue = s.name('q-node');
    const schedule = (n: number): number => (n === 1 ? 0 : Math.min(1000, 100 * 2 ** (n - 2)));
    const conn = s.track(await Connection.connect(node.url, { reconnect: new Backoff({ initial: 100, max: 1000, random: () => 0 }) }));
    const ev = recordEvents(conn);
    const w = await new Workload(conn, queue).init({ maxUnconfirmed: 500, prefetch: 200 });
    const listeners0 = listenerCounts(conn, w.pubCh, w.conCh);
    w.startPublishing({ every: 10, ms: 5 });
    await eventually(() => w.received.size >= 500, { timeoutMs: 10_000, what: 'traffic before the stop' });

    const stopCalled = Date.now();
    await node.stop();
    const stopped = Date.now();
    await sleep(300);
    const startCalled = Date.now();
    await node.start();
    const upAt = Date.now(); // the node answered a handshake (start() polls for one)
    await eventually(() => ev.recovered.some((r) => r.at >= startCalled), { timeoutMs: 15_000, what: 'recovery after the restart' }).catch(
      () => undefined,
    );
    await sleep(500);
    await w.stopPublishing();
    await w.waitAllReceived(15_000);
    const last = ev.recovered[ev.recovered.length - 1];
    rows.push(w.row('second node stop/start', String(last?.downtimeMs ?? 'none')));

    c.check('disconnected by the stop, with a recoverable error', () => {
      // the node shuts down politely (320 CONNECTION_FORCED, reason 'shutdown'); a plain socket loss would do too
      expect(ev.disconnected[0]?.err).toBeInstanceOf(RecoverableConnectionError);
      expect(ev.disconnected[0]?.at).toBeGreaterThanOrEqual(stopCalled);
    });
    c.check('every attempt k waited schedule(k)', () =>
      expect(ev.reconnecting.map((r) => [r.attempt, r.delay])).toEqual(ev.reconnecting.map((r) => [r.attempt, schedule(r.attempt)])),
    );
    c.check('all attempts to the node', () =>
      expect(ev.reconnecting.every((r) => r.url === `amqp://guest@127.0.0.1:${NODE_PORT}/%2F`)).toBe(true),
    );
    c.check('recovered after the node was back, within one capped delay plus a restore', () => {
      expect(last).toBeDefined();
      const final = last as NonNullable<typeof last>;
      expect(final.attempts).toBeGreaterThan(1);
      const winning = ev.reconnecting.filter((r) => r.attempt === final.attempts).pop();
      expect(winning?.at).toBeGreaterThanOrEqual(stopped);
      expect(final.at).toBeGreaterThanOrEqual(startCalled);
      expect(final.at - upAt).toBeLessThan(1000 + 3000);
      expect(final.downtimeMs).toBeGreaterThanOrEqual(stopped - stopCalled);
    });
    c.check('open again', () => expect(conn.state).toBe('open'));
    checkNothingLost(c, w);
    c.check('listener counts unchanged', () => expect(listenerCounts(conn, w.pubCh, w.conCh)).toBe(listeners0));
    await w.pubCh.queueDelete(queue).catch((err: unknown) => c.failures.push(`queueDelete: ${String(err)}`));
    await conn.close();
    await checkNoLeaks(c, probe, sockets0);
    c.done();
  }, 90_000);

  test('black-holing TCP forwarder, heartbeat 1 s, urls [proxy, direct]: HeartbeatTimeout within two intervals, recovery on the direct URL', async () => {
    const proxy = await startProxy({ targetPort: 5672 });
    s.defer(() => proxy.close());
    const probe = newProbe();
    const c = new Checks();
    const sockets0 = sockets();
    const queue = s.queue(s.name('q-hb'));
    const conn = await s.connect({
      urls: [proxy.url, brokerUrl()],
      heartbeat: 1,
      connectTimeout: 3000,
      reconnect: new Backoff({ random: () => 0 }),
    });
    expect(conn.heartbeat).toBe(1);
    expect(proxy.connections()).toBe(1);
    const ev = recordEvents(conn);
    const w = await new Workload(conn, queue).init({ maxUnconfirmed: 200, prefetch: 100 });
    const listeners0 = listenerCounts(conn, w.pubCh, w.conCh);
    w.startPublishing({ every: 5, ms: 5 });
    await eventually(() => w.received.size >= 300, { timeoutMs: 10_000, what: 'traffic before the black hole' });
    const disconnected = once(conn, 'disconnected');
    const t0 = Date.now();
    proxy.blackhole();
    const [cause] = (await disconnected) as [AMQPError];
    const detectedMs = Date.now() - t0;
    await eventually(() => ev.recovered.length > 0, { timeoutMs: 15_000, what: 'recovery' }).catch(() => undefined);
    await sleep(300);
    await w.stopPublishing();
    await w.waitAllReceived(10_000);
    rows.push(w.row('blackhole + heartbeat -> next url', String(ev.recovered[0]?.downtimeMs ?? 'none')));

    c.check('cause is HeartbeatTimeout', () => expect(cause).toBeInstanceOf(HeartbeatTimeout));
    // two intervals, plus the 250 ms check granularity and some slack
    c.check(`detected within two intervals (took ${detectedMs} ms)`, () => {
      expect(detectedMs).toBeGreaterThanOrEqual(1000);
      expect(detectedMs).toBeLessThan(2 * 1000 + 600);
    });
    c.check('recovered on the direct URL', () => expect(ev.recovered[0]?.url).toBe(DIRECT_SHOWN));
    c.check('the dead URL is not retried first: attempt 1 goes to the next URL', () => {
      expect(ev.reconnecting.map((r) => [r.attempt, r.url])[0]).toEqual([1, DIRECT_SHOWN]);
      expect(ev.recovered[0]?.attempts).toBe(1);
    });
    checkNothingLost(c, w);
    c.check('listener counts unchanged', () => expect(listenerCounts(conn, w.pubCh, w.conCh)).toBe(listeners0));
    await w.pubCh.queueDelete(queue);
    await conn.close();
    proxy.resume();
    await proxy.close();
    await checkNoLeaks(c, probe, sockets0);
    c.done();
  }, 60_000);

  test("a first URL that refuses connections: connect() uses the next; recovery goes round-robin with the strategy's delays", async () => {
    const probe = newProbe();
    const c = new Checks();
    const sockets0 = sockets();
    const deadPort = await freePort();
    const deadUrl = `amqp://guest:guest@127.0.0.1:${deadPort}/`;
    const deadShown = `amqp://guest@127.0.0.1:${deadPort}/%2F`;
    const delays = [0, 150, 300, 450];
    let i = 0;
    const strategy: ReconnectStrategy = {
      next: () => delays[i++] ?? 500,
      reset: () => {
        i = 0;
      },
    };
    const name = s.name('res-deadurl');
    const t0 = Date.now();
    const conn = await s.connect({ urls: [deadUrl, brokerUrl()], reconnect: strategy, clientProperties: { connection_name: name } });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(conn.state).toBe('open');
    const ev = recordEvents(conn);
    const queue = s.queue(s.name('q-deadurl'));
    const w = await new Workload(conn, queue).init({ maxUnconfirmed: 100, prefetch: 100 });
    const listeners0 = listenerCounts(conn, w.pubCh, w.conCh);
    w.startPublishing({ every: 5, ms: 5 });
    await eventually(() => w.received.size >= 100, { timeoutMs: 10_000, what: 'traffic' });
    const recovered = once(conn, 'recovered');
    expect(await closeConnectionsWhere((x) => x.connectionName === name)).toHaveLength(1);
    const [info] = (await recovered) as [{ attempts: number; downtimeMs: number; url: string }];
    await sleep(200);
    await w.stopPublishing();
    await w.waitAllReceived(10_000);
    rows.push(w.row('dead first url', String(info.downtimeMs)));

    // connected to the good URL (2nd): round-robin goes to the dead one (1st), then back to the good one
    c.check("attempts round-robin with the strategy's delays", () => {
      expect(ev.reconnecting.map((r) => [r.attempt, r.delay, r.url])).toEqual([
        [1, 0, deadShown],
        [2, 150, DIRECT_SHOWN],
      ]);
      expect((ev.reconnecting[1]?.at ?? 0) - (ev.reconnecting[0]?.at ?? 0)).toBeLessThan(1000);
    });
    c.check('recovered on the good URL at attempt 2', () => {
      expect(info).toMatchObject({ attempts: 2, url: DIRECT_SHOWN });
      expect(info.downtimeMs).toBeGreaterThanOrEqual(150);
    });
    checkNothingLost(c, w);
    c.check('listener counts unchanged', () => expect(listenerCounts(conn, w.pubCh, w.conCh)).toBe(listeners0));
    await w.pubCh.queueDelete(queue);
    await conn.close();
    await checkNoLeaks(c, probe, sockets0);
    c.done();
  }, 60_000);

  test('50 kill-and-recover cycles in a row (tcp proxy cutAll): heap, timers, sockets and listeners stay flat', async () => {
    const gc = gcFunction();
    const proxy = await startProxy({ targetPort: 5672 });
    s.defer(() => proxy.close());
    const probe = newProbe();
    const c = new Checks();
    const sockets0 = sockets();
    const queue = s.queue(s.name('q-cycles'));
    const conn = await s.connect(proxy.url, { reconnect: new Backoff({ random: () => 0 }) });
    const ev = recordEvents(conn);
    const w = await new Workload(conn, queue).init({ maxUnconfirmed: 200, prefetch: 200 });
    w.startPublishing({ every: 5, ms: 2 });
    const heap = (): number => {
      gc?.();
      gc?.();
      return process.memoryUsage().heapUsed;
    };
    const snapshot = (): { heap: number; sockets: number; intervals: number; listeners: string; channels: number; proxied: number } => ({
      heap: heap(),
      sockets: sockets(),
      intervals: probe.intervals(),
      listeners: listenerCounts(conn, w.pubCh, w.conCh),
      channels: conn.channels.size,
      proxied: proxy.connections(),
    });
    let warm: ReturnType<typeof snapshot> | undefined;
    const CYCLES = 50;
    for (let k = 1; k <= CYCLES; k++) {
      const recovered = once(conn, 'recovered');
      proxy.cutAll();
      await recovered;
      // the recovered connection works: a confirmed round trip
      await w.pubCh.basicPublish(new Message('probe', { messageId: String(-k) }), { routingKey: queue });
      await sleep(20);
      if (k === 5) warm = snapshot();
    }
    await sleep(200);
    const end = snapshot();
    await w.stopPublishing();
    await w.waitAllReceived(10_000);
    const downs = ev.recovered.map((r) => r.downtimeMs);
    const avg = Math.round(downs.reduce((a, b) => a + b, 0) / Math.max(1, downs.length));
    const heapKiB = Math.round((end.heap - (warm?.heap ?? end.heap)) / 1024);
    rows.push(
      w.row(
        `${CYCLES} kill/recover cycles (heap ${heapKiB >= 0 ? '+' : ''}${heapKiB} KiB over 45 cycles, gc ${gc ? 'on' : 'off'})`,
        `avg ${avg} / max ${Math.max(...downs)}`,
      ),
    );

    c.check('one disconnect and one single-attempt recovery per cycle', () => {
      expect(ev.recovered).toHaveLength(CYCLES);
      expect(ev.disconnected).toHaveLength(CYCLES);
      expect(ev.recovered.every((r) => r.attempts === 1)).toBe(true);
    });
    checkNothingLost(c, w);
    const was = warm as NonNullable<typeof warm>;
    c.check('sockets flat', () => expect(end.sockets).toBe(was.sockets));
    c.check('intervals (heartbeat timers) flat', () => expect(end.intervals).toBe(was.intervals));
    c.check('listener counts flat', () => expect(end.listeners).toBe(was.listeners));
    c.check('no extra channels, one proxied connection', () => expect([end.channels, end.proxied]).toEqual([2, 1]));
    // 45 more cycles may not keep memory: a generous bound with gc, a very generous one without
    c.check(`heap flat (gc ${gc ? 'on' : 'off'}, +${Math.round((end.heap - was.heap) / 1024)} KiB)`, () =>
      expect(end.heap - was.heap).toBeLessThan(gc ? 8 * 1024 * 1024 : 64 * 1024 * 1024),
    );
    await w.pubCh.queueDelete(queue);
    await conn.close();
    await proxy.close();
    await checkNoLeaks(c, probe, sockets0);
    c.done();
  }, 90_000);
});
