/**
 * Harness of the recovery specs: a socket factory that hands every connection attempt a new
 * scripted FakeBroker (or fails / holds the attempt), setup and RPC helpers, event logs.
 * Importing it registers the cleanup hooks and the unhandled-rejection guards of the file.
 */
import type { Duplex } from 'node:stream';

import type { Channel } from '../../lib/channel/channel.js';
import { Connection } from '../../lib/connection/connection.js';
import type { ConnectionOptions } from '../../lib/connection/options.js';
import { AccessRefused, ConnectionLost } from '../../lib/errors.js';
import type { MethodInit, MethodName } from '../../lib/protocol/generated/methods.js';
import { Backoff } from '../../lib/recovery/backoff.js';
import { FakeBroker, installGuards, type AnyReceived } from './fake-broker.js';

// ------------------------------------------------------------------ harness

export const conns = new Set<Connection>();
export const factories = new Set<SocketFactory>();
// Registered before installGuards() so it runs first: close connections before their fake
// brokers are destroyed (a destroyed broker would otherwise start yet another recovery), and
// make any further connection attempt fail fatally, so that even a connection close() did not
// stop (a bug under test) ends instead of reconnecting for ever.
afterEach(async () => {
  for (const f of factories) f.disposed = true;
  factories.clear();
  for (const c of conns) await c.close({ timeout: 50 }).catch(() => undefined);
  conns.clear();
});
installGuards();

export type Step = 'ok' | 'fail' | { gate: Promise<void> };

/** The `socket` option: each call makes a new FakeBroker (or fails / waits, as planned). */
export class SocketFactory {
  readonly brokers: FakeBroker[] = [];
  calls = 0;
  /** What the next calls do; 'ok' once the plan is empty. */
  plan: Step[] = [];
  /** Set after the test: every further attempt fails with a fatal error. */
  disposed = false;
  private ready: FakeBroker[] = [];

  constructor() {
    factories.add(this);
  }
  private waiters: Array<(b: FakeBroker) => void> = [];

  readonly socket = (): Duplex | Promise<Duplex> => {
    this.calls++;
    if (this.disposed) throw new AccessRefused('the test is over');
    const step = this.plan.shift() ?? 'ok';
    if (step === 'fail') throw new ConnectionLost('scripted: connection refused');
    const make = (): Duplex => {
      const b = new FakeBroker();
      this.brokers.push(b);
      const w = this.waiters.shift();
      if (w) w(b);
      else this.ready.push(b);
      return b.clientSocket;
    };
    return step === 'ok' ? make() : step.gate.then(make);
  };

  /** The next broker the client connects to. */
  next(timeoutMs = 3000): Promise<FakeBroker> {
    const b = this.ready.shift();
    if (b) return Promise.resolve(b);
    return new Promise((resolve, reject) => {
      const w = (x: FakeBroker): void => {
        clearTimeout(timer);
        resolve(x);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no new connection attempt within ${timeoutMs} ms (calls so far: ${this.calls})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

export interface Setup {
  f: SocketFactory;
  conn: Connection;
  b1: FakeBroker;
}

export async function setup(opts: ConnectionOptions = {}): Promise<Setup> {
  const f = new SocketFactory();
  const connecting = Connection.connect({ callTimeout: 2000, reconnect: new Backoff({ random: () => 0 }), ...opts, socket: f.socket });
  const b1 = await f.next();
  await b1.handshake();
  const conn = await connecting;
  conns.add(conn);
  return { f, conn, b1 };
}

/** Expects `name` (on `channel`) and answers `reply`; returns what the client sent. */
export async function serve<N extends MethodName, R extends MethodName>(
  b: FakeBroker,
  channel: number,
  name: N,
  reply: R,
  args: MethodInit[R],
): Promise<AnyReceived & { name: N }> {
  const m = await b.expect(name, channel);
  b.send(channel, reply, args);
  return m as AnyReceived & { name: N };
}

export async function openChannel(conn: Connection, b: FakeBroker, id: number): Promise<Channel> {
  const [ch] = await Promise.all([conn.channel(), b.openChannel(id)]);
  return ch;
}

/** Runs `call` while the broker answers `name` with `reply`. */
export async function rpc<T, R extends MethodName>(
  b: FakeBroker,
  channel: number,
  call: Promise<T>,
  name: MethodName,
  reply: R,
  args: MethodInit[R],
): Promise<T> {
  const [r] = await Promise.all([call, serve(b, channel, name, reply, args)]);
  return r;
}

/** Settles `p` into the error it rejected with (or fails if it resolved). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

/** Tracks whether `p` settled, without letting a rejection go unhandled. */
export function track<T>(p: Promise<T>): { p: Promise<T>; settled: () => boolean } {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { p, settled: () => done };
}

export function once<T>(conn: Connection, ev: 'disconnected' | 'recovered' | 'recoveryFailed' | 'close' | 'reconnecting'): Promise<T> {
  return new Promise((resolve) => conn.once(ev, ((x: T) => resolve(x)) as never));
}

export const tick = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const declareOk = (queue: string) => ({ queue, messageCount: 0, consumerCount: 0 });

export function deliver(b: FakeBroker, ch: number, tag: string, deliveryTag: number, body: string): void {
  b.sendContent(
    ch,
    'basic.deliver',
    { consumerTag: tag, deliveryTag, redelivered: false, exchange: '', routingKey: 'q' },
    { messageId: body },
    Buffer.from(body),
  );
}

/**
 * `events` with 'disconnected' moved in front of the first 'reconnecting': the relative order of
 * those two has its own test ('disconnected comes before the first reconnecting'), the others
 * check the rest of the sequence.
 */
export function sorted(events: string[]): string[] {
  const i = events.findIndex((e) => e.startsWith('disconnected'));
  if (i < 0) return events;
  const rest = [...events.slice(0, i), ...events.slice(i + 1)];
  const j = rest.findIndex((e) => e.startsWith('reconnecting'));
  if (j < 0 || j > i) return events;
  return [...rest.slice(0, j), events[i] as string, ...rest.slice(j)];
}

export function logEvents(conn: Connection): string[] {
  const events: string[] = [];
  conn.on('disconnected', (e) => events.push(`disconnected:${e.name}`));
  conn.on('reconnecting', (i) => events.push(`reconnecting:${i.attempt}:${i.delay}`));
  conn.on('recovered', (i) => events.push(`recovered:${i.attempts}`));
  conn.on('recoveryFailed', (e) => events.push(`recoveryFailed:${e.name}`));
  conn.on('close', (e) => events.push(`close:${e?.name ?? 'clean'}`));
  return events;
}

// ------------------------------------------------------------------ tests
