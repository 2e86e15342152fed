// Wire interop through the real broker: a message with all 14 basic properties and every field
// type (t b B s u I i l f d D S A T F V x, nested) published by amqpts is read back identically by
// amqpts (values, tags, and the re-encoded bytes) and correctly by pika 1.2; a message published
// by pika is read by amqpts exactly as pika says it sent it. Bodies are compared byte for byte.
import { describe, expect, test } from '@jest/globals';
import { Decimal, Field, Message, type BasicProperties, type FieldTable, type FieldValue } from '../lib/index.js';
import { getFieldTypes, Writer } from '../lib/protocol/primitives.js';
import { brokerUrl } from './support/broker.js';
import { pikaBody, pikaGet, pikaPublish, type PikaGotValue, type PikaSentValue } from './support/pika.js';
import { suite } from './harness.js';

const s = suite();

const TS = 1700000000; // 2023-11-14T22:13:20Z
const BODY = Buffer.concat([Buffer.from('héllo ✓ 🐇\n', 'utf8'), Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xc3, 0x28, 0xfe, 0xff])]);

/** Every field type, with explicit tags where inference would pick another. */
function allTypes(): FieldTable {
  return {
    t_true: true,
    t_false: Field.bool(false),
    b: Field.int8(-5),
    B: Field.uint8(200),
    s: Field.int16(-300),
    u: Field.uint16(60000),
    I: -70000,
    I_max: Field.int32(2147483647),
    i: Field.uint32(4000000000),
    l_neg: Field.int64(-(2 ** 40)),
    l_big: 2n ** 62n + 1n,
    l_small: Field.int64(7),
    f: Field.float(1.5),
    d: 3.25,
    d_int: Field.double(2),
    D: new Decimal(2, 314),
    D_typed: Field.decimal(3, 5),
    D_negative: new Decimal(3, -12345),
    S: 'héllo ✓',
    S_empty: '',
    S_binary: Field.longstr(Buffer.from([0xff, 0xfe])),
    x: Buffer.from([0x00, 0x01, 0xfe, 0xff]),
    T: new Date(TS * 1000),
    T_typed: Field.timestamp(TS + 1),
    V: null,
    F: { a: 1, nested: { deep: Field.int16(-2), arr: [Field.uint8(1), 'x'] } },
    A: [
      1,
      'two',
      true,
      null,
      Buffer.from([3]),
      Field.int64(2 ** 40),
      new Decimal(1, 15),
      { k: 'v' },
      [1, 2],
      Field.float(0.5),
      Field.int8(-1),
      new Date(0),
    ],
  };
}

/** What amqpts decodes allTypes() to (plain values). */
const DECODED: FieldTable = {
  t_true: true,
  t_false: false,
  b: -5,
  B: 200,
  s: -300,
  u: 60000,
  I: -70000,
  I_max: 2147483647,
  i: 4000000000,
  l_neg: -(2 ** 40),
  l_big: 2n ** 62n + 1n,
  l_small: 7,
  f: 1.5,
  d: 3.25,
  d_int: 2,
  D: new Decimal(2, 314),
  D_typed: new Decimal(3, 5),
  D_negative: new Decimal(3, -12345),
  S: 'héllo ✓',
  S_empty: '',
  S_binary: Buffer.from([0xff, 0xfe]),
  x: Buffer.from([0x00, 0x01, 0xfe, 0xff]),
  T: new Date(TS * 1000),
  T_typed: new Date((TS + 1) * 1000),
  V: null,
  F: { a: 1, nested: { deep: -2, arr: [1, 'x'] } },
  A: [1, 'two', true, null, Buffer.from([3]), 2 ** 40, new Decimal(1, 15), { k: 'v' }, [1, 2], 0.5, -1, new Date(0)],
};

const TAGS = {
  t_true: 't',
  t_false: 't',
  b: 'b',
  B: 'B',
  s: 's',
  u: 'u',
  I: 'I',
  I_max: 'I',
  i: 'i',
  l_neg: 'l',
  l_big: 'l',
  l_small: 'l',
  f: 'f',
  d: 'd',
  d_int: 'd',
  D: 'D',
  D_typed: 'D',
  D_negative: 'D',
  S: 'S',
  S_empty: 'S',
  S_binary: 'S',
  x: 'x',
  T: 'T',
  T_typed: 'T',
  V: 'V',
  F: 'F',
  A: 'A',
};

