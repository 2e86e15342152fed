import { describe, it, expect } from '@jest/globals';
import { FrameError, ArgumentError } from '../../lib/errors.js';
import { decodeProperties, encodeProperties, PROPERTY_NAMES, type BasicProperties } from '../../lib/protocol/generated/properties.js';
import { Reader, Writer } from '../../lib/protocol/primitives.js';
import { prng } from '../support/prng.js';

const encode = (p: BasicProperties): Buffer => {
  const w = new Writer(4);
  encodeProperties(w, p);
  return Buffer.from(w.result());
};
const decode = (b: Buffer): BasicProperties => {
  const r = new Reader(b);
  const p = decodeProperties(r);
  expect(r.pos).toBe(b.length);
  return p;
};

function randomProperty(name: (typeof PROPERTY_NAMES)[number], rnd: () => number): unknown {
  const int = (max: number): number => Math.floor(rnd() * (max + 1));
  switch (name) {
    case 'applicationHeaders':
      return { 'x-n': int(1000), s: `v${int(9)}`, nested: { ok: rnd() < 0.5 } };
    case 'deliveryMode':
    case 'priority':
      return int(255);
    case 'timestamp':
      return new Date(int(2 ** 32) * 1000);
    default:
      return 'é'.repeat(int(3)) + 'x'.repeat(int(rnd() < 0.1 ? 249 : 30));
  }
}

describe('basic properties', () => {
  it('has the 14 properties in flag order', () => {
    expect(PROPERTY_NAMES).toEqual([
      'contentType',
      'contentEncoding',
      'applicationHeaders',
      'deliveryMode',
      'priority',
      'correlationId',
      'replyTo',
      'expiration',
      'messageId',
      'timestamp',
      'type',
      'userId',
      'appId',
      'clusterId',
    ]);
  });

  it('encodes flag bits and values by hand', () => {
    // content-type = bit 15, delivery-mode = bit 12, cluster-id = bit 2
    const bytes = encode({ contentType: 'a', deliveryMode: 2, clusterId: 'c' });
    expect(bytes.toString('hex')).toBe('9004' + '0161' + '02' + '0163');
    expect(encode({}).toString('hex')).toBe('0000');
    expect(encode({ contentType: undefined, timestamp: new Date(1700000000000), applicationHeaders: {} }).toString('hex')).toBe(
      '2040' + '00000000' + '000000006553f100',
    );
    expect(decode(bytes)).toEqual({ contentType: 'a', deliveryMode: 2, clusterId: 'c' });
  });

  it('round-trips every one of the 2^14 presence patterns with random values', () => {
    const rnd = prng(1234);
    for (let mask = 0; mask < 1 << 14; mask++) {
      const p: Record<string, unknown> = {};
      PROPERTY_NAMES.forEach((name, i) => {
        if (mask & (1 << i)) p[name] = randomProperty(name, rnd);
        else if (rnd() < 0.1) p[name] = undefined;
      });
      const bytes = encode(p as BasicProperties);
      let flags = 0;
      PROPERTY_NAMES.forEach((_n, i) => {
        if (mask & (1 << i)) flags |= 1 << (15 - i);
      });
      expect(bytes.readUInt16BE(0)).toBe(flags);
      const decoded = decode(bytes);
      const expected = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
      expect(decoded).toEqual(expected);
      expect(Object.keys(decoded).sort()).toEqual(Object.keys(expected).sort());
      expect(encode(decoded).equals(bytes)).toBe(true);
    }
  });

  it('rejects the continuation flag and undefined flag bits with FrameError', () => {
    expect(() => decode(Buffer.from('0001', 'hex'))).toThrow(FrameError);
    expect(() => decode(Buffer.from('8001', 'hex'))).toThrow(/flag bits/);
    expect(() => decode(Buffer.from('0002', 'hex'))).toThrow(FrameError);
  });

  it('truncated property lists throw FrameError', () => {
    const bytes = encode({ contentType: 'text/plain', applicationHeaders: { a: 1 }, priority: 3, timestamp: new Date(0), appId: 'x' });
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeProperties(new Reader(bytes.subarray(0, n)))).toThrow(FrameError);
    }
  });

  it('rejects invalid values with ArgumentError naming the property', () => {
    expect(() => encode({ priority: 256 })).toThrow(/^basic properties: priority: expected an integer 0\.\.255/);
    expect(() => encode({ deliveryMode: -1 })).toThrow(ArgumentError);
    expect(() => encode({ messageId: 'm'.repeat(256) })).toThrow(/^basic properties: messageId: shortstr longer than 255 bytes/);
    expect(() => encode({ applicationHeaders: { f: Symbol('x') as never } })).toThrow(
      /^basic properties: applicationHeaders: f: cannot encode a symbol/,
    );
    expect(() => encode({ timestamp: new Date(NaN) })).toThrow(ArgumentError);
  });

  it('round-trips header tags exactly (x-death style)', () => {
    const headersBytes = Buffer.from('2000' + '0000001a' + '05636f756e74' + '6c0000000000000002' + '0178' + '643ff0000000000000', 'hex');
    const p = decode(headersBytes);
    expect(p.applicationHeaders).toEqual({ count: 2, x: 1 });
    expect(encode(p).equals(headersBytes)).toBe(true);
  });
});
