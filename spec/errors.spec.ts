// The error tree against the spec's reply codes: every soft error is a channel error, every hard
// error a connection error, each with its own class and the fields the server reported.
import { describe, expect, it } from '@jest/globals';
import {
  AMQPError,
  ChannelError,
  ConnectionError,
  ERROR_CLASSES,
  ArgumentError,
  FrameSyntaxError,
  IrrecoverableChannelError,
  NotFound,
  PreconditionFailed,
  RecoverableChannelError,
  RecoverableConnectionError,
  UnencodableValue,
  errorForCode,
} from '../lib/errors.js';
import { Field, type FieldValue, Writer } from '../lib/protocol/primitives.js';
import { REPLY_CODES } from '../lib/protocol/generated/constants.js';

describe('errors', () => {
  const codes = Object.entries(REPLY_CODES).map(([code, info]) => [Number(code), info] as const);

  it('covers every reply code of the spec with a distinct class', () => {
    expect(codes.length).toBe(18);
    const classes = new Set<unknown>();
    for (const [code] of codes) {
      const Cls = ERROR_CLASSES[code];
      expect(Cls).toBeDefined();
      classes.add(Cls);
    }
    expect(classes.size).toBe(codes.length);
  });

  it.each(codes)('%i maps to a channel error when soft, a connection error when hard', (code, info) => {
    const err = errorForCode(code, { replyText: `${info.name} - x`, classId: 50, methodId: 10, methodName: 'queue.declare', channelId: 3 });
    expect(err).toBeInstanceOf(AMQPError);
    expect(err).toBeInstanceOf(info.kind === 'soft-error' ? ChannelError : ConnectionError);
    expect(err).toMatchObject({ replyCode: code, classId: 50, methodId: 10, methodName: 'queue.declare', channelId: 3 });
    expect(err.name).toBe((ERROR_CLASSES[code] as { name: string }).name);
    expect(err.message).toContain(String(code));
  });

  it('mirrors amqpy: 404 is irrecoverable, 406 recoverable, 320 a recoverable connection error', () => {
    expect(errorForCode(404)).toBeInstanceOf(NotFound);
    expect(errorForCode(404)).toBeInstanceOf(IrrecoverableChannelError);
    expect(errorForCode(406)).toBeInstanceOf(PreconditionFailed);
    expect(errorForCode(406)).toBeInstanceOf(RecoverableChannelError);
    expect(errorForCode(320, {}, true)).toBeInstanceOf(RecoverableConnectionError);
  });

  it('unknown codes fall back by level', () => {
    expect(errorForCode(999)).toBeInstanceOf(ChannelError);
    expect(errorForCode(999, {}, true)).toBeInstanceOf(ConnectionError);
  });
});

describe('a value the wire cannot carry (amqpy: FrameSyntaxError)', () => {
  const refusals: Array<[string, () => void]> = [
    ['an octet out of range', () => new Writer().u8(300)],
    ['a shortstr over 255 bytes', () => new Writer().shortstr('x'.repeat(256))],
    ['a header value of no field type', () => new Writer().table({ f: (() => 1) as unknown as FieldValue })],
    ['a decimal beyond 32 bits', () => Field.decimal(2, 2 ** 31)],
  ];

  it.each(refusals)('%s is an UnencodableValue: both an ArgumentError and a FrameSyntaxError', (_what, f) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnencodableValue);
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err).toBeInstanceOf(FrameSyntaxError);
    expect(err).toBeInstanceOf(AMQPError);
  });

  it('other ArgumentErrors and subclasses of FrameSyntaxError keep their own identity', () => {
    class Narrower extends FrameSyntaxError {}
    expect(new ArgumentError('x')).not.toBeInstanceOf(FrameSyntaxError);
    expect(new UnencodableValue('x')).not.toBeInstanceOf(Narrower);
    expect(new Narrower('x')).toBeInstanceOf(FrameSyntaxError);
    expect(errorForCode(502, {}, true)).toBeInstanceOf(FrameSyntaxError);
    expect(errorForCode(502, {}, true)).not.toBeInstanceOf(ArgumentError);
  });
});
