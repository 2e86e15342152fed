// Link options and transactions against the real broker: a DurableSubscription kept while its
// receiver is away and deleted by close(); Copy on an exchange giving every receiver every
// message; a sender without a target routing by message address (unroutable: released, missing
// exchange: rejected); transactions whose aborts leave nothing sent and give accepted messages back.
import { expect, test } from '@jest/globals';
import {
  Container,
  type ContainerConnection,
  Copy,
  DurableSubscription,
  type Event,
  Message,
  MessagingHandler,
  NotFound,
  type Receiver,
  type Sender,
  type Transaction,
  type TransactionHandler,
} from '../../lib/index.js';
import { brokerUrl } from '../support/broker.js';
import { runContainer } from './support.js';
import { expectCount, rejectionOf, suite } from '../harness.js';

const s = suite();

const run = (container: Container): Promise<unknown> => runContainer(s, container);

test('DurableSubscription: the queue outlives detach() and collects messages meanwhile; close() deletes it', async () => {
  const { ch } = await s.open();
  const x = s.exchange(s.name('news'));
  await ch.exchangeDeclare(x, 'topic');
  const id = s.name('ctr');
  const queue = s.queue(`${id}:sub`);

  class Sub extends MessagingHandler {
    readonly got: string[] = [];
    constructor(
      private readonly want: number,
      private readonly end: 'detach' | 'close',
    ) {
      super();
    }
    onStart(e: Event): void {
      e.container.createReceiver(e.container.connect(brokerUrl()), `/exchanges/${x}/sport.#`, {
        name: 'sub',
        options: new DurableSubscription(),
      });
    }
    onLinkOpened(e: Event): void {
      if (this.want === 0) this.finish(e);
    }
    onMessage(e: Event): void {
      this.got.push(String(e.message.body));
      if (this.got.length === this.want) this.finish(e);
    }
    private finish(e: Event): void {
      if (this.end === 'detach') e.receiver.detach();
      else e.receiver.close();
    }
    onLinkClosed(e: Event): void {
      e.connection.close();
    }
  }
  expect(await run(new Container(new Sub(0, 'detach'), { id }))).toBe('resolved');
  await ch.confirmSelect();
  await ch.basicPublish(new Message('goal'), { exchange: x, routingKey: 'sport.football' });
  await ch.basicPublish(new Message('rain'), { exchange: x, routingKey: 'weather.today' });
  await ch.basicPublish(new Message('match'), { exchange: x, routingKey: 'sport.tennis' });
  await expectCount(ch, queue, 2);
  const back = new Sub(2, 'close');
  expect(await run(new Container(back, { id }))).toBe('resolved');
  expect(back.got).toEqual(['goal', 'match']);
  expect(await rejectionOf(ch.queueDeclare(queue, { passive: true }))).toBeInstanceOf(NotFound);
});

test('Copy on a fanout exchange: two receivers each get every message', async () => {
  const { ch } = await s.open();
  const x = s.exchange(s.name('fan'));
  await ch.exchangeDeclare(x, 'fanout');
  const got = new Map<Receiver, string[]>();
  const h = new (class extends MessagingHandler {
    conn: ContainerConnection | undefined;
    sender: Sender | undefined;
    onStart(e: Event): void {
      this.conn = e.container.connect(brokerUrl());
      for (let i = 0; i < 2; i++) got.set(e.container.createReceiver(this.conn, `/exchanges/${x}`, { options: new Copy() }), []);
      this.sender = e.container.createSender(this.conn, `/exchanges/${x}`);
    }
    onLinkOpened(): void {
      // once both receivers' queues are bound, and the sender is attached
      if (this.sender?.isOpen && [...got.keys()].every((r) => r.isOpen)) {
        for (const b of ['1', '2', '3']) this.sender.send(new Message(b));
        this.sender.close();
      }
    }
    onMessage(e: Event): void {
      got.get(e.receiver)?.push(String(e.message.body));
      if ([...got.values()].every((l) => l.length === 3)) e.connection.close();
    }
  })();
  expect(await run(new Container(h))).toBe('resolved');
  expect([...got.values()]).toEqual([
    ['1', '2', '3'],
    ['1', '2', '3'],
  ]);
});

