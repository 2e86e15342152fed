import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, FrameError } from '../../lib/errors.js';
import {
  decodeBasicDeliver,
  decodeMethod,
  encodeBasicAck,
  encodeBasicPublish,
  encodeMethod,
  HAS_CONTENT,
  METHOD_ID,
  METHOD_NAME,
  REPLIES,
  SYNCHRONOUS_REQUESTS,
  type MethodArgs,
  type MethodInit,
  type MethodName,
} from '../../lib/protocol/generated/methods.js';
import { Reader, Writer, type FieldTable } from '../../lib/protocol/primitives.js';
import { prng } from '../support/prng.js';

interface SpecField {
  name: string;
  type?: string;
  domain?: string;
}
interface SpecClass {
  name: string;
  id: number;
  methods: { name: string; id: number; arguments: SpecField[] }[];
}
const spec = JSON.parse(readFileSync(join(process.cwd(), 'protocol-spec/amqp-rabbitmq-0.9.1.json'), 'utf8')) as {
  domains: [string, string][];
  classes: SpecClass[];
};
const domains = new Map(spec.domains);
const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const METHODS = spec.classes.flatMap((c) =>
  c.methods.map((m) => ({
    name: `${c.name}.${m.name}` as MethodName,
    classId: c.id,
    methodId: m.id,
    fields: m.arguments.map((f) => ({ name: camel(f.name), type: f.type ?? domains.get(f.domain!)! })),
  })),
);

function randomValue(type: string, rnd: () => number): unknown {
  const int = (max: number): number => Math.floor(rnd() * (max + 1));
  const edge = <T>(values: T[], other: () => T): T => (rnd() < 0.3 ? values[int(values.length - 1)]! : other());
  const str = (max: number): string => {
    const chars = 'abcXYZ09.-_/é日😀';
    let s = '';
    const n = int(max);
    while (Buffer.byteLength(s) < n) {
      const c = [...chars][int(15)]!;
      if (Buffer.byteLength(s + c) > max) break;
      s += c;
    }
    return s;
  };
  switch (type) {
    case 'bit':
      return rnd() < 0.5;
    case 'octet':
      return edge([0, 255], () => int(255));
    case 'short':
      return edge([0, 65535], () => int(65535));
    case 'long':
      return edge([0, 0xffffffff], () => int(0xffffffff));
    case 'longlong':
      return edge([0, Number.MAX_SAFE_INTEGER], () => int(2 ** 40));
    case 'shortstr':
      return edge(['', 'x'.repeat(255)], () => str(40));
    case 'longstr':
      return Buffer.from(edge(['', 'PLAIN AMQPLAIN'], () => str(300)));
    case 'table': {
      const t: FieldTable = {};
      for (let i = int(4); i > 0; i--) t[str(10)] = rnd() < 0.5 ? str(20) : int(1000) - 500;
      if (rnd() < 0.2) t.nested = { list: [1, 'two', true, null], flag: false };
      return t;
    }
    case 'timestamp':
      return new Date(int(2 ** 31) * 1000);
    default:
      throw new Error(`no generator for ${type}`);
  }
}

function encode<N extends MethodName>(name: N, args: MethodInit[N]): Buffer {
  const w = new Writer(16);
  encodeMethod(w, name, args);
  return Buffer.from(w.result());
}

