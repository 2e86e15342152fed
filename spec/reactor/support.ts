// Harness of the Proton-layer specs: a Container connected to a scripted FakeBroker, a Recorder
// handler that logs every event it gets (by method name) and runs per-test hooks, and broker-side
// helpers that play the attach sequences of senders and receivers. Importing it registers the
// unhandled-rejection guard and stops every container after each test.
import { afterEach, expect } from '@jest/globals';
import type { BasicProperties } from '../../lib/core.js';
import {
  type ConnectOptions,
  Container,
  type ContainerConnection,
  type Event,
  MessagingHandler,
  type MessagingHandlerOptions,
} from '../../lib/index.js';
import { FakeBroker, type HandshakeOptions, installGuards } from '../support/fake-broker.js';

const live = new Set<{ container: Container; running: Promise<unknown>; broker: FakeBroker }>();

// registered before installGuards(): stop containers before their brokers are destroyed
afterEach(async () => {
  for (const l of live) {
    l.container.stop();
    l.broker.destroy(); // no close-ok is coming: the connection ends at once
    await Promise.race([l.running, new Promise((r) => setTimeout(r, 500))]);
  }
  live.clear();
});
installGuards();

/** A hook run for one event: may be async, may throw. */
export type Hook = (e: Event) => unknown;

/** Logs the method name of every event (`onLinkOpened`...) and runs `on[method]` if set. */
export class Recorder extends MessagingHandler {
  readonly log: string[] = [];
  readonly events: Event[] = [];
  on: Record<string, Hook> = {};

  constructor(options: MessagingHandlerOptions = {}) {
    super(options);
  }

  async onUnhandled(method: string, e: Event): Promise<void> {
    this.log.push(method);
    this.events.push(e);
    await this.on[method]?.(e);
  }

  /** The events of method `m`, in order. */
  of(m: string): Event[] {
    return this.events.filter((e) => `on${e.type.charAt(0).toUpperCase()}${e.type.slice(1)}` === m);
  }
}

/** Polls `f` until it is truthy (2 s at most). */
export async function until(f: () => unknown, what = 'condition', ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Setup {
  broker: FakeBroker;
  container: Container;
  conn: ContainerConnection;
  rec: Recorder;
  /** run()'s outcome: 'resolved', or the error it rejected with. */
  outcome: Promise<unknown>;
}

/** A running container with one handler, connected to a fresh FakeBroker (handshake done). */
export async function setup(
  opts: { rec?: Recorder; connect?: ConnectOptions; hs?: HandshakeOptions; id?: string; handlers?: object[] } = {},
): Promise<Setup> {
  const broker = new FakeBroker();
  const rec = opts.rec ?? new Recorder();
  const container = new Container(rec, ...((opts.handlers ?? []) as Recorder[]), { id: opts.id ?? 'c1' });
  const conn = container.connect({ socket: broker.clientSocket, reconnect: false, callTimeout: 2000, ...opts.connect });
  const outcome = container.run().then(
    () => 'resolved',
    (err: unknown) => err,
  );
  live.add({ container, running: outcome, broker });
  await broker.handshake(opts.hs);
  return { broker, container, conn, rec, outcome };
}

/** Plays a sender's attach to a queue: channel.open, passive queue.declare, confirm.select. */
export async function attachSender(broker: FakeBroker, queue = 'q', confirms = true): Promise<number> {
  const ch = await broker.openChannel();
  const d = await broker.expect('queue.declare', ch);
  expect(d.args).toMatchObject({ queue, passive: true });
  broker.send(ch, 'queue.declare-ok', { queue, messageCount: 0, consumerCount: 0 });
  if (confirms) {
    await broker.expect('confirm.select', ch);
    broker.send(ch, 'confirm.select-ok', {});
  }
  return ch;
}

/** Plays the consumer part of an attach: basic.qos (prefetch), basic.consume -> consume-ok. */
export async function consume(broker: FakeBroker, ch: number, prefetch = 10, tag = 'ctag'): Promise<Record<string, unknown>> {
  const qos = await broker.expect('basic.qos', ch);
  expect(qos.args).toMatchObject({ prefetchCount: prefetch, global: false });
  broker.send(ch, 'basic.qos-ok', {});
  const c = await broker.expect('basic.consume', ch);
  broker.send(ch, 'basic.consume-ok', { consumerTag: tag });
  return c.args as unknown as Record<string, unknown>;
}

/** Plays a receiver's attach from a queue: channel.open, passive queue.declare, qos, consume. */
export async function attachReceiver(broker: FakeBroker, queue = 'q', prefetch = 10, tag = 'ctag'): Promise<number> {
  const ch = await broker.openChannel();
  const d = await broker.expect('queue.declare', ch);
  expect(d.args).toMatchObject({ queue, passive: true });
  broker.send(ch, 'queue.declare-ok', { queue, messageCount: 0, consumerCount: 0 });
  if (prefetch > 0) await consume(broker, ch, prefetch, tag);
  return ch;
}

/** Sends a delivery to consumer `tag` on channel `ch`. */
export function deliver(
  broker: FakeBroker,
  ch: number,
  tag: number,
  body: string,
  props: BasicProperties = {},
  consumerTag = 'ctag',
): void {
  broker.sendContent(
    ch,
    'basic.deliver',
    { consumerTag, deliveryTag: tag, redelivered: false, exchange: '', routingKey: 'q' },
    { contentEncoding: 'utf-8', ...props },
    body,
  );
}
