import { describe, expect, it } from '@jest/globals';

import { Topology, type BindingRecord, type ExchangeRecord, type QueueRecord } from '../../lib/recovery/topology.js';

const ex = (name: string, o: Partial<ExchangeRecord> = {}): ExchangeRecord => ({
  kind: 'exchange',
  name,
  type: 'direct',
  durable: false,
  autoDelete: false,
  internal: false,
  arguments: {},
  ...o,
});
const q = (name: string, o: Partial<QueueRecord> = {}): QueueRecord => ({
  kind: 'queue',
  name,
  serverNamed: false,
  durable: false,
  exclusive: false,
  autoDelete: false,
  arguments: {},
  ...o,
});
const qb = (queue: string, exchange: string, routingKey = '', args = {}): BindingRecord => ({
  kind: 'queue-binding',
  destination: queue,
  source: exchange,
  routingKey,
  arguments: args,
});
const eb = (destination: string, source: string, routingKey = '', args = {}): BindingRecord => ({
  kind: 'exchange-binding',
  destination,
  source,
  routingKey,
  arguments: args,
});

const names = (t: Topology): string[] =>
  t
    .entities()
    .map((e) =>
      e.kind === 'exchange' || e.kind === 'queue' ? `${e.kind}:${e.name}` : `${e.kind}:${e.source}->${e.destination}:${e.routingKey}`,
    );

describe('Topology: recording', () => {
  it('records exchanges, queues and bindings and lists them exchanges, queues, bindings', () => {
    const t = new Topology();
    // recorded out of order on purpose: entities() must still be in a declarable order
    t.recordBinding(qb('q1', 'x1', 'k'));
    t.recordQueue(q('q1', { durable: true }));
    t.recordExchange(ex('x1', { type: 'topic' }));
    t.recordBinding(eb('x2', 'x1', 'k2'));
    t.recordExchange(ex('x2'));
    expect(names(t)).toEqual(['exchange:x1', 'exchange:x2', 'queue:q1', 'queue-binding:x1->q1:k', 'exchange-binding:x1->x2:k2']);
    expect(t.queues.get('q1')?.durable).toBe(true);
    expect(t.exchanges.get('x1')?.type).toBe('topic');
  });

  it('never records the default exchange or amq.* exchanges', () => {
    const t = new Topology();
    t.recordExchange(ex(''));
    t.recordExchange(ex('amq.direct'));
    t.recordExchange(ex('amq.topic', { type: 'topic', durable: true }));
    t.recordExchange(ex('amq.custom-thing'));
    expect(t.exchanges.size).toBe(0);
    // but bindings to them are the user's and are kept
    t.recordBinding(qb('q', 'amq.direct', 'rk'));
    expect(names(t)).toEqual(['queue-binding:amq.direct->q:rk']);
  });

  it('a redeclaration replaces the record (last settings win) and duplicates are kept once', () => {
    const t = new Topology();
    t.recordExchange(ex('x', { type: 'direct' }));
    t.recordExchange(ex('x', { type: 'fanout', durable: true }));
    t.recordQueue(q('q'));
    t.recordQueue(q('q', { arguments: { 'x-max-length': 10 } }));
    t.recordBinding(qb('q', 'x', 'k'));
    t.recordBinding(qb('q', 'x', 'k'));
    expect(t.exchanges.size).toBe(1);
    expect(t.exchanges.get('x')).toMatchObject({ type: 'fanout', durable: true });
    expect(t.queues.get('q')?.arguments).toEqual({ 'x-max-length': 10 });
    expect(t.bindings.size).toBe(1);
  });

  it('bindings differing only in routing key or arguments are distinct', () => {
    const t = new Topology();
    t.recordBinding(qb('q', 'x', 'a'));
    t.recordBinding(qb('q', 'x', 'b'));
    t.recordBinding(qb('q', 'x', 'a', { 'x-match': 'all' }));
    t.recordBinding(eb('q', 'x', 'a')); // same names, other kind
    expect(t.bindings.size).toBe(4);
    t.removeBinding(qb('q', 'x', 'a'));
    expect(t.bindings.size).toBe(3);
    t.removeBinding(qb('q', 'x', 'a', { 'x-match': 'all' }));
    t.removeBinding(qb('q', 'x', 'zzz')); // unknown: no-op
    expect(names(t)).toEqual(['queue-binding:x->q:b', 'exchange-binding:x->q:a']);
  });
});

