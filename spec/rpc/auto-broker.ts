/**
 * AutoBroker: a FakeBroker that answers the routine methods by itself (channel open/close,
 * confirm.select, basic.qos, declares, binds, consume, cancel) and records everything, so the
 * specs of the rpc, session and messenger layers script only what matters to them: deliveries,
 * confirms, returns, 404s. Not a spec file (shared by spec/rpc, spec/session, spec/messenger).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BasicProperties } from '../../lib/protocol/generated/properties.js';
import type { AnyReceived, FakeBroker, ReceivedContent } from '../support/fake-broker.js';

export interface ConsumerInfo {
  channel: number;
  queue: string;
  noAck: boolean;
}

/** A publish the broker received, with its confirm sequence number on a confirm channel (0 otherwise). */
export interface Published {
  m: ReceivedContent;
  seq: number;
}

export class AutoBroker {
  readonly consumers = new Map<string, ConsumerInfo>();
  readonly published: Published[] = [];
  /** `queue:<name>` / `exchange:<name>` entities that a passive declare (or a consume, for queues) finds missing: 404. */
  readonly missing = new Set<string>();
  /** What happens to a publish on a confirm channel (default: acked at once). */
  onPublish: (p: Published) => void = (p) => this.ack(p.m.channel, p.seq);
  private readonly confirmSeq = new Map<number, number>();
  private readonly deliverySeq = new Map<number, number>();
  private tags = 0;
  private stopped = false;

  constructor(readonly b: FakeBroker) {}

  /** Runs the answering loop (optionally playing the handshake first) until the broker closes. */
  start(opts: { handshake?: boolean } = {}): this {
    void (async () => {
      if (opts.handshake) await this.b.handshake().catch(() => undefined);
      while (!this.stopped) {
        const m = await this.b.next(3_600_000).catch(() => null);
        if (!m) return;
        this.handle(m);
      }
    })();
    return this;
  }

  stop(): void {
    this.stopped = true;
  }

  private handle(m: AnyReceived): void {
    const b = this.b;
    const ch = m.channel;
    switch (m.name) {
      case 'channel.open':
        this.confirmSeq.delete(ch);
        this.deliverySeq.delete(ch);
        b.send(ch, 'channel.open-ok', {});
        return;
      case 'channel.close':
        for (const [t, c] of this.consumers) if (c.channel === ch) this.consumers.delete(t);
        b.send(ch, 'channel.close-ok', {});
        return;
      case 'connection.close':
        b.send(0, 'connection.close-ok', {});
        return;
      case 'confirm.select':
        this.confirmSeq.set(ch, 0);
        if (!m.args.nowait) b.send(ch, 'confirm.select-ok', {});
        return;
      case 'basic.qos':
        b.send(ch, 'basic.qos-ok', {});
        return;
      case 'queue.declare': {
        if ((m.args.passive && this.missing.has(`queue:${m.args.queue}`)) || this.missing.has(`declare:${m.args.queue}`)) {
          return this.closeChannel(ch, 404, `NOT_FOUND - no queue '${m.args.queue}'`, 50, 10);
        }
        const queue = m.args.queue === '' ? `amq.gen-${++this.tags}` : m.args.queue;
        if (!m.args.nowait) b.send(ch, 'queue.declare-ok', { queue, messageCount: 0, consumerCount: 0 });
        return;
      }
      case 'exchange.declare':
        if (m.args.passive && this.missing.has(`exchange:${m.args.exchange}`)) {
          return this.closeChannel(ch, 404, `NOT_FOUND - no exchange '${m.args.exchange}'`, 40, 10);
        }
        if (!m.args.nowait) b.send(ch, 'exchange.declare-ok', {});
        return;
      case 'queue.bind':
        if (!m.args.nowait) b.send(ch, 'queue.bind-ok', {});
        return;
      case 'basic.consume': {
        if (this.missing.has(`queue:${m.args.queue}`)) return this.closeChannel(ch, 404, `NOT_FOUND - no queue '${m.args.queue}'`, 60, 20);
        const tag = m.args.consumerTag || `ctag-${++this.tags}`;
        this.consumers.set(tag, { channel: ch, queue: m.args.queue, noAck: m.args.noAck });
        if (!m.args.nowait) b.send(ch, 'basic.consume-ok', { consumerTag: tag });
        return;
      }
      case 'basic.cancel':
        this.consumers.delete(m.args.consumerTag);
        if (!m.args.nowait) b.send(ch, 'basic.cancel-ok', { consumerTag: m.args.consumerTag });
        return;
      case 'basic.publish': {
        const seq = this.confirmSeq.has(ch) ? (this.confirmSeq.get(ch) ?? 0) + 1 : 0;
        if (seq > 0) this.confirmSeq.set(ch, seq);
        const p = { m: m as ReceivedContent, seq };
        this.published.push(p);
        if (seq > 0) this.onPublish(p);
        return;
      }
      default:
        return; // acks, nacks, rejects, close-oks: recorded by the FakeBroker
    }
  }