function properties(headers: FieldTable): BasicProperties {
  return {
    contentType: 'application/x-interop',
    contentEncoding: 'x-none',
    applicationHeaders: headers,
    deliveryMode: 2,
    priority: 7,
    correlationId: 'corr-1',
    replyTo: 'reply.q',
    expiration: '600000',
    messageId: 'msg-1',
    timestamp: new Date(TS * 1000),
    type: 'interop.test',
    userId: 'guest',
    appId: 'amqpts-it',
    clusterId: 'cluster-1',
  };
}

function encode(t: FieldTable): Buffer {
  const w = new Writer(256);
  w.table(t);
  return Buffer.from(w.result());
}

describe('amqpts publishes', () => {
  test('amqpts reads back all 14 properties and every field type identically; re-encoding gives the same bytes and tags', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('q-interop-self'));
    await ch.queueDeclare(q);
    await ch.confirmSelect();
    await ch.basicPublish(new Message(BODY, properties(allTypes())), { routingKey: q });
    const got = await ch.basicGet(q, { noAck: true });
    expect(Buffer.isBuffer(got?.body)).toBe(true); // 'x-none' is not a text encoding: no decoding
    expect(Buffer.compare(got?.body as Buffer, BODY)).toBe(0);
    const { applicationHeaders: headers, ...rest } = got?.properties ?? {};
    const { applicationHeaders: _sent, ...sentRest } = properties({});
    expect(rest).toStrictEqual(sentRest);
    expect(headers).toStrictEqual(DECODED);
    expect({ ...getFieldTypes(headers as FieldTable) }).toEqual(TAGS);
    const F = (headers as FieldTable)['F'] as FieldTable;
    expect({ ...getFieldTypes(F['nested'] as FieldTable) }).toEqual({ deep: 's', arr: 'A' });
    expect(getFieldTypes((F['nested'] as FieldTable)['arr'] as FieldValue[])).toEqual(['B', 'S']);
    expect(getFieldTypes((headers as FieldTable)['A'] as FieldValue[])).toEqual([
      'I',
      'S',
      't',
      'V',
      'x',
      'l',
      'D',
      'F',
      'A',
      'f',
      'b',
      'T',
    ]);
    // Round trip: what was received re-encodes to exactly what was sent.
    expect(encode(headers as FieldTable).toString('hex')).toBe(encode(allTypes()).toString('hex'));
    // ...and can be republished as is, arriving identical again.
    await ch.basicPublish(new Message(got?.body as Buffer, got?.properties), { routingKey: q });
    const again = await ch.basicGet(q, { noAck: true });
    expect(again?.properties).toStrictEqual(got?.properties);
    expect(encode(again?.properties.applicationHeaders as FieldTable).equals(encode(allTypes()))).toBe(true);
  });

  test('pika decodes every property and header value (with its documented quirks)', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('q-interop-pika'));
    await ch.queueDeclare(q);
    await ch.confirmSelect();
    await ch.basicPublish(new Message(BODY, properties(allTypes())), { routingKey: q });
    const got = await pikaGet(brokerUrl(), q);
    expect(got.body_hex).toBe(BODY.toString('hex'));
    expect(got.delivery).toMatchObject({ exchange: '', routing_key: q, redelivered: false });
    expect(got.properties).toEqual({
      content_type: 'application/x-interop',
      content_encoding: 'x-none',
      delivery_mode: 2,
      priority: 7,
      correlation_id: 'corr-1',
      reply_to: 'reply.q',
      expiration: '600000',
      message_id: 'msg-1',
      timestamp: TS,
      type: 'interop.test',
      user_id: 'guest',
      app_id: 'amqpts-it',
      cluster_id: 'cluster-1',
    });
    const v = (tag: string, type: string, value: PikaGotValue['value']): PikaGotValue => ({ tag, type, value });
    expect(got.headers).toEqual({
      t_true: v('t', 'bool', true),
      t_false: v('t', 'bool', false),
      b: v('b', 'int', 251), // pika reads 'b' unsigned (-5 -> 251)
      B: v('B', 'int', -56), // ...and 'B' signed (200 -> -56)
      s: v('s', 'int', -300),
      u: v('u', 'int', 60000),
      I: v('I', 'int', -70000),
      I_max: v('I', 'int', 2147483647),
      i: v('i', 'int', 4000000000),
      l_neg: v('l', 'long', (2n ** 64n - 2n ** 40n).toString()), // pika reads 'l' unsigned
      l_big: v('l', 'long', (2n ** 62n + 1n).toString()),
      l_small: v('l', 'long', 7),
      f: v('f', 'long', 1),
      d: v('d', 'long', 3),
      d_int: v('d', 'long', 2), // pika truncates floats (to its 'long' int subclass)
      D: v('D', 'Decimal', '3.14'),
      D_typed: v('D', 'Decimal', '0.005'),
      D_negative: v('D', 'Decimal', '-12.345'), // signed both ways
      S: v('S', 'str', 'héllo ✓'),
      S_empty: v('S', 'str', ''),
      S_binary: v('S', 'bytes', 'fffe'),
      x: v('x', 'bytes', '0001feff'),
      T: v('T', 'datetime', TS),
      T_typed: v('T', 'datetime', TS + 1),
      V: v('V', 'NoneType', null),
      F: v('F', 'dict', {
        a: v('I', 'int', 1),
        nested: v('F', 'dict', { deep: v('s', 'int', -2), arr: v('A', 'list', [v('B', 'int', 1), v('S', 'str', 'x')]) }),
      }),
      A: v('A', 'list', [
        v('I', 'int', 1),
        v('S', 'str', 'two'),
        v('t', 'bool', true),
        v('V', 'NoneType', null),
        v('x', 'bytes', '03'),
        v('l', 'long', 2 ** 40),
        v('D', 'Decimal', '1.5'),
        v('F', 'dict', { k: v('S', 'str', 'v') }),
        v('A', 'list', [v('I', 'int', 1), v('I', 'int', 2)]),
        v('f', 'long', 0),
        v('b', 'int', 255),
        v('T', 'datetime', 0),
      ]),
    });
  });
});