describe('Topology: deleting', () => {
  it("deleting a queue forgets it and its bindings, not other queues' bindings", () => {
    const t = new Topology();
    t.recordExchange(ex('x'));
    t.recordQueue(q('q1'));
    t.recordQueue(q('q2'));
    t.recordBinding(qb('q1', 'x', 'a'));
    t.recordBinding(qb('q1', 'amq.topic', 'b'));
    t.recordBinding(qb('q2', 'x', 'a'));
    t.deleteQueue('q1');
    expect(names(t)).toEqual(['exchange:x', 'queue:q2', 'queue-binding:x->q2:a']);
    t.deleteQueue('never-declared'); // no-op
    expect(t.entities()).toHaveLength(3);
  });

  it('deleting a queue does not drop an exchange-to-exchange binding whose destination has the same name', () => {
    const t = new Topology();
    t.recordExchange(ex('same'));
    t.recordExchange(ex('src'));
    t.recordQueue(q('same'));
    t.recordBinding(eb('same', 'src'));
    t.deleteQueue('same');
    expect(names(t)).toEqual(['exchange:same', 'exchange:src', 'exchange-binding:src->same:']);
  });

  it('deleting an exchange drops every binding from it and every exchange binding to it', () => {
    const t = new Topology();
    t.recordExchange(ex('x'));
    t.recordExchange(ex('up'));
    t.recordExchange(ex('down'));
    t.recordQueue(q('q'));
    t.recordBinding(qb('q', 'x', 'k1'));
    t.recordBinding(qb('q', 'x', 'k2'));
    t.recordBinding(eb('x', 'up', 'to-x')); // x is the destination
    t.recordBinding(eb('down', 'x', 'from-x')); // x is the source
    t.recordBinding(eb('down', 'up', 'unrelated'));
    t.recordBinding(qb('q', 'up', 'unrelated'));
    t.deleteExchange('x');
    expect(names(t)).toEqual([
      'exchange:up',
      'exchange:down',
      'queue:q',
      'exchange-binding:up->down:unrelated',
      'queue-binding:up->q:unrelated',
    ]);
  });

  it("deleting an exchange does not touch a queue binding whose queue has the exchange's name", () => {
    const t = new Topology();
    t.recordExchange(ex('n'));
    t.recordExchange(ex('other'));
    t.recordQueue(q('n'));
    t.recordBinding(qb('n', 'other'));
    t.deleteExchange('n');
    expect(names(t)).toEqual(['exchange:other', 'queue:n', 'queue-binding:other->n:']);
  });

  it('removing the last binding of an auto-delete exchange forgets the exchange', () => {
    const t = new Topology();
    t.recordExchange(ex('ad', { autoDelete: true }));
    t.recordExchange(ex('keep')); // not auto-delete
    t.recordQueue(q('q'));
    t.recordBinding(qb('q', 'ad', 'a'));
    t.recordBinding(qb('q', 'ad', 'b'));
    t.recordBinding(qb('q', 'keep', 'a'));
    t.removeBinding(qb('q', 'ad', 'a'));
    expect(t.exchanges.has('ad')).toBe(true); // one binding left
    t.removeBinding(qb('q', 'ad', 'b'));
    expect(t.exchanges.has('ad')).toBe(false);
    t.removeBinding(qb('q', 'keep', 'a'));
    expect(t.exchanges.has('keep')).toBe(true);
    expect(names(t)).toEqual(['exchange:keep', 'queue:q']);
  });

  it('an exchange-to-exchange binding counts as a binding of its auto-delete source', () => {
    const t = new Topology();
    t.recordExchange(ex('ad', { autoDelete: true }));
    t.recordExchange(ex('dst'));
    t.recordQueue(q('q'));
    t.recordBinding(eb('dst', 'ad'));
    t.recordBinding(qb('q', 'ad'));
    t.removeBinding(qb('q', 'ad'));
    expect(t.exchanges.has('ad')).toBe(true);
    t.removeBinding(eb('dst', 'ad'));
    expect(t.exchanges.has('ad')).toBe(false);
  });

  it('an auto-delete exchange that never had a binding is kept (the broker keeps it too)', () => {
    const t = new Topology();
    t.recordExchange(ex('ad', { autoDelete: true }));
    t.removeBinding(qb('q', 'other'));
    expect(t.exchanges.has('ad')).toBe(true);
  });

  it('deleting the last queue bound to an auto-delete exchange forgets the exchange (RabbitMQ deletes it with the binding)', () => {
    // RabbitMQ removes a deleted queue's bindings and auto-deletes a source exchange left without
    // any (rabbit_binding:remove_for_destination -> maybe_auto_delete); recovery must not bring it back.
    const t = new Topology();
    t.recordExchange(ex('ad', { autoDelete: true }));
    t.recordQueue(q('q'));
    t.recordBinding(qb('q', 'ad', 'k'));
    t.deleteQueue('q');
    expect(names(t)).toEqual([]);
  });

  it('deleting the destination of the last exchange binding of an auto-delete exchange forgets the source too', () => {
    const t = new Topology();
    t.recordExchange(ex('src', { autoDelete: true }));
    t.recordExchange(ex('dst'));
    t.recordBinding(eb('dst', 'src', 'k'));
    t.deleteExchange('dst');
    expect(names(t)).toEqual([]);
  });

  it('deleting a queue keeps an auto-delete exchange that still has other bindings', () => {
    const t = new Topology();
    t.recordExchange(ex('ad', { autoDelete: true }));
    t.recordQueue(q('q1'));
    t.recordQueue(q('q2'));
    t.recordBinding(qb('q1', 'ad'));
    t.recordBinding(qb('q2', 'ad'));
    t.deleteQueue('q1');
    expect(names(t)).toEqual(['exchange:ad', 'queue:q2', 'queue-binding:ad->q2:']);
  });

  it('an auto-delete queue is forgotten when its last consumer is cancelled', () => {
    const t = new Topology();
    t.recordExchange(ex('x'));
    t.recordQueue(q('ad', { autoDelete: true }));
    t.recordBinding(qb('ad', 'x', 'k'));
    t.consumerCancelled('ad', true); // another consumer remains
    expect(t.queues.has('ad')).toBe(true);
    t.consumerCancelled('ad', false);
    expect(t.queues.has('ad')).toBe(false);
    expect(names(t)).toEqual(['exchange:x']); // its binding went with it
  });

  it('cancelling the last consumer of a plain queue (or an unknown one) keeps everything', () => {
    const t = new Topology();
    t.recordQueue(q('plain'));
    t.recordBinding(qb('plain', 'x'));
    t.consumerCancelled('plain', false);
    t.consumerCancelled('unknown', false);
    expect(names(t)).toEqual(['queue:plain', 'queue-binding:x->plain:']);
  });
});

