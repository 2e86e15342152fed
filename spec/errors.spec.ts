// The error tree against the spec's reply codes: every soft error is a channel error, every hard
// error a connection error, each with its own class and the fields the server reported.
import { describe, expect, it } from '@jest/globals';
import {
  AMQPError,
  ChannelError,
  ConnectionError,
  ERROR_CLASSES,
  IrrecoverableChannelError,
  NotFound,
  PreconditionFailed,
  RecoverableChannelError,
  RecoverableConnectionError,
  errorForCode,
} from '../lib/errors.js';
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
