import { describe, it, expect } from '@jest/globals';
import { ArgumentError, FrameError } from '../../lib/errors.js';
import {
  Decimal,
  Field,
  FIELD_TYPES,
  getFieldTypes,
  Reader,
  Typed,
  Writer,
  type FieldTable,
  type FieldValue,
} from '../../lib/protocol/primitives.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
const written = (f: (w: Writer) => void): string => {
  const w = new Writer(1);
  f(w);
  return w.result().toString('hex');
};
/** A table entry: key length, key, then the tag and value bytes. */
const entry = (key: string, valueHex: string): string =>
  `${Buffer.byteLength(key).toString(16).padStart(2, '0')}${Buffer.from(key).toString('hex')}${valueHex}`;
const table = (...entries: string[]): Buffer => {
  const body = entries.join('');
  return hex(u32(body.length / 2) + body);
};
const encodeTable = (t: FieldTable): Buffer => {
  const w = new Writer(8);
  w.table(t);
  return Buffer.from(w.result());
};
const decodeTable = (b: Buffer): FieldTable => {
  const r = new Reader(b);
  const t = r.table();
  expect(r.pos).toBe(b.length);
  return t;
};
const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
};

describe('Writer/Reader integers', () => {
  const cases: [keyof Writer & keyof Reader, number | bigint, string][] = [
    ['u8', 0, '00'],
    ['u8', 255, 'ff'],
    ['u16', 0, '0000'],
    ['u16', 65535, 'ffff'],
    ['u16', 0x1234, '1234'],
    ['u32', 0, '00000000'],
    ['u32', 0xffffffff, 'ffffffff'],
    ['u32', 0x01020304, '01020304'],
    ['u64', 0, '0000000000000000'],
    ['u64', Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    ['u64', 0x0102030405, '0000000102030405'],
    ['i8', -128, '80'],
    ['i8', 127, '7f'],
    ['i8', -1, 'ff'],
    ['i16', -32768, '8000'],
    ['i16', 32767, '7fff'],
    ['i16', -2, 'fffe'],
    ['i32', -(2 ** 31), '80000000'],
    ['i32', 2 ** 31 - 1, '7fffffff'],
    ['i32', -1, 'ffffffff'],
    ['i64', -Number.MAX_SAFE_INTEGER, 'ffe0000000000001'],
    ['i64', Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    ['i64', -1, 'ffffffffffffffff'],
    ['i64', -(2 ** 32), 'ffffffff00000000'],
  ];
  it.each(cases)('%s(%p) writes %s and reads it back', (m, v, bytes) => {
    expect(written((w) => (w[m] as (v: number | bigint) => void)(v))).toBe(bytes);
    const r = new Reader(hex(bytes));
    expect((r[m] as () => number)()).toBe(v);
    expect(r.pos).toBe(bytes.length / 2);
  });

  it('writes and reads 64-bit bigints at the extremes', () => {
    expect(written((w) => w.u64(2n ** 64n - 1n))).toBe('ffffffffffffffff');
    expect(written((w) => w.i64(-(2n ** 63n)))).toBe('8000000000000000');
    expect(written((w) => w.i64(2n ** 63n - 1n))).toBe('7fffffffffffffff');
    expect(new Reader(hex('ffffffffffffffff')).u64n()).toBe(2n ** 64n - 1n);
    expect(new Reader(hex('8000000000000000')).i64n()).toBe(-(2n ** 63n));
    expect(new Reader(hex('0020000000000000')).i64safe()).toBe(2n ** 53n);
    expect(new Reader(hex('ffe0000000000000')).i64safe()).toBe(-(2n ** 53n));
    expect(new Reader(hex('ffe0000000000001')).i64safe()).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it('rejects unsafe 64-bit values when a number is asked for', () => {
    expect(() => new Reader(hex('0020000000000000')).u64()).toThrow(FrameError);
    expect(() => new Reader(hex('8000000000000000')).i64()).toThrow(FrameError);
  });

  const bad: [keyof Writer, unknown[]][] = [
    ['u8', [-1, 256, 1.5, NaN, Infinity, '1', undefined, null, 1n]],
    ['u16', [-1, 65536, 0.5, NaN, '1', undefined]],
    ['u32', [-1, 2 ** 32, 1.5, NaN, undefined]],
    ['u64', [-1, 2 ** 53, 1.5, NaN, -1n, 2n ** 64n, undefined, '1']],
    ['i8', [-129, 128, 0.5, NaN, undefined]],
    ['i16', [-32769, 32768, 0.5, undefined]],
    ['i32', [-(2 ** 31) - 1, 2 ** 31, 0.5, undefined]],
    ['i64', [2 ** 53, -(2 ** 53), 0.5, NaN, 2n ** 63n, -(2n ** 63n) - 1n, undefined]],
    ['f32', ['1', undefined, null]],
    ['f64', ['1', undefined, null]],
  ];
  it.each(bad)('%s rejects out-of-range and non-integer values with ArgumentError naming the field', (m, values) => {
    for (const v of values) {
      const w = new Writer(4);
      const e = thrown(() => (w[m] as (v: unknown, f: string) => void)(v, 'basic.qos: prefetchCount'));
      expect(e).toBeInstanceOf(ArgumentError);
      expect((e as Error).message).toMatch(/^basic\.qos: prefetchCount: expected /);
      expect(w.pos).toBe(0);
    }
  });

  it('writes and reads floats', () => {
    expect(written((w) => w.f32(1.5))).toBe('3fc00000');
    expect(written((w) => w.f64(-2))).toBe('c000000000000000');
    expect(new Reader(hex('3fc00000')).f32()).toBe(1.5);
    expect(new Reader(hex('7ff0000000000000')).f64()).toBe(Infinity);
  });

  it('grows by doubling, keeping what was written', () => {
    const w = new Writer(1);
    for (let i = 0; i < 1000; i++) w.u16(i);
    expect(w.buf.length).toBe(2048);
    const r = new Reader(w.result());
    for (let i = 0; i < 1000; i++) expect(r.u16()).toBe(i);
  });
});

describe('strings', () => {
  it('shortstr accepts 255 bytes and rejects 256 with ArgumentError naming the field', () => {
    expect(written((w) => w.shortstr('a'.repeat(255))).slice(0, 4)).toBe('ff61');
    expect(() => new Writer().shortstr('a'.repeat(256), 'queue.declare: queue')).toThrow(
      new ArgumentError('queue.declare: queue: shortstr longer than 255 bytes (256)'),
    );
    expect(written((w) => w.shortstr('é'.repeat(127)))).toHaveLength(2 + 254 * 2);
    expect(() => new Writer().shortstr('é'.repeat(128))).toThrow(ArgumentError);
    expect(() => new Writer().shortstr('😀'.repeat(64))).toThrow(ArgumentError);
    expect(() => new Writer().shortstr(undefined as unknown as string, 'x')).toThrow(/^x: expected a string/);
  });

  it('shortstr round-trips ASCII, multi-byte and empty strings', () => {
    for (const s of ['', 'amq.direct', 'héllo wörld', '日本語', '😀x', 'a'.repeat(255)]) {
      const w = new Writer(1);
      w.shortstr(s);
      expect(w.result()[0]).toBe(Buffer.byteLength(s));
      expect(new Reader(w.result()).shortstr()).toBe(s);
    }
  });

  it('longstr writes strings as UTF-8 and bytes as is; reads a zero-copy view', () => {
    expect(written((w) => w.longstr('hé'))).toBe('0000000368c3a9');
    expect(written((w) => w.longstr(new Uint8Array([1, 2])))).toBe('000000020102');
    const b = hex('00000002 abcd ff');
    const v = new Reader(b).longstr();
    expect(v.toString('hex')).toBe('abcd');
    expect(v.buffer).toBe(b.buffer);
    expect(() => new Writer().longstr(5 as unknown as string, 'f')).toThrow(/^f: expected a string or Uint8Array/);
  });

  it('timestamps are uint64 seconds', () => {
    expect(written((w) => w.timestamp(new Date(1700000000999)))).toBe('000000006553f100');
    expect(written((w) => w.timestamp(1700000000))).toBe('000000006553f100');
    expect(new Reader(hex('000000006553f100')).timestamp()).toEqual(new Date(1700000000000));
    expect(() => new Writer().timestamp(new Date(NaN), 'p')).toThrow(/^p: cannot encode an invalid Date/);
    expect(() => new Writer().timestamp(new Date(-1000))).toThrow(ArgumentError);
    expect(new Reader(hex('ffffffffffffffff')).timestamp().getTime()).toBeNaN();
  });
});

/** Hand-built bytes for every tag, with the decoded value and a value that encodes to them. */
const TAGS: [string, string, FieldValue, FieldValue][] = [
  ['t', '7401', true, true],
  ['t false', '7400', false, false],
  ['b', '62fe', -2, Field.int8(-2)],
  ['B', '42c8', 200, Field.uint8(200)],
  ['s', '73fffe', -2, Field.int16(-2)],
  ['u', '75ffff', 65535, Field.uint16(65535)],
  ['I', '49ffffffff', -1, -1],
  ['i', '69ffffffff', 4294967295, Field.uint32(4294967295)],
  ['l small', '6c0000000000000003', 3, Field.int64(3)],
  ['l safe', '6c0000000100000000', 2 ** 32, 2 ** 32],
  ['l big', '6c7fffffffffffffff', 2n ** 63n - 1n, 2n ** 63n - 1n],
  ['l negative', '6cffffffffffffffff', -1, Field.int64(-1)],
  ['f', '663fc00000', 1.5, Field.float(1.5)],
  ['d', '643ff0000000000000', 1, Field.double(1)],
  ['d fraction', '643ff8000000000000', 1.5, 1.5],
  ['D', '44020000303a', new Decimal(2, 12346), new Decimal(2, 12346)],
  ['D negative (signed, as amqpy, pika and Java read it)', '4403ffffcfc7', new Decimal(3, -12345), Field.decimal(3, -12345)],
  ['D minimum', '440080000000', new Decimal(0, -2147483648), new Decimal(0, -2147483648)],
  ['D maximum', '44007fffffff', new Decimal(0, 2147483647), new Decimal(0, 2147483647)],
  ['S', '53000000026869', 'hi', 'hi'],
  ['S utf8', '530000000368c3a9', 'hé', 'hé'],
  ['S not utf8', '5300000002fffe', hex('fffe'), Field.longstr(hex('fffe'))],
  ['A', '41000000054900000001', [1], [1]],
  ['A empty', '4100000000', [], []],
  ['T', '54000000006553f100', new Date(1700000000000), new Date(1700000000000)],
  ['F', `4600000004${entry('k', '7401')}`, { k: true }, { k: true }],
  ['F empty', '4600000000', {}, {}],
  ['V', '56', null, null],
  ['x', '78000000020102', hex('0102'), new Uint8Array([1, 2])],
];

describe('Reader.shortstrRepeated (cached short strings)', () => {
  const asShortstrs = (xs: Buffer[]): Buffer => Buffer.concat(xs.flatMap((x) => [Buffer.from([x.length]), x]));

  it('always equals a plain shortstr read, through repeats, slot collisions and cache churn', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // a small pool (repeats), similar strings (collisions), UTF-8, invalid UTF-8, 64/65/255 bytes
    const pool: Buffer[] = [
      Buffer.from(''),
      Buffer.from('amq.ctag-AAAAAAAAAAAAAAAAAAAAAA'),
      Buffer.from('amq.ctag-AAAAAAAAAAAAAAAAAAAAAB'),
      Buffer.from('bench.consume.amqpts.1234.abcdef'),
      Buffer.from('héllo wörld'),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.alloc(64, 0x61),
      Buffer.alloc(65, 0x61),
      Buffer.alloc(255, 0x62),
      ...Array.from({ length: 200 }, (_, i) => Buffer.from(`key.${i % 7}.${i}`)),
    ];
    const picks = Array.from({ length: 5000 }, () => pool[rand(pool.length)]!);
    const bytes = asShortstrs(picks);
    const cached = new Reader(bytes);
    const plain = new Reader(bytes);
    for (let i = 0; i < picks.length; i++) {
      const a = cached.shortstrRepeated();
      expect(a).toBe(plain.shortstr());
      expect(a).toBe(picks[i]!.toString('utf8'));
    }
    expect(cached.pos).toBe(bytes.length);
  });

  it('a cached string is not fooled by a buffer rewritten in place (bytes are compared, not positions)', () => {
    const buf = asShortstrs([Buffer.from('queue-one')]);
    expect(new Reader(buf).shortstrRepeated()).toBe('queue-one');
    buf.write('queue-two', 1, 'latin1');
    expect(new Reader(buf).shortstrRepeated()).toBe('queue-two');
    buf.write('queue-one', 1, 'latin1');
    expect(new Reader(buf).shortstrRepeated()).toBe('queue-one');
  });

  it('a truncated short string is still a FrameError', () => {
    expect(thrown(() => new Reader(Buffer.from([5, 0x61, 0x62])).shortstrRepeated())).toBeInstanceOf(FrameError);
  });
});

describe('field tables', () => {
  it.each(TAGS)('tag %s decodes from hand-built bytes and encodes to them', (_name, valueHex, decoded, encodable) => {
    const bytes = table(entry('a', valueHex));
    const t = decodeTable(bytes);
    expect(t.a).toEqual(decoded);
    expect(getFieldTypes(t)?.a).toBe(String.fromCharCode(parseInt(valueHex.slice(0, 2), 16)));
    expect(encodeTable({ a: encodable }).toString('hex')).toBe(bytes.toString('hex'));
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
    const arr = new Reader(hex(u32(valueHex.length / 2) + valueHex)).array();
    expect(arr).toEqual([decoded]);
    const w = new Writer();
    w.array(arr);
    expect(w.result().toString('hex')).toBe(u32(valueHex.length / 2) + valueHex);
  });

  it('infers tags for plain values', () => {
    const cases: [FieldValue, string][] = [
      [true, '74'],
      ['s', '53'],
      [0, '49'],
      [2 ** 31 - 1, '49'],
      [-(2 ** 31), '49'],
      [2 ** 31, '6c'],
      [-(2 ** 31) - 1, '6c'],
      [Number.MAX_SAFE_INTEGER, '6c'],
      [0.5, '64'],
      [NaN, '64'],
      [Infinity, '64'],
      [5n, '6c'],
      [Buffer.from('x'), '78'],
      [new Uint8Array(1), '78'],
      [new Date(0), '54'],
      [null, '56'],
      [new Decimal(1, 1), '44'],
      [[], '41'],
      [{}, '46'],
      [Object.create(null) as FieldTable, '46'],
    ];
    for (const [v, tag] of cases) expect(encodeTable({ k: v }).subarray(6, 7).toString('hex')).toBe(tag);
  });

  it('skips keys whose value is undefined and writes undefined array elements as V', () => {
    expect(encodeTable({ a: undefined as unknown as FieldValue }).toString('hex')).toBe('00000000');
    const w = new Writer();
    w.array([undefined as unknown as FieldValue]);
    expect(w.result().toString('hex')).toBe('0000000156');
  });

  it('round-trips a fixture with every tag exactly (decode → encode gives the same bytes)', () => {
    const all = TAGS.map(([, v], i) => entry(`k${i}`, v));
    const values = TAGS.map(([, v]) => v).join('');
    const nestedArray = `41${u32(values.length / 2)}${values}`;
    const inner = table(...all).toString('hex');
    const bytes = table(...all, entry('N', `46${inner}`), entry('M', nestedArray));
    const t = decodeTable(bytes);
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
    const again = decodeTable(encodeTable(t));
    expect(again).toEqual(t);
    expect(getFieldTypes(t.M as FieldValue[])?.join('')).toBe(
      TAGS.map(([, v]) => String.fromCharCode(parseInt(v.slice(0, 2), 16))).join(''),
    );
  });

  it('keeps remembered tags only while the value still fits them', () => {
    const t = decodeTable(
      table(entry('b', '6205'), entry('l', '6c0000000000000001'), entry('f', '663fc00000'), entry('d', '643ff0000000000000')),
    );
    expect(Object.keys(t)).toEqual(['b', 'l', 'f', 'd']);
    t.b = 1000;
    t.l = 2;
    t.f = 0.1;
    t.d = 'now a string';
    const out = decodeTable(encodeTable(t));
    expect(getFieldTypes(out)).toEqual({ b: 'I', l: 'l', f: 'd', d: 'S' });
    const copy = decodeTable(encodeTable({ ...decodeTable(table(entry('l', '6c0000000000000001'))) }));
    expect(getFieldTypes(copy)).toEqual({ l: 'I' });
  });

  it('FIELD_TYPES is non-enumerable, set only when a tag is not the inferred one; containers are plain', () => {
    const t = decodeTable(table(entry('a', '41000000074900000001' + '6201'), entry('s', '53000000026869')));
    expect(Object.keys(t)).toEqual(['a', 's']);
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Array.isArray(t.a)).toBe(true);
    expect(JSON.stringify(t)).toBe('{"a":[1,1],"s":"hi"}');
    expect(t).toEqual({ a: [1, 1], s: 'hi' });
    expect(Object.getOwnPropertyDescriptor(t, FIELD_TYPES)).toBeUndefined();
    expect(getFieldTypes(t)).toEqual({ a: 'A', s: 'S' });
    const a = t.a as FieldValue[];
    expect(Object.getOwnPropertyDescriptor(a, FIELD_TYPES)?.enumerable).toBe(false);
    expect((a as unknown as { [FIELD_TYPES]: unknown })[FIELD_TYPES]).toEqual(['I', 'b']);
    const u = decodeTable(table(entry('s', '53000000026869'), entry('u', '750001'), entry('n', '49ffffffff')));
    expect(Object.getOwnPropertyDescriptor(u, FIELD_TYPES)?.enumerable).toBe(false);
    expect((u as { [FIELD_TYPES]?: unknown })[FIELD_TYPES]).toEqual({ s: 'S', u: 'u', n: 'I' });
    expect(getFieldTypes({ f: (() => 1) as unknown as FieldValue, n: 2 ** 40 })).toEqual({ f: undefined, n: 'l' });
  });

  it('nests tables and arrays', () => {
    const v: FieldTable = {
      'x-death': [{ count: Field.int64(1), reason: 'expired', queue: 'q', time: new Date(1000), 'routing-keys': ['a', 'b'] }],
      deep: { a: { b: { c: [[1, [2, { d: null }]]] } } },
    };
    const t = decodeTable(encodeTable(v));
    expect(t).toEqual({
      'x-death': [{ count: 1, reason: 'expired', queue: 'q', time: new Date(1000), 'routing-keys': ['a', 'b'] }],
      deep: { a: { b: { c: [[1, [2, { d: null }]]] } } },
    });
    expect(getFieldTypes((t['x-death'] as FieldTable[])[0]!)?.count).toBe('l');
    expect(encodeTable(t)).toEqual(encodeTable(v));
  });

  it('decodes a __proto__ key as an own property', () => {
    const t = decodeTable(table(entry('__proto__', '7401')));
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Object.keys(t)).toEqual(['__proto__']);
    expect(encodeTable(t).toString('hex')).toBe(table(entry('__proto__', '7401')).toString('hex'));
  });

  it('decodes timestamps beyond Date range as Typed seconds and re-encodes them', () => {
    const bytes = table(entry('t', '54ffffffffffffffff'), entry('u', '5400001fffffffffff'));
    const t = decodeTable(bytes);
    expect(t.t).toEqual(new Typed('T', 2n ** 64n - 1n));
    expect(t.u).toEqual(new Typed('T', 2 ** 45 - 1));
    expect(encodeTable(t).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('truncated input at every offset throws FrameError, never RangeError', () => {
    const all = TAGS.map(([, v], i) => entry(String.fromCharCode(65 + i), v));
    const full = table(...all, entry('N', `46${table(...all).toString('hex')}`));
    for (let n = 0; n < full.length; n++) {
      expect(() => new Reader(full.subarray(0, n)).table()).toThrow(FrameError);
      // Same cut, but with a length prefix that agrees with it: values end mid-way.
      const body = full.subarray(4, Math.max(4, n));
      const r = new Reader(Buffer.concat([hex(u32(body.length)), body]));
      try {
        r.table();
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
      }
    }
  });

  it('random garbage only ever decodes or throws FrameError', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
    const tags = [...'tbBsuIilfdDSATFVx'].map((c) => c.charCodeAt(0));
    for (let i = 0; i < 3000; i++) {
      const len = rnd() % 40;
      const body = Buffer.alloc(len);
      for (let j = 0; j < len; j++) body[j] = rnd() % 3 === 0 ? tags[rnd() % tags.length]! : rnd() % 8;
      try {
        new Reader(Buffer.concat([hex(u32(len)), body])).table();
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
      }
    }
  });

  it('unknown tags (including L and the spec-only U) throw FrameError', () => {
    for (const tag of ['4c', '55', '63', '00', 'ff']) {
      expect(() => decodeTable(table(entry('a', `${tag}00`)))).toThrow(/unknown field type tag/);
      expect(() => decodeTable(table(entry('a', `${tag}00`)))).toThrow(FrameError);
    }
  });

  it('rejects nesting deeper than 100 levels on decode', () => {
    let body = '';
    for (let i = 0; i < 101; i++) body = `41${u32(body.length / 2)}${body}`;
    expect(() => new Reader(hex(u32(body.length / 2) + body)).array()).toThrow(FrameError);
  });

  it('rejects values the wire cannot carry with ArgumentError naming the key path', () => {
    const cyclic: FieldTable = { a: 1 };
    cyclic.self = { again: cyclic };
    class Foo {
      x = 1;
    }
    let deep: FieldTable = {};
    for (let i = 0; i < 150; i++) deep = { d: deep };
    const cases: [unknown, RegExp][] = [
      [{ a: { b: [1, (): number => 1] } }, /^queue\.declare: arguments: a\.b\[1\]: cannot encode a function/],
      [{ s: Symbol('s') }, /arguments: s: cannot encode a symbol/],
      [{ m: new Map() }, /arguments: m: cannot encode a Map/],
      [{ s: new Set() }, /arguments: s: cannot encode a Set/],
      [{ f: new Foo() }, /arguments: f: cannot encode a Foo/],
      [cyclic, /arguments: self\.again: circular reference/],
      [{ n: 2 ** 53 }, /arguments: n: integer 9007199254740992 is beyond Number.MAX_SAFE_INTEGER/],
      [{ n: 2n ** 63n }, /arguments: n: expected an integer -2\^63\.\.2\^63-1 \(int64\), got bigint 9223372036854775808/],
      [{ ['k'.repeat(256)]: 1 }, /arguments: k+: key: shortstr longer than 255 bytes/],
      [{ d: new Date(NaN) }, /arguments: d: cannot encode an invalid Date/],
      [{ t: new Typed('I', 1) }, null as unknown as RegExp],
      [deep, /nested deeper than 100 levels/],
    ];
    for (const [v, re] of cases) {
      const w = new Writer();
      if (re === null) {
        w.table(v as FieldTable);
        continue;
      }
      const e = thrown(() => w.table(v as FieldTable, 'queue.declare: arguments'));
      expect(e).toBeInstanceOf(ArgumentError);
      expect((e as Error).message).toMatch(re);
    }
    expect(() => new Writer().table([] as unknown as FieldTable, 'x')).toThrow(/^x: expected a plain object/);
    expect(() => new Writer().table(new Map() as unknown as FieldTable)).toThrow(ArgumentError);
    // after an error the next encode starts with a clean path
    const w = new Writer();
    w.table({ ok: 1 });
    expect(() => w.table({ z: (() => 1) as unknown as FieldValue })).toThrow(/^z: cannot encode a function/);
  });

  it('validates Typed and Field values at creation', () => {
    expect(() => Field.int8(128)).toThrow(ArgumentError);
    expect(() => Field.uint8(-1)).toThrow(ArgumentError);
    expect(() => Field.int16(40000)).toThrow(ArgumentError);
    expect(() => Field.uint16(1.5)).toThrow(ArgumentError);
    expect(() => Field.int32(2 ** 31)).toThrow(ArgumentError);
    expect(() => Field.uint32(-1)).toThrow(ArgumentError);
    expect(() => Field.int64(2 ** 53)).toThrow(ArgumentError);
    expect(() => Field.int64(2n ** 63n)).toThrow(ArgumentError);
    expect(() => Field.float('1' as unknown as number)).toThrow(ArgumentError);
    expect(() => Field.decimal(256, 1)).toThrow(ArgumentError);
    expect(() => Field.decimal(1, 2147483648)).toThrow(ArgumentError);
    expect(() => Field.decimal(1, -2147483649)).toThrow(ArgumentError);
    expect(() => Field.decimal(1, 1.5)).toThrow(ArgumentError);
    expect(() => Field.bytes('x' as unknown as Uint8Array)).toThrow(ArgumentError);
    expect(() => Field.timestamp(-1)).toThrow(ArgumentError);
    expect(() => new Typed('F', [] as FieldValue)).toThrow(ArgumentError);
    expect(() => new Typed('Q' as 'F', {})).toThrow(ArgumentError);
    expect(Field.timestamp(new Date(5000)).value).toEqual(new Date(5000));
    expect(new Decimal(2, 150).toNumber()).toBe(1.5);
    expect(new Decimal(2, -150).toNumber()).toBe(-1.5);
    expect(encodeTable({ a: Field.timestamp(1700000000) })).toEqual(table(entry('a', '54000000006553f100')));
    expect(encodeTable({ a: Field.bool(false), b: Field.longstr('hi') })).toEqual(table(entry('a', '7400'), entry('b', '53000000026869')));
  });

  it('treats an undefined table as empty and keeps Reader bounds', () => {
    expect(written((w) => w.table(undefined))).toBe('00000000');
    const r = new Reader(hex('0102030405'), 1, 3);
    expect(r.u16()).toBe(0x0203);
    expect(r.remaining).toBe(0);
    expect(() => r.u8()).toThrow(FrameError);
    expect(() => new Reader(hex('00'), 0, 2)).toThrow(ArgumentError);
  });
});