describe('Topology: renaming server-named queues', () => {
  it('moves the record and its queue bindings to the new name, keeping order and settings', () => {
    const t = new Topology();
    t.recordExchange(ex('x'));
    t.recordQueue(q('amq.gen-old', { serverNamed: true, exclusive: true, autoDelete: true, arguments: { a: 1 } }));
    t.recordQueue(q('other'));
    t.recordBinding(qb('amq.gen-old', 'x', 'k1'));
    t.recordBinding(qb('other', 'x', 'k1'));
    t.recordBinding(qb('amq.gen-old', 'amq.fanout', ''));
    t.recordBinding(eb('amq.gen-old', 'x')); // an exchange of that name: not a queue binding, untouched
    t.rename('amq.gen-old', 'amq.gen-new');
    expect(t.queues.has('amq.gen-old')).toBe(false);
    expect(t.queues.get('amq.gen-new')).toEqual(
      q('amq.gen-new', { serverNamed: true, exclusive: true, autoDelete: true, arguments: { a: 1 } }),
    );
    const bs = [...t.bindings.values()];
    expect(
      bs
        .filter((b) => b.kind === 'queue-binding' && b.destination === 'amq.gen-new')
        .map((b) => b.source)
        .sort(),
    ).toEqual(['amq.fanout', 'x']);
    expect(bs.some((b) => b.kind === 'queue-binding' && b.destination === 'amq.gen-old')).toBe(false);
    expect(bs.some((b) => b.kind === 'exchange-binding' && b.destination === 'amq.gen-old')).toBe(true);
    expect(bs.some((b) => b.destination === 'other')).toBe(true);
    // still exchanges, then queues, then bindings (order among bindings is free)
    expect(t.entities().map((e) => (e.kind.endsWith('binding') ? 'binding' : e.kind))).toEqual([
      'exchange',
      'queue',
      'queue',
      'binding',
      'binding',
      'binding',
      'binding',
    ]);
  });

  it('a renamed queue can be renamed again, deleted and cancelled under its new name', () => {
    const t = new Topology();
    t.recordQueue(q('amq.gen-1', { serverNamed: true, autoDelete: true }));
    t.recordBinding(qb('amq.gen-1', 'x'));
    t.rename('amq.gen-1', 'amq.gen-2');
    t.rename('amq.gen-2', 'amq.gen-3');
    expect([...t.queues.keys()]).toEqual(['amq.gen-3']);
    expect([...t.bindings.values()].map((b) => b.destination)).toEqual(['amq.gen-3']);
    t.consumerCancelled('amq.gen-3', false);
    expect(t.entities()).toEqual([]);
  });

  it('renaming an unknown queue, or to the same name, changes nothing', () => {
    const t = new Topology();
    t.recordQueue(q('a'));
    t.recordBinding(qb('a', 'x'));
    t.rename('missing', 'b');
    t.rename('a', 'a');
    expect(names(t)).toEqual(['queue:a', 'queue-binding:x->a:']);
  });
});
