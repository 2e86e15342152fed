// The Messenger against the real broker: 10 000 messages through put/send/recv/get/accept, statuses
// from real confirms, nacks (x-overflow: reject-publish) and returns, cumulative accept and reject,
// both tracking windows, blocking = false, timeout and interrupt, route and rewrite to a second
// domain, the declare option, exchange subscriptions, and bad input.
//
// The second domain is a TCP forwarder (integration/support/tcp-proxy.ts) on another port in front
// of the same broker rather than a second RabbitMQ node: "two domains, one connection each" is what
// is under test, and the forwarder costs milliseconds where a node costs 6-10 s to start.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  AddressError,
  Message,
  Messenger,
  MessengerInterrupted,
  NotFound,
  Timeout,
  type Tracker,
  TrackerError,
  TrackerStatus,
} from '../../lib/index.js';
import { eventually, expectCount, suite } from '../harness.js';
import { brokerUrl, listConnections } from '../support/broker.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';

const s = suite();
const URL = brokerUrl().replace(/\/+$/, '');

/** A started Messenger, stopped after the test. */
async function messenger(what: string, setup: (m: Messenger) => void = () => undefined): Promise<Messenger> {
  const m = new Messenger(s.name(what));
  m.timeout = 20_000;
  setup(m);
  await m.start();
  s.defer(() => m.stop());
  return m;
}

/** A queue declared (and deleted after the test) through an admin channel. */
async function queue(what: string, args: Record<string, string | number> = {}): Promise<string> {
  const { ch } = await s.open();
  const q = s.queue(s.name(what));
  await ch.queueDeclare(q, { arguments: args });
  return q;
}

function put(m: Messenger, address: string, subjects: string[]): Tracker[] {
  const msg = new Message();
  return subjects.map((subject) => {
    msg.address = address;
    msg.subject = subject;
    msg.body = `body of ${subject}`;
    return m.put(msg);
  });
}

/** Gets everything that arrives until `n` messages were taken; returns their trackers and messages. */
async function take(m: Messenger, n: number, credit = n): Promise<Array<{ t: Tracker; msg: Message }>> {
  const out: Array<{ t: Tracker; msg: Message }> = [];
  while (out.length < n) {
    await m.recv(credit);
    for (let t = m.get(); t; t = m.get()) out.push({ t, msg: t.message as Message });
  }
  return out;
}

let proxy: TcpProxy;
beforeAll(async () => {
  const port = Number(new globalThis.URL(brokerUrl()).port || 5672);
  proxy = await startProxy({ targetPort: port });
});
afterAll(async () => {
  await proxy.close();
});

