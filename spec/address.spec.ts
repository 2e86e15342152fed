// Addresses of the higher layers: RabbitMQ's AMQP 1.0 forms, bare queue names, broker URLs.
import { describe, expect, it } from '@jest/globals';
import { AddressError, formatNode, parseAddress, parseNode } from '../lib/address.js';

describe('parseNode', () => {
  it.each([
    ['examples', { kind: 'queue', queue: 'examples' }],
    ['/queues/orders', { kind: 'queue', queue: 'orders' }],
    ['/queues/a%2Fb%20c', { kind: 'queue', queue: 'a/b c' }],
    ['/exchanges/amq.topic', { kind: 'exchange', exchange: 'amq.topic', routingKey: undefined }],
    ['/exchanges/amq.topic/stock.%23', { kind: 'exchange', exchange: 'amq.topic', routingKey: 'stock.#' }],
    ['/exchanges/x/', { kind: 'exchange', exchange: 'x', routingKey: '' }],
  ])('%s', (name, node) => {
    expect(parseNode(name)).toEqual(node);
  });

  it.each([
    ['', /cannot be empty/],
    ['/topics/t', /is not one of/],
    ['/queues/', /is not one of/],
    ['/queues/a/b', /is not one of/],
    ['/exchanges/x/k/extra', /is not one of/],
    ['/queues/%E0%A4%A', /bad percent-encoding/],
    ['~incoming', /listen addresses are not supported/],
  ])('%j is an AddressError', (name, why) => {
    expect(() => parseNode(name)).toThrow(AddressError);
    expect(() => parseNode(name)).toThrow(why);
  });

  it('round-trips through formatNode', () => {
    for (const n of ['/queues/a%2Fb', '/exchanges/x', '/exchanges/x/a.b']) expect(formatNode(parseNode(n))).toBe(n);
  });
});

describe('parseAddress', () => {
  it('a broker URL and a node', () => {
    expect(parseAddress('amqp://guest:guest@localhost:5673/examples')).toEqual({
      url: 'amqp://guest:guest@localhost:5673',
      domain: 'localhost:5673',
      node: { kind: 'queue', queue: 'examples' },
    });
    expect(parseAddress('AMQPS://broker.example/exchanges/x/k').node).toEqual({ kind: 'exchange', exchange: 'x', routingKey: 'k' });
    expect(parseAddress('amqp://broker/queues/q%201').node).toEqual({ kind: 'queue', queue: 'q 1' });
    expect(parseAddress('amqp://broker')).toEqual({ url: 'amqp://broker', domain: 'broker', node: null });
  });

  it("Proton's scheme-less form host[:port]/name", () => {
    expect(parseAddress('localhost/examples')).toEqual({
      url: 'amqp://localhost',
      domain: 'localhost',
      node: { kind: 'queue', queue: 'examples' },
    });
    expect(parseAddress('user:pw@10.0.0.1:5673/q').url).toBe('amqp://user:pw@10.0.0.1:5673');
  });

  it('bare nodes have no broker part', () => {
    expect(parseAddress('/queues/q')).toEqual({ url: undefined, domain: undefined, node: { kind: 'queue', queue: 'q' } });
    expect(parseAddress('plain')).toEqual({ url: undefined, domain: undefined, node: { kind: 'queue', queue: 'plain' } });
  });

  it('malformed addresses are AddressErrors', () => {
    expect(() => parseAddress('amqp:///q')).toThrow(/has no host/);
    expect(() => parseAddress('amqp://~0.0.0.0/q')).toThrow(/listen/);
    expect(() => parseAddress('amqp://host/topics/x')).toThrow(AddressError);
    expect(() => parseAddress('amqp://ho st/q')).toThrow(/not a valid host part/);
    expect(() => parseAddress(5 as unknown as string)).toThrow(/must be a string/);
  });
});