/** What amqpts should decode a value pika sent to (by the tag pika wrote). */
function expectedFromPika(sent: PikaSentValue): FieldValue {
  const { type, value } = sent;
  switch (type) {
    case 'F':
      return Object.fromEntries(Object.entries(value as Record<string, PikaSentValue>).map(([k, x]) => [k, expectedFromPika(x)]));
    case 'A':
      return (value as PikaSentValue[]).map(expectedFromPika);
    case 'x':
      return Buffer.from(value as string, 'hex');
    case 'T':
      return new Date((value as number) * 1000);
    case 'l':
      return typeof value === 'string' ? BigInt(value) : (value as number);
    case 'D': {
      // pika writes scale + the SIGNED 32-bit unscaled value, and amqpts reads it signed too
      const [, sign, int, frac = ''] = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value as string) ?? [];
      const raw = Number(`${sign ?? ''}${int ?? ''}${frac}`);
      return new Decimal(frac.length, raw);
    }
    default:
      return value as FieldValue; // t S I V: as rendered
  }
}

function sentTags(sent: PikaSentValue): unknown {
  if (sent.type === 'F')
    return Object.fromEntries(Object.entries(sent.value as Record<string, PikaSentValue>).map(([k, x]) => [k, sentTags(x)]));
  if (sent.type === 'A') return (sent.value as PikaSentValue[]).map(sentTags);
  return sent.type;
}

function receivedTags(v: FieldValue): unknown {
  if (Array.isArray(v)) {
    const t = getFieldTypes(v);
    return v.map((x, i) => (Array.isArray(x) || isTable(x) ? receivedTags(x) : t[i]));
  }
  const t = getFieldTypes(v as FieldTable);
  return Object.fromEntries(Object.entries(v as FieldTable).map(([k, x]) => [k, Array.isArray(x) || isTable(x) ? receivedTags(x) : t[k]]));
}

function isTable(v: unknown): v is FieldTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