describe('generated methods', () => {
  it('covers all 66 methods of the spec with the right ids', () => {
    expect(METHODS).toHaveLength(66);
    expect(Object.keys(METHOD_ID)).toHaveLength(66);
    for (const m of METHODS) {
      expect(METHOD_ID[m.name]).toBe((m.classId << 16) | m.methodId);
      expect(METHOD_NAME[(m.classId << 16) | m.methodId]).toBe(m.name);
    }
    expect(METHOD_ID['exchange.unbind-ok']).toBe((40 << 16) | 51);
  });

  it('round-trips every method with seeded random arguments', () => {
    const rnd = prng(0x5eed);
    let checked = 0;
    for (let iter = 0; iter < 150; iter++) {
      for (const m of METHODS) {
        const args: Record<string, unknown> = {};
        for (const f of m.fields) args[f.name] = randomValue(f.type, rnd);
        const bytes = encode(m.name, args as never);
        expect(bytes.readUInt16BE(0)).toBe(m.classId);
        expect(bytes.readUInt16BE(2)).toBe(m.methodId);
        const r = new Reader(bytes);
        const decoded = decodeMethod(r);
        expect(r.pos).toBe(bytes.length);
        expect(decoded.name).toBe(m.name);
        expect(decoded.classId).toBe(m.classId);
        expect(decoded.methodId).toBe(m.methodId);
        expect(decoded.args).toEqual(args);
        expect(Object.keys(decoded.args)).toEqual(m.fields.map((f) => f.name));
        // re-encoding the decoded arguments reproduces the bytes
        expect(encode(m.name, decoded.args as never).equals(bytes)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(150 * 66);
  });

  it('truncated payloads throw FrameError at every length', () => {
    const rnd = prng(7);
    for (const m of METHODS) {
      const args: Record<string, unknown> = {};
      for (const f of m.fields) args[f.name] = randomValue(f.type, rnd);
      const bytes = encode(m.name, args as never);
      for (let n = 0; n < bytes.length; n++) {
        expect(() => decodeMethod(new Reader(bytes.subarray(0, n)))).toThrow(FrameError);
      }
    }
  });

  it('encodes basic.ack byte for byte', () => {
    const w = new Writer();
    encodeBasicAck(w, { deliveryTag: 5, multiple: true });
    expect(w.result().toString('hex')).toBe('003c0050' + '0000000000000005' + '01');
    expect(encode('basic.ack', {}).toString('hex')).toBe('003c0050' + '0000000000000000' + '00');
    expect(encode('basic.ack', { deliveryTag: 2 ** 32 + 1 }).toString('hex')).toBe('003c0050' + '0000000100000001' + '00');
  });

  it('packs queue.declare bits LSB first, with defaults', () => {
    const bytes = encode('queue.declare', { queue: 'q', durable: true, autoDelete: true });
    // id | ticket | shortstr 'q' | passive=1 durable=2 exclusive=4 auto-delete=8 nowait=16 | empty table
    expect(bytes.toString('hex')).toBe('0032000a' + '0000' + '0171' + '0a' + '00000000');
    expect(encode('queue.declare', { passive: true, exclusive: true, nowait: true }).toString('hex')).toBe(
      '0032000a' + '0000' + '00' + '15' + '00000000',
    );
    expect(encode('queue.declare', { arguments: { 'x-max-length': 10 } }).toString('hex')).toBe(
      `0032000a00000000000000120c${Buffer.from('x-max-length').toString('hex')}490000000a`,
    );
  });

  it('applies true defaults and encodes publish/deliver by hand', () => {
    // basic.nack: multiple=1, requeue=2 (default true)
    expect(encode('basic.nack', { deliveryTag: 1 }).toString('hex')).toBe('003c0078' + '0000000000000001' + '02');
    expect(encode('basic.nack', { deliveryTag: 1, requeue: false }).toString('hex')).toBe('003c0078' + '0000000000000001' + '00');
    // access.request: realm '/data', exclusive=0, passive/active/write/read default true
    expect(encode('access.request', {}).toString('hex')).toBe('001e000a' + '052f64617461' + '1e');
    const w = new Writer();
    encodeBasicPublish(w, { exchange: 'ex', routingKey: 'rk', mandatory: true });
    expect(w.result().toString('hex')).toBe('003c0028' + '0000' + '026578' + '02726b' + '01');
    const deliver = hex('05 7461673031 0000000000000007 01 026578 00');
    expect(decodeBasicDeliver(new Reader(deliver))).toEqual({
      consumerTag: 'tag01',
      deliveryTag: 7,
      redelivered: true,
      exchange: 'ex',
      routingKey: '',
    });
    expect(encode('connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 60 }).toString('hex')).toBe(
      '000a001f' + '07ff' + '00020000' + '003c',
    );
    expect(encode('connection.start-ok', { clientProperties: {}, response: '\0u\0p' }).toString('hex')).toBe(
      '000a000b' + '00000000' + '05504c41494e' + '00000004' + '00750070' + '05656e5f5553',
    );
  });

  it('rejects bad arguments with ArgumentError naming method and field', () => {
    expect(() => encode('queue.declare', { queue: 'q'.repeat(256) })).toThrow(
      new ArgumentError('queue.declare: queue: shortstr longer than 255 bytes (256)'),
    );
    expect(() => encode('basic.qos', { prefetchCount: -1 })).toThrow(/^basic\.qos: prefetchCount: expected an integer 0\.\.65535/);
    expect(() => encode('basic.qos', { prefetchCount: 65536 })).toThrow(ArgumentError);
    expect(() => encode('basic.ack', { deliveryTag: 1.5 })).toThrow(/^basic\.ack: deliveryTag:/);
    expect(() => encode('exchange.declare', {} as MethodInit['exchange.declare'])).toThrow(
      /^exchange\.declare: exchange: expected a string/,
    );
    expect(() => encode('queue.declare', { arguments: { f: (() => 1) as never } })).toThrow(
      /^queue\.declare: arguments: f: cannot encode a function/,
    );
    expect(() => encode('nope' as MethodName, {} as never)).toThrow(ArgumentError);
  });

  it('decodeMethod throws FrameError for unknown class or method ids', () => {
    expect(() => decodeMethod(new Reader(hex('00630001')))).toThrow(/unknown class id 99/);
    expect(() => decodeMethod(new Reader(hex('003c0063')))).toThrow(/unknown method id 99 of class basic/);
    expect(() => decodeMethod(new Reader(hex('003c0063')))).toThrow(FrameError);
    expect(() => decodeMethod(new Reader(hex('003c')))).toThrow(FrameError);
  });

  it('has consistent REPLIES, SYNCHRONOUS_REQUESTS and HAS_CONTENT', () => {
    expect(SYNCHRONOUS_REQUESTS.size).toBeGreaterThan(20);
    const replyTable: Partial<Record<MethodName, readonly MethodName[]>> = REPLIES;
    for (const req of SYNCHRONOUS_REQUESTS) {
      const replies = replyTable[req];
      expect(replies?.length).toBeGreaterThan(0);
      for (const r of replies ?? []) {
        expect(METHOD_ID[r]).toBeDefined();
        expect(SYNCHRONOUS_REQUESTS.has(r)).toBe(false);
      }
    }
    for (const k of Object.keys(REPLIES)) expect(SYNCHRONOUS_REQUESTS.has(k as MethodName)).toBe(true);
    expect(REPLIES['basic.get']).toEqual(['basic.get-ok', 'basic.get-empty']);
    expect(REPLIES['queue.declare']).toEqual(['queue.declare-ok']);
    expect(REPLIES['exchange.unbind']).toEqual(['exchange.unbind-ok']);
    expect(replyTable['basic.publish']).toBeUndefined();
    expect([...HAS_CONTENT].sort()).toEqual(['basic.deliver', 'basic.get-ok', 'basic.publish', 'basic.return']);
  });

  it('types decoded args by method name', () => {
    const m = decodeMethod(new Reader(encode('basic.deliver', { consumerTag: 'c', deliveryTag: 1, exchange: '', routingKey: 'k' })));
    if (m.name !== 'basic.deliver') throw new Error('expected basic.deliver');
    const args: MethodArgs['basic.deliver'] = m.args;
    expect(args.routingKey).toBe('k');
  });
});

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}