describe('Messenger on RabbitMQ', () => {
  test('10 000 messages through put/send/recv/get/accept: every tracker ACCEPTED, each message received once', async () => {
    const q = await queue('10k');
    const N = 10_000;
    const tx = await messenger('tx', (m) => {
      m.outgoingWindow = N;
    });
    const out = put(
      tx,
      `${URL}/${q}`,
      Array.from({ length: N }, (_, i) => `m${i}`),
    );
    expect(tx.outgoing).toBe(N);
    await tx.send();
    expect(tx.outgoing).toBe(0);
    expect(out.filter((t) => tx.status(t) !== TrackerStatus.ACCEPTED)).toEqual([]);
    const rx = await messenger('rx', (m) => {
      m.incomingWindow = N;
    });
    rx.subscribe(`${URL}/${q}`);
    const seen = new Set<string>();
    const trackers: Tracker[] = [];
    while (trackers.length < N) {
      await rx.recv(1000);
      for (let t = rx.get(); t; t = rx.get()) {
        const subject = t.message?.subject as string;
        expect(seen.has(subject)).toBe(false);
        seen.add(subject);
        rx.accept(t);
        trackers.push(t);
      }
    }
    expect(seen.size).toBe(N);
    expect(trackers.filter((t) => rx.status(t) !== TrackerStatus.ACCEPTED)).toEqual([]);
    await rx.stop();
    const { ch } = await s.open();
    await expectCount(ch, q, 0);
  }, 60_000);

  test('a real nack is REJECTED (x-overflow: reject-publish), an unroutable mandatory message RELEASED', async () => {
    const full = await queue('full', { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const tx = await messenger('tx', (m) => {
      m.outgoingWindow = 10;
    });
    const [first, second, third] = put(tx, `${URL}/${full}`, ['a', 'b', 'c']);
    const [lost] = put(tx, `${URL}/${s.name('no-such-queue')}`, ['d']);
    const [unbound] = put(tx, `${URL}/exchanges/amq.direct/${s.name('no-binding')}`, ['e']);
    await tx.send();
    expect([first, second, third, lost, unbound].map((t) => tx.status(t as Tracker))).toEqual([
      TrackerStatus.ACCEPTED,
      TrackerStatus.REJECTED,
      TrackerStatus.REJECTED,
      TrackerStatus.RELEASED,
      TrackerStatus.RELEASED,
    ]);
  });

  test('cumulative accept settles everything up to the last get; reject dead-letters', async () => {
    const dlq = await queue('dlq');
    const q = await queue('cumulative', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq });
    const tx = await messenger('tx');
    put(tx, `${URL}/${q}`, ['0', '1', '2', '3', '4']);
    await tx.send();
    const rx = await messenger('rx', (m) => {
      m.incomingWindow = 10;
    });
    rx.subscribe(`${URL}/${q}`);
    const got = await take(rx, 5);
    rx.reject(got[1]?.t);
    rx.accept();
    expect(got.map((g) => rx.status(g.t))).toEqual(['ACCEPTED', 'REJECTED', 'ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    await rx.stop(); // nothing unsettled goes back
    const { ch } = await s.open();
    await expectCount(ch, q, 0);
    await expectCount(ch, dlq, 1);
    expect((await ch.basicGet(dlq, { noAck: true }))?.subject).toBe('1');
  });

  test('windows: only the latest outgoingWindow trackers keep a status; deliveries falling out of incomingWindow are accepted', async () => {
    const q = await queue('windows');
    const tx = await messenger('tx', (m) => {
      m.outgoingWindow = 3;
    });
    const out = put(tx, `${URL}/${q}`, ['a', 'b', 'c', 'd', 'e']);
    await tx.send();
    expect(out.map((t) => tx.status(t))).toEqual(['UNKNOWN', 'UNKNOWN', 'ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    const rx = await messenger('rx', (m) => {
      m.incomingWindow = 2;
    });
    rx.subscribe(`${URL}/${q}`);
    const got = await take(rx, 5);
    expect(got.map((g) => rx.status(g.t))).toEqual(['UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'PENDING', 'PENDING']);
    rx.reject(); // the two still tracked; the three that fell out were accepted
    await rx.stop();
    const { ch } = await s.open();
    await expectCount(ch, q, 0);
  });

  test('blocking = false: send() and recv() return at once, work() does the waiting', async () => {
    const q = await queue('nonblocking');
    const tx = await messenger('tx', (m) => {
      m.blocking = false;
      m.outgoingWindow = 3;
    });
    const out = put(tx, `${URL}/${q}`, ['a', 'b', 'c']);
    await tx.send();
    expect(out.map((t) => tx.status(t))).toEqual(['PENDING', 'PENDING', 'PENDING']);
    while (out.some((t) => tx.status(t) === TrackerStatus.PENDING)) await tx.work(5000);
    expect(out.map((t) => tx.status(t))).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    const rx = await messenger('rx', (m) => {
      m.blocking = false;
    });
    rx.subscribe(`${URL}/${q}`);
    await rx.recv(10);
    expect(rx.incoming).toBe(0);
    while (rx.incoming < 3) expect(await rx.work(5000)).toBe(true);
    expect([0, 1, 2].map(() => rx.get()?.message?.subject)).toEqual(['a', 'b', 'c']);
  });

  test('timeout: recv on an empty queue ends in Timeout, work() returns false; interrupt() ends a recv that waits for ever', async () => {
    const q = await queue('empty');
    const rx = await messenger('rx', (m) => {
      m.timeout = 200;
    });
    rx.subscribe(`${URL}/${q}`);
    await expect(rx.recv(1)).rejects.toBeInstanceOf(Timeout);
    expect(await rx.work(50)).toBe(false);
    rx.timeout = -1;
    const waiting = rx.recv(1);
    setTimeout(() => rx.interrupt(), 50);
    await expect(waiting).rejects.toBeInstanceOf(MessengerInterrupted);
  });

  test('route() and rewrite(): two domains, one connection each named after the Messenger; the receiver sees the rewritten address', async () => {
    const qa = await queue('east');
    const qb = await queue('west');
    const tx = await messenger('tx', (m) => {
      m.outgoingWindow = 2;
    });
    tx.route('amqp://east/*', `${URL}/$1`);
    tx.route('amqp://west/*', `${proxy.url.replace(/\/+$/, '')}/$1`);
    tx.rewrite('amqp://west/*', 'amqp://west.example/$1');
    const [a] = put(tx, `amqp://east/${qa}`, ['to east']);
    const [b] = put(tx, `amqp://west/${qb}`, ['to west']);
    await tx.send();
    expect([tx.status(a as Tracker), tx.status(b as Tracker)]).toEqual(['ACCEPTED', 'ACCEPTED']);
    // one connection per domain, both named after the Messenger; one of them goes through the forwarder
    await eventually(async () => (await listConnections()).filter((x) => x.connectionName === tx.name).length === 2, {
      what: 'two connections named after the Messenger',
    });
    expect(proxy.connections()).toBe(1);
    const rx = await messenger('rx');
    rx.subscribe(`${URL}/${qa}`);
    rx.subscribe(`${URL}/${qb}`);
    const got = await take(rx, 2, -1);
    const seen = Object.fromEntries(got.map((g) => [g.msg.subject, g.msg.address]));
    expect(seen).toEqual({ 'to east': `amqp://east/${qa}`, 'to west': `amqp://west.example/${qb}` });
  });

  test('one connection per domain, recovered after it was lost: unsettled deliveries come back, sending goes on', async () => {
    const q = await queue('recovery');
    const viaProxy = `${proxy.url.replace(/\/+$/, '')}/${q}`; // so the test can cut the sockets
    const tx = await messenger('tx', (m) => {
      m.outgoingWindow = 10;
    });
    put(tx, viaProxy, ['a', 'b']);
    await tx.send();
    const rx = await messenger('rx', (m) => {
      m.incomingWindow = 10;
    });
    rx.subscribe(viaProxy);
    const first = await take(rx, 2, -1); // taken, not accepted
    expect(proxy.connections()).toBe(2);
    proxy.cutAll();
    await eventually(() => first.every((g) => rx.status(g.t) === TrackerStatus.RELEASED), { what: 'the taken deliveries to be released' });
    const again = await take(rx, 2, -1); // the recovered consumer gets them again
    expect(again.map((g) => [g.msg.subject, g.msg.deliveryInfo?.redelivered])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    rx.accept();
    const [c] = put(tx, viaProxy, ['c']);
    await tx.send();
    expect(tx.status(c as Tracker)).toBe(TrackerStatus.ACCEPTED);
    const [g] = await take(rx, 1, -1);
    expect(g?.msg.subject).toBe('c');
    rx.accept();
    expect(proxy.connections()).toBe(2); // each domain's one connection, reconnected and reused
  });

  test('credentials in an address are used to connect and removed from the address the receiver sees', async () => {
    const q = await queue('creds');
    const tx = await messenger('tx');
    const withCreds = URL.replace(/^amqp:\/\/([^@/]*@)?/, 'amqp://guest:guest@');
    put(tx, `${withCreds}/${q}`, ['secret-free']);
    await tx.send();
    const rx = await messenger('rx');
    rx.subscribe(`${URL}/${q}`);
    const [g] = await take(rx, 1);
    expect(g?.msg.address).toBe(`${withCreds.replace('guest:guest@', '')}/${q}`);
  });

  test('queues are used as they are: a missing one fails recv() with NotFound saying so; the declare option declares it', async () => {
    const absent = s.queue(s.name('absent'));
    const rx = await messenger('rx');
    rx.subscribe(`${URL}/${absent}`);
    await expect(rx.recv(1)).rejects.toThrow(NotFound);
    const declaring = new Messenger(s.name('declaring'), { declare: { autoDelete: false } });
    declaring.timeout = 300;
    await declaring.start();
    s.defer(() => declaring.stop());
    declaring.subscribe(`${URL}/${absent}`);
    await expect(declaring.recv(1)).rejects.toBeInstanceOf(Timeout);
    const { ch } = await s.open();
    expect((await ch.queueDeclare(absent, { passive: true })).queue).toBe(absent);
  });

  test('an exchange subscription gets what is published to the exchange with a matching key', async () => {
    const key = s.name('topic');
    const rx = await messenger('rx', (m) => {
      m.timeout = 1000;
    });
    rx.subscribe(`${URL}/exchanges/amq.topic/${key}.*`);
    await expect(rx.recv(5)).rejects.toBeInstanceOf(Timeout); // consuming; nothing published yet
    const tx = await messenger('tx', (m) => {
      m.outgoingWindow = 2;
    });
    const out = [
      ...put(tx, `${URL}/exchanges/amq.topic/${key}.a`, ['match']),
      ...put(tx, `${URL}/exchanges/amq.topic/${key}`, ['no match']),
    ];
    await tx.send();
    expect(out.map((t) => tx.status(t))).toEqual(['ACCEPTED', 'RELEASED']);
    const [g] = await take(rx, 1);
    expect([g?.msg.subject, g?.msg.address]).toEqual([
      'match',
      `${URL.replace(/^amqp:\/\/[^@/]*@/, 'amqp://')}/exchanges/amq.topic/${key}.a`,
    ]);
  });

  test('bad input: an address that does not parse, a tracker of another Messenger, get() on an empty queue', async () => {
    const q = await queue('bad');
    const a = await messenger('a');
    const b = await messenger('b');
    const msg = new Message('x');
    msg.address = `${URL}/queues/${q}/extra`;
    expect(() => a.put(msg)).toThrow(AddressError);
    msg.address = `${URL}/${q}`;
    const t = a.put(msg);
    expect(() => b.status(t)).toThrow(TrackerError);
    b.subscribe(`${URL}/${q}`);
    expect(b.get()).toBeNull();
    await a.send();
    await b.recv(1);
    expect(() => a.accept(b.get() as Tracker)).toThrow(TrackerError);
    expect(b.get()).toBeNull();
  });
});
