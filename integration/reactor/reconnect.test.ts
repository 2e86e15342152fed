// A Container whose connection the broker closes (rabbitmqctl close_connection) while a sender
// and a receiver on it are busy: it reconnects per its Backoff, fires onDisconnected once,
// re-attaches both links, and nothing the broker accepted is lost (duplicates are allowed: what
// was in flight is sent again).
import { expect, test } from '@jest/globals';
import { Backoff, Container, type ContainerConnection, type Event, Message, MessagingHandler, type Sender } from '../../lib/index.js';
import { brokerUrl, closeConnectionsWhere } from '../support/broker.js';
import { expectCount, suite } from '../harness.js';

const s = suite();

test('reconnects per the Backoff after close_connection, fires onDisconnected once, resumes its links, loses nothing accepted', async () => {
  const { ch } = await s.open();
  const q = s.queue(s.name('reconnect'));
  await ch.queueDeclare(q);
  const name = s.name('proton-conn');
  const backoff = new Backoff();
  const delays: number[] = [];
  const next = backoff.next.bind(backoff);
  backoff.next = () => {
    const d = next();
    delays.push(d);
    return d;
  };

  class Busy extends MessagingHandler {
    conn: ContainerConnection | undefined;
    sender: Sender | undefined;
    sent = 0;
    /** Sending stops here: 100 messages after the reconnect (the kill takes rabbitmqctl a while). */
    target = Number.POSITIVE_INFINITY;
    killed = false;
    readonly accepted = new Set<string>();
    readonly received = new Map<string, number>();
    readonly counts = { disconnected: 0, opened: 0, linkOpened: 0, transportErrors: 0 };

    onStart(e: Event): void {
      this.conn = e.container.connect(brokerUrl(), { reconnect: backoff, properties: { connection_name: name } });
      this.sender = e.container.createSender(this.conn, q);
      e.container.createReceiver(this.conn, q);
      e.container.schedule(2, this);
    }

    onTimerTask(e: Event): void {
      // paced: 4 messages every few ms, so traffic flows across the kill
      for (let i = 0; i < 4 && this.sent < this.target; i++)
        this.sender?.send(new Message({ n: this.sent }, { messageId: String(this.sent++) }));
      if (this.sent < this.target && this.sent < 50_000) e.container.schedule(4, this);
    }

    onAccepted(e: Event): void {
      this.accepted.add(e.message.properties.messageId ?? '');
      if (this.accepted.size === 50 && !this.killed) {
        this.killed = true;
        void closeConnectionsWhere((c) => c.connectionName === name, 'killed by the reconnect test');
      }
      this.maybeDone();
    }

    onMessage(e: Event): void {
      const id = e.message.properties.messageId ?? '';
      this.received.set(id, (this.received.get(id) ?? 0) + 1);
      this.maybeDone();
    }

    private maybeDone(): void {
      if (this.accepted.size === this.target && [...this.accepted].every((id) => this.received.has(id))) this.conn?.close();
    }

    onDisconnected(): void {
      this.counts.disconnected++;
    }
    onConnectionOpened(): void {
      if (++this.counts.opened === 2) this.target = this.sent + 100;
    }
    onLinkOpened(): void {
      this.counts.linkOpened++;
    }
    onTransportError(): void {
      this.counts.transportErrors++;
    }
  }

  const h = new Busy();
  const container = new Container(h);
  s.defer(() => container.stop());
  await container.run();
  expect(h.killed).toBe(true);
  expect(h.counts).toEqual({ disconnected: 1, opened: 2, linkOpened: 4, transportErrors: 1 });
  expect(delays[0]).toBe(0); // the Backoff's first attempt goes at once
  expect(h.accepted.size).toBe(h.target);
  expect(h.target).toBeGreaterThan(150);
  const lost = [...h.accepted].filter((id) => !h.received.has(id));
  expect(lost).toEqual([]);
  await expectCount(ch, q, 0);
});