describe('pika publishes', () => {
  test('amqpts reads every property, header value and tag as pika sent them; body bytes exact', async () => {
    const conn = await s.connect(brokerUrl(), { autoDecode: false });
    const ch = await conn.channel();
    const q = s.queue(s.name('q-from-pika'));
    await ch.queueDeclare(q);
    const sent = await pikaPublish(brokerUrl(), '', q);
    expect(sent.unsupported).toEqual(['float']);
    const got = await ch.basicGet(q, { noAck: true });
    expect(got).not.toBeNull();
    const gotBody = got!.body as Buffer;
    expect(Buffer.isBuffer(gotBody)).toBe(true);
    expect(gotBody.toString('hex')).toBe(sent.body_hex);
    expect(Buffer.compare(gotBody, pikaBody(sent))).toBe(0);
    const p = sent.properties;
    const { applicationHeaders: headers, ...props } = got?.properties ?? {};
    expect(props).toStrictEqual({
      contentType: p.content_type,
      contentEncoding: p.content_encoding,
      deliveryMode: p.delivery_mode,
      priority: p.priority,
      correlationId: p.correlation_id,
      replyTo: p.reply_to,
      expiration: p.expiration,
      messageId: p.message_id,
      timestamp: new Date((p.timestamp as number) * 1000),
      type: p.type,
      userId: p.user_id,
      appId: p.app_id,
      clusterId: p.cluster_id,
    });
    const expected = Object.fromEntries(Object.entries(sent.headers).map(([k, x]) => [k, expectedFromPika(x)]));
    expect(headers).toStrictEqual(expected);
    expect(receivedTags(headers as FieldTable)).toEqual(Object.fromEntries(Object.entries(sent.headers).map(([k, x]) => [k, sentTags(x)])));
    // Spot checks of the interesting ones, independent of the generic mapping above.
    expect(headers).toMatchObject({
      int_huge: 2n ** 62n + 1n,
      int_big_negative: -(2 ** 40),
      int_big: 2 ** 31,
      decimal: new Decimal(2, 314),
      decimal_negative: new Decimal(3, -5),
      datetime: new Date(TS * 1000),
      bytes: Buffer.from([0, 1, 0xfe, 0xff]),
      none: null,
    });
    // Default autoDecode: a utf-8-labelled body that is not valid UTF-8 stays a Buffer, byte-exact
    // (decoding would replace its invalid bytes); a valid one becomes a string.
    const auto = await s.open();
    await auto.ch.queueDeclare(q, { passive: true });
    await pikaPublish(brokerUrl(), '', q);
    const decoded = await auto.ch.basicGet(q, { noAck: true });
    expect(Buffer.isBuffer(decoded?.body)).toBe(true);
    expect(Buffer.compare(decoded?.body as Buffer, pikaBody(sent))).toBe(0);
    await auto.ch.basicPublish(new Message('héllo ✓'), { routingKey: q });
    const text = await auto.ch.basicGet(q, { noAck: true });
    expect(text?.body).toBe('héllo ✓');
  });
});

describe('bodies', () => {
  test('empty, exactly one full frame, several frames and binary bodies arrive byte-exact (amqpts and pika)', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('q-bodies'));
    await ch.queueDeclare(q);
    await ch.confirmSelect();
    const oneFrame = conn.frameMax - 8; // frame header (7) + end octet (1)
    const bodies = [
      Buffer.alloc(0),
      Buffer.alloc(oneFrame, 0xab),
      Buffer.from(Array.from({ length: 3 * conn.frameMax + 17 }, (_, i) => (i * 7919) & 0xff)),
      BODY,
    ];
    for (const b of bodies) await ch.basicPublish(new Message(b), { routingKey: q });
    for (const b of bodies.slice(0, 3)) {
      const m = await ch.basicGet(q, { noAck: true });
      const mb = m!.body as Buffer;
      expect(Buffer.isBuffer(mb)).toBe(true);
      expect([mb.length, mb.equals(b)]).toEqual([b.length, true]);
    }
    const viaPika = await pikaGet(brokerUrl(), q);
    expect(viaPika.body_hex).toBe(BODY.toString('hex'));
    // A string body goes out as UTF-8 with contentEncoding utf-8 and comes back as the same string.
    await ch.basicPublish(new Message(''), { routingKey: q });
    await ch.basicPublish(new Message('héllo ✓ 🐇'), { routingKey: q });
    expect((await ch.basicGet(q, { noAck: true }))?.body).toBe('');
    const text = await ch.basicGet(q, { noAck: true });
    expect([text?.body, text?.properties.contentEncoding, text?.bodyBuffer.toString('hex')]).toEqual([
      'héllo ✓ 🐇',
      'utf-8',
      Buffer.from('héllo ✓ 🐇').toString('hex'),
    ]);
  });
});
