// The exit code of every error class, the one-line message a person sees, and redaction.
import { describe, expect, it } from '@jest/globals';
import { CommanderError } from 'commander';
import { errorForCode } from '../../lib/errors.js';
import {
  AccessRefused,
  AMQPError,
  ArgumentError,
  ChannelClosed,
  ConnectionLost,
  ConsumerCancelled,
  FrameError,
  HeartbeatTimeout,
  InvalidPath,
  NoRoute,
  PreconditionFailed,
  PublishNacked,
  ResourceLocked,
  Timeout,
} from '../../lib/core.js';
import { ConfigError, Interrupted, UsageError } from '../../lib/cli/errors.js';
import { describeError, describeStack, EXIT, EXIT_CODES_HELP, exitCodeFor, redact } from '../../lib/cli/exit-codes.js';

describe('exitCodeFor', () => {
  it.each([
    ['UsageError', new UsageError('x'), EXIT.USAGE],
    ['ConfigError', new ConfigError('x'), EXIT.USAGE],
    ['ArgumentError', new ArgumentError('x'), EXIT.USAGE],
    ['ConnectionLost (refused)', new ConnectionLost('ECONNREFUSED'), EXIT.UNREACHABLE],
    ['HeartbeatTimeout', new HeartbeatTimeout('silent'), EXIT.UNREACHABLE],
    ['ConnectionForced (320)', errorForCode(320, { replyText: 'CONNECTION_FORCED' }, true), EXIT.UNREACHABLE],
    ['AccessRefused (403)', new AccessRefused('x', { replyCode: 403 }), EXIT.ACCESS],
    ['NotAllowed (530)', errorForCode(530, {}, true), EXIT.ACCESS],
    ['NotFound (404)', errorForCode(404), EXIT.NOT_FOUND],
    ['InvalidPath (402)', new InvalidPath('x'), EXIT.NOT_FOUND],
    ['PreconditionFailed (406)', new PreconditionFailed('x'), EXIT.PRECONDITION],
    ['ResourceLocked (405)', new ResourceLocked('x'), EXIT.PRECONDITION],
    ['Timeout', new Timeout('x'), EXIT.TIMEOUT],
    ['NoRoute (312)', new NoRoute('x'), EXIT.NOT_DELIVERED],
    ['PublishNacked', new PublishNacked('x'), EXIT.NOT_DELIVERED],
    ['ConsumerCancelled', new ConsumerCancelled('x'), EXIT.AMQP],
    ['FrameError (501)', new FrameError('x'), EXIT.AMQP],
    ['ChannelClosed', new ChannelClosed('x'), EXIT.AMQP],
    ['a plain AMQPError', new AMQPError('x'), EXIT.AMQP],
    ['a bug (TypeError)', new TypeError('x is undefined'), EXIT.INTERNAL],
    ['Interrupted (SIGINT)', new Interrupted('SIGINT'), 130],
    ['Interrupted (SIGTERM)', new Interrupted('SIGTERM'), 143],
    ['Interrupted (SIGPIPE)', new Interrupted('SIGPIPE'), 141],
    ['a Timeout caused by Ctrl-C', new Timeout('connect: aborted', { cause: new Interrupted('SIGINT') }), 130],
    ['commander usage error', new CommanderError(1, 'commander.unknownOption', 'x'), EXIT.USAGE],
    ['commander --help', new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), EXIT.OK],
  ])('%s -> %i', (_what, err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });

  it('the help text lists every code of the table', () => {
    for (const code of Object.values(EXIT)) expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${code} `, 'm'));
    expect(EXIT_CODES_HELP).toMatch(/143 for SIGTERM/);
  });
});

describe('describeError', () => {
  it('one line: class, reply code, the reply text without its constant prefix', () => {
    const err = errorForCode(404, { replyText: "NOT_FOUND - no queue 'x' in vhost '/'", methodName: 'queue.declare' });
    expect(describeError(err)).toBe("amqpts: NotFound (404): no queue 'x' in vhost '/'");
  });

  it('client-side errors (code 0) show their message', () => {
    expect(describeError(new ConnectionLost('could not connect to 127.0.0.1:1: connect ECONNREFUSED'))).toBe(
      'amqpts: ConnectionLost: could not connect to 127.0.0.1:1: connect ECONNREFUSED',
    );
    expect(describeError(new UsageError('bad\nthing'))).toBe('amqpts: UsageError: bad thing');
  });

  it('an interruption says so, whatever error carried it', () => {
    expect(describeError(new Timeout('x', { cause: new Interrupted('SIGINT') }))).toBe('amqpts: interrupted (SIGINT)');
  });

  it('a bug says it is one and points at --verbose; no stack in the line', () => {
    const line = describeError(new TypeError('boom'));
    expect(line).toBe('amqpts: internal error: TypeError: boom (run with --verbose for the stack)');
    expect(line).not.toMatch(/\n|at /);
  });

  it('never prints a password', () => {
    const err = new ConnectionLost('could not connect to amqp://bob:hunter22@h/ (hunter22)');
    expect(describeError(err, ['hunter22'])).toBe('amqpts: ConnectionLost: could not connect to amqp://bob:***@h/ (***)');
  });

  it('the --verbose stack includes causes, masked', () => {
    const err = new ConnectionLost('outer', { cause: new Error('inner with hunter22') });
    const s = describeStack(err, ['hunter22']);
    expect(s).toMatch(/ConnectionLost: outer\n\s+at /);
    expect(s).toMatch(/caused by: Error: inner with \*\*\*/);
    expect(s).not.toContain('hunter22');
  });
});

describe('redact', () => {
  it('masks URL passwords and literal secrets, the longer secret first', () => {
    expect(redact('amqp://u:p@h/ and amqps://v:q@k/')).toBe('amqp://u:***@h/ and amqps://v:***@k/');
    expect(redact('pass1234 and pass12345', ['pass1234', 'pass12345'])).toBe('*** and ***');
  });

  it('leaves the public default guest and very short secrets to URL masking only', () => {
    expect(redact('user guest', ['guest'])).toBe('user guest');
    expect(redact('a b c', ['a'])).toBe('a b c');
    expect(redact('amqp://guest:guest@h/', ['guest'])).toBe('amqp://guest:***@h/');
  });
});