  /** The broker closes channel `ch` with `code` (the client answers close-ok, then reopens). */
  closeChannel(ch: number, code: number, text: string, classId = 0, methodId = 0): void {
    for (const [t, c] of this.consumers) if (c.channel === ch) this.consumers.delete(t);
    this.confirmSeq.delete(ch);
    this.b.send(ch, 'channel.close', { replyCode: code, replyText: text, classId, methodId });
  }

  ack(ch: number, seq: number, multiple = false): void {
    this.b.send(ch, 'basic.ack', { deliveryTag: seq, multiple });
  }

  nack(ch: number, seq: number, multiple = false): void {
    this.b.send(ch, 'basic.nack', { deliveryTag: seq, multiple, requeue: false });
  }

  /** Returns a publish as unroutable (basic.return), as RabbitMQ does before acking it. */
  returnMessage(p: Published, code = 312, text = 'NO_ROUTE'): void {
    const a = p.m.args;
    this.b.sendContent(
      p.m.channel,
      'basic.return',
      { replyCode: code, replyText: text, exchange: a.exchange, routingKey: a.routingKey },
      p.m.properties,
      p.m.body,
    );
  }

  /** Delivers a message to consumer `tag`; returns its delivery tag. */
  deliver(
    tag: string,
    body: string | Buffer,
    properties: BasicProperties = {},
    info: { exchange?: string; routingKey?: string } = {},
  ): number {
    const c = this.consumers.get(tag);
    if (!c) throw new Error(`AutoBroker: no consumer ${tag}`);
    const dt = (this.deliverySeq.get(c.channel) ?? 0) + 1;
    this.deliverySeq.set(c.channel, dt);
    this.b.sendContent(
      c.channel,
      'basic.deliver',
      { consumerTag: tag, deliveryTag: dt, redelivered: false, exchange: info.exchange ?? '', routingKey: info.routingKey ?? c.queue },
      properties,
      body,
    );
    return dt;
  }

  /** Client methods received so far named `name`. */
  sent<N extends AnyReceived['name']>(name: N): Array<Extract<AnyReceived, { name: N }>> {
    return this.b.received.filter((m) => m.name === name) as Array<Extract<AnyReceived, { name: N }>>;
  }

  /** Waits until `pred` holds (polling the records), up to `ms`. */
  async until(pred: () => boolean, what: string, ms = 2000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end)
        throw new Error(`AutoBroker: timed out waiting for ${what}; received: ${this.b.received.map((m) => m.name).join(', ')}`);
      await sleep(2);
    }
  }

  /** The consumer tag of the consumer on `queue` (waits for it). */
  async consumerOn(queue: string): Promise<string> {
    let tag = '';
    await this.until(() => {
      for (const [t, c] of this.consumers) if (c.queue === queue) tag = t;
      return tag !== '';
    }, `a consumer on ${queue}`);
    return tag;
  }
}
