// Message bodies: strings in their declared contentEncoding (amqpy's labels included), JSON values,
// decoding on receipt for every label TextDecoder knows, and refusals that never mislabel a body.
import { describe, expect, it } from '@jest/globals';
import { charsetOf, decodeText, encodeText } from '../lib/charset.js';
import { ArgumentError, Message } from '../lib/index.js';

const received = (bytes: Buffer, contentEncoding?: string): Message =>
  Message.received(
    bytes,
    contentEncoding === undefined ? {} : { contentEncoding },
    { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' },
    true,
    undefined,
  );

describe('string bodies are encoded in their contentEncoding', () => {
  const text = 'café Ünïcödé';
  it.each([
    ['latin_1', Buffer.from(text, 'latin1')],
    ['latin-1', Buffer.from(text, 'latin1')],
    ['ISO-8859-1', Buffer.from(text, 'latin1')],
    ['iso8859_1', Buffer.from(text, 'latin1')],
    ['latin1', Buffer.from(text, 'latin1')],
    ['utf_8', Buffer.from(text, 'utf8')],
    ['UTF-8', Buffer.from(text, 'utf8')],
    ['utf_16_le', Buffer.from(text, 'utf16le')],
    ['utf-16be', Buffer.from(text, 'utf16le').swap16()],
    ['utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
  ])('%s', (label, bytes) => {
    const m = new Message(text, { contentEncoding: label });
    expect(m.bodyBuffer.equals(bytes)).toBe(true);
    expect(m.properties.contentEncoding).toBe(label); // the label is kept as given
    expect(received(m.bodyBuffer, label).body).toBe(text);
  });

  it('cp1252 and other single-byte code pages use their own tables, not latin-1', () => {
    const m = new Message('€ – “quoted”', { contentEncoding: 'cp1252' });
    expect(m.bodyBuffer.toString('hex')).toBe('802096209371756f74656494');
    expect(received(m.bodyBuffer, 'windows-1252').body).toBe('€ – “quoted”');
    const ru = new Message('Привет', { contentEncoding: 'koi8-r' });
    expect(ru.bodyBuffer.toString('hex')).toBe('f0d2c9d7c5d4');
    const pl = new Message('Łódź', { contentEncoding: 'iso8859_2' });
    expect(pl.bodyBuffer.toString('hex')).toBe('a3f364bc');
    expect(new Message('Łódź', { contentEncoding: 'latin_2' }).bodyBuffer.toString('hex')).toBe('a3f364bc');
  });

  it('a character the charset lacks is an ArgumentError naming it, at construction-time check or publish', () => {
    const m = new Message('price: €5', { contentEncoding: 'latin_1' });
    expect(() => m.bodyBuffer).toThrow(ArgumentError);
    expect(() => m.bodyBuffer).toThrow(/U\+20AC at index 7 has no byte in iso-8859-1/);
    expect(() => new Message('ü', { contentEncoding: 'ascii' }).bodyBuffer).toThrow(/U\+00FC/);
    expect(() => new Message('😀', { contentEncoding: 'cp1252' }).bodyBuffer).toThrow(ArgumentError);
  });

  it('a label amqpts cannot encode is refused when the message is built, never sent mislabelled', () => {
    expect(() => new Message('x', { contentEncoding: 'gzip' })).toThrow(/knows no such text encoding/);
    expect(() => new Message('x', { contentEncoding: 'shift_jis' })).toThrow(/decodes shift_jis but cannot encode it/);
    // bytes may carry any label: they are sent as they are
    expect(new Message(Buffer.from([1, 2]), { contentEncoding: 'gzip' }).bodyBuffer.toString('hex')).toBe('0102');
    // a label changed after construction is checked when the bytes are needed
    const m = new Message('x');
    m.properties = { ...m.properties, contentEncoding: 'deflate' };
    expect(() => m.bodyBuffer).toThrow(ArgumentError);
  });
});

describe('received bodies are decoded for every label TextDecoder knows, never losing bytes', () => {
  it('multi-byte legacy encodings decode', () => {
    expect(received(Buffer.from('93fa967b', 'hex'), 'shift_jis').body).toBe('日本');
    expect(received(Buffer.from('c4e3bac3', 'hex'), 'gbk').body).toBe('你好');
  });

  it('bytes that are not valid in their label stay a Buffer, byte for byte', () => {
    const bad = Buffer.from([0xff, 0xfe, 0xfd]);
    for (const label of ['utf-8', 'ascii', 'shift_jis']) {
      const m = received(bad, label);
      expect(Buffer.isBuffer(m.body) && m.body.equals(bad)).toBe(true);
    }
    const odd = received(Buffer.from([0x41]), 'utf-16le');
    expect(Buffer.isBuffer(odd.body)).toBe(true);
  });

  it('latin-1 means ISO-8859-1 (0x80 is U+0080), not the WHATWG windows-1252 reading', () => {
    expect(received(Buffer.from([0x80]), 'iso-8859-1').body).toBe('\u0080');
    expect(received(Buffer.from([0x80]), 'windows-1252').body).toBe('€');
  });

  it('unknown labels and no label leave the body as bytes', () => {
    expect(Buffer.isBuffer(received(Buffer.from('hi'), 'gzip').body)).toBe(true);
    expect(Buffer.isBuffer(received(Buffer.from('hi')).body)).toBe(true);
    expect(decodeText(Buffer.from('hi'), 'no-such-charset')).toBeNull();
    expect(charsetOf('no-such-charset')).toBeNull();
  });

  it('encodeText with no label is UTF-8', () => {
    expect(encodeText('é', undefined).toString('hex')).toBe('c3a9');
  });
});

describe('JSON bodies', () => {
  it('travel as application/json text and parse back', () => {
    const m = new Message({ id: 7, tags: ['a', 'b'], nested: { ok: true, none: null } });
    expect(m.properties).toEqual({ contentType: 'application/json', contentEncoding: 'utf-8' });
    expect(m.bodyBuffer.toString()).toBe('{"id":7,"tags":["a","b"],"nested":{"ok":true,"none":null}}');
    const back = received(m.bodyBuffer, 'utf-8');
    expect(back.json()).toEqual(m.body);
    expect(new Message([1, 2, 3]).bodyBuffer.toString()).toBe('[1,2,3]');
    expect(new Message(42).bodyBuffer.toString()).toBe('42');
    expect(new Message(null).bodyBuffer.toString()).toBe('null');
    expect(new Message({ a: 1 }, { contentType: 'application/vnd.x+json' }).properties.contentType).toBe('application/vnd.x+json');
  });

  it('values JSON cannot carry are ArgumentErrors', () => {
    expect(() => new Message(10n as unknown as number)).toThrow(ArgumentError);
    expect(() => new Message(Number.NaN)).toThrow(/NaN/);
    expect(() => new Message({ when: Infinity })).toThrow(/Infinity/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => new Message(cyclic)).toThrow(/not a JSON value/);
    expect(() => new Message({ f: () => 1 } as unknown as Record<string, number>)).toThrow(/function/);
  });

  it('json() on bytes that are not JSON is an ArgumentError', () => {
    expect(() => received(Buffer.from('{oops'), 'utf-8').json()).toThrow(ArgumentError);
    expect(received(Buffer.from('{"a":1}')).json()).toEqual({ a: 1 });
  });
});

describe('subject and address', () => {
  it('subject is the application header `subject`; setting it copies the table', () => {
    const headers = { other: 1 };
    const m = new Message('x', { applicationHeaders: headers });
    m.subject = 'Hello World 1';
    expect(m.subject).toBe('Hello World 1');
    expect(m.properties.applicationHeaders).toEqual({ other: 1, subject: 'Hello World 1' });
    expect(headers).toEqual({ other: 1 });
    m.subject = undefined;
    expect(m.properties.applicationHeaders).toEqual({ other: 1 });
    expect(() => {
      m.subject = 5 as unknown as string;
    }).toThrow(ArgumentError);
  });

  it('address is a plain field, unset on new and received messages', () => {
    const m = new Message('x');
    expect(m.address).toBeUndefined();
    m.address = 'amqp://localhost/examples';
    expect(m.address).toBe('amqp://localhost/examples');
    expect(received(Buffer.from('x')).address).toBeUndefined();
  });
});