test('a sender without a target routes by message address; unroutable -> onReleased, missing exchange -> onRejected', async () => {
  const { ch } = await s.open();
  const q = s.queue(s.name('relay'));
  await ch.queueDeclare(q);
  const outcomes: string[] = [];
  const h = new (class extends MessagingHandler {
    onStart(e: Event): void {
      e.container.createSender(e.container.connect(brokerUrl()), null);
    }
    onSendable(e: Event): void {
      for (const [body, address] of [
        ['to queue', q],
        ['to nowhere', s.name('no-such-queue')],
        ['to no exchange', `/exchanges/${s.name('no-such-exchange')}/k`],
        ['to queue again', `/queues/${q}`],
      ]) {
        const m = new Message(body);
        m.address = address;
        e.sender.send(m);
      }
      e.sender.close();
    }
    onAccepted(e: Event): void {
      outcomes.push(`accepted ${String(e.message.body)}`);
    }
    onReleased(e: Event): void {
      outcomes.push(`released ${String(e.message.body)}`);
    }
    onRejected(e: Event): void {
      outcomes.push(`rejected ${String(e.message.body)} (${e.error?.replyCode})`);
    }
    onLinkClosed(e: Event): void {
      e.connection.close();
    }
  })();
  expect(await run(new Container(h))).toBe('resolved');
  expect(outcomes.sort()).toEqual(
    ['accepted to queue', 'accepted to queue again', 'rejected to no exchange (404)', 'released to nowhere'].sort(),
  );
  await expectCount(ch, q, 2);
});

test('transactions: an aborted send leaves nothing; accepted deliveries of an aborted transaction come back; commits count', async () => {
  const { ch } = await s.open();
  const q = s.queue(s.name('txq'));
  await ch.queueDeclare(q);
  const steps: string[] = [];
  class Tx extends MessagingHandler implements TransactionHandler {
    conn: ContainerConnection | undefined;
    sender: Sender | undefined;
    receiver: Receiver | undefined;
    tx: Transaction | undefined;
    round = 0;
    constructor() {
      super({ prefetch: 0, autoAccept: false });
    }
    onStart(e: Event): void {
      this.conn = e.container.connect(brokerUrl());
      this.sender = e.container.createSender(this.conn, q);
      this.receiver = e.container.createReceiver(this.conn, q);
      e.container.declareTransaction(this.conn);
    }
    onTransactionDeclared(e: Event): void {
      const tx = e.transaction;
      this.tx = tx;
      this.round++;
      if (this.round === 1) {
        for (const b of ['x', 'y', 'z']) tx.send(this.sender as Sender, new Message(b));
        tx.abort();
      } else if (this.round === 2) {
        for (const b of ['a', 'b']) tx.send(this.sender as Sender, new Message(b));
        tx.commit();
      } else this.receiver?.flow(2);
    }
    onMessage(e: Event): void {
      this.tx?.accept(e.delivery);
      steps.push(`got ${String(e.message.body)}${e.message.deliveryInfo?.redelivered ? ' again' : ''}`);
      if (steps.filter((x) => x.startsWith('got')).length % 2 === 0) {
        if (this.round === 3) this.tx?.abort();
        else this.tx?.commit();
      }
    }
    onTransactionAborted(e: Event): void {
      steps.push(`aborted ${this.round}`);
      void ch.queueDeclare(q, { passive: true }).then((r) => {
        steps.push(`count ${r.messageCount}`);
        e.container.declareTransaction(this.conn as ContainerConnection);
      });
    }
    onTransactionCommitted(e: Event): void {
      steps.push(`committed ${this.round}`);
      if (this.round === 2) e.container.declareTransaction(this.conn as ContainerConnection);
      else e.connection.close();
    }
  }
  expect(await run(new Container(new Tx()))).toBe('resolved');
  expect(steps).toEqual([
    'aborted 1',
    'count 0',
    'committed 2',
    'got a',
    'got b',
    'aborted 3',
    'count 2',
    'got a again',
    'got b again',
    'committed 4',
  ]);
  await expectCount(ch, q, 0);
});
