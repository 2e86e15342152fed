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
import { type AnyReceived, FakeBroker, type HandshakeOptions, installGuards, type ReceivedContent } from '../support/fake-broker.js';

const live = new Set<{ container: Container; running: Promise<unknown>; brokers: FakeBroker[] }>();

// registered before installGuards(): stop containers before their brokers are destroyed
afterEach(async () => {
  for (const l of live) {
    l.container.stop();
    for (const b of l.brokers) b.destroy(); // no close-ok is coming: the connection ends at once
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

/** Runs `container` for a test (stopped afterwards, with the brokers listed); resolves to run()'s outcome. */
export function track(container: Container, brokers: FakeBroker[]): Promise<unknown> {
  const outcome = container.run().then(
    () => 'resolved',
    (err: unknown) => err,
  );
  live.add({ container, running: outcome, brokers });
  return outcome;
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
  live.add({ container, running: outcome, brokers: [broker] });
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

let serverNames = 0;

/** What autoReply saw: every client method, and the publishes among them. */
export interface AutoLog {
  methods: AnyReceived[];
  publishes: ReceivedContent[];
  /** Names of the methods seen, as `name@channel`. */
  names(): string[];
}

/**
 * Answers every synchronous client method the way a broker would (declare-ok with the queue name,
 * or `amq.gen-N` for a server-named one; consume-ok with `ctag-N`...), and records everything.
 * Publisher confirms, deliveries and errors stay with the test. Ends when the broker is destroyed.
 */
export function autoReply(broker: FakeBroker, custom?: (m: AnyReceived) => boolean): AutoLog {
  const log: AutoLog = {
    methods: [],
    publishes: [],
    names: () => log.methods.map((m) => `${m.name}@${m.channel}`),
  };
  let tags = 0;
  void (async () => {
    for (;;) {
      let m: AnyReceived;
      try {
        m = await broker.next(60_000);
      } catch {
        return;
      }
      log.methods.push(m);
      const ch = m.channel;
      if (custom?.(m)) continue;
      switch (m.name) {
        case 'channel.open':
          broker.send(ch, 'channel.open-ok', {});
          break;
        case 'channel.close':
          broker.send(ch, 'channel.close-ok', {});
          break;
        case 'connection.close':
          broker.send(0, 'connection.close-ok', {});
          break;
        case 'queue.declare':
          broker.send(ch, 'queue.declare-ok', { queue: m.args.queue || `amq.gen-${++serverNames}`, messageCount: 0, consumerCount: 0 });
          break;
        case 'queue.bind':
          broker.send(ch, 'queue.bind-ok', {});
          break;
        case 'queue.delete':
          broker.send(ch, 'queue.delete-ok', { messageCount: 0 });
          break;
        case 'exchange.declare':
          broker.send(ch, 'exchange.declare-ok', {});
          break;
        case 'confirm.select':
          broker.send(ch, 'confirm.select-ok', {});
          break;
        case 'tx.select':
          broker.send(ch, 'tx.select-ok', {});
          break;
        case 'tx.commit':
          broker.send(ch, 'tx.commit-ok', {});
          break;
        case 'tx.rollback':
          broker.send(ch, 'tx.rollback-ok', {});
          break;
        case 'basic.qos':
          broker.send(ch, 'basic.qos-ok', {});
          break;
        case 'basic.consume':
          broker.send(ch, 'basic.consume-ok', { consumerTag: m.args.consumerTag || `ctag-${++tags}` });
          break;
        case 'basic.cancel':
          broker.send(ch, 'basic.cancel-ok', { consumerTag: m.args.consumerTag });
          break;
        case 'basic.publish':
          log.publishes.push(m as ReceivedContent);
          break;
        default:
          break;
      }
    }
  })();
  return log;
}
