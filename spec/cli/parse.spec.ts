// Command-line value parsers and the typed queue options: every accepted form, and a UsageError
// (never a silent default) for everything else.
import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError } from 'commander';
import { ArgumentError, Typed } from '../../lib/core.js';
import { UsageError } from '../../lib/cli/errors.js';
import {
  buildProperties,
  collect,
  int,
  parseDuration,
  parseInteger,
  parseKeyValue,
  parseProperty,
  parseSize,
  parseStreamOffset,
  propertyName,
} from '../../lib/cli/parse.js';
import { queueDeclareOptions } from '../../lib/cli/queue-options.js';

describe('numbers, durations, sizes', () => {
  it('integers within bounds', () => {
    expect(parseInteger('42', '--count', 1)).toBe(42);
    expect(parseInteger(' 7 ', '--count', 1)).toBe(7);
    for (const bad of ['0', '-1', '1.5', 'x', '', '1e3', '99999999999999999999'])
      expect(() => parseInteger(bad, '--count', 1)).toThrow(UsageError);
    expect(() => parseInteger('300', '--max-priority', 1, 255)).toThrow(/--max-priority must be an integer from 1 to 255, got '300'/);
  });

  it('commander parsers turn a UsageError into commander invalid-argument errors', () => {
    expect(() => int('--count', 1)('0')).toThrow(InvalidArgumentError);
    const add = collect((v) => parseKeyValue(v, '--header'));
    expect(add('b=2', add('a=1', undefined))).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(() => add('novalue', undefined)).toThrow(InvalidArgumentError);
  });

  it.each([
    ['250', 250],
    ['250ms', 250],
    ['1.5s', 1500],
    ['5s', 5000],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('duration %s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('rejects durations without a number or with an unknown unit', () => {
    for (const bad of ['', 's', '5d', '-1s', 'soon']) expect(() => parseDuration(bad, '--duration')).toThrow(UsageError);
  });

  it.each([
    ['12', 12],
    ['4k', 4096],
    ['4KiB', 4096],
    ['4kB', 4000],
    ['1M', 1 << 20],
    ['1MB', 1_000_000],
    ['2GiB', 2 * 2 ** 30],
  ])('size %s = %d bytes', (text, n) => {
    expect(parseSize(text)).toBe(n);
  });

  it('rejects unknown size units', () => {
    for (const bad of ['1x', 'k', '', '1 TB']) expect(() => parseSize(bad, '--size')).toThrow(/--size must be a size/);
  });
});

describe('key=value and key:=json', () => {
  it('a plain value is a string, even when it looks like a number', () => {
    expect(parseKeyValue('n=5')).toEqual({ key: 'n', value: '5' });
    expect(parseKeyValue('url=a=b')).toEqual({ key: 'url', value: 'a=b' });
    expect(parseKeyValue('empty=')).toEqual({ key: 'empty', value: '' });
  });

  it(':= parses JSON into field values (numbers, booleans, null, arrays, tables)', () => {
    expect(parseKeyValue('n:=5').value).toBe(5);
    expect(parseKeyValue('f:=1.5').value).toBe(1.5);
    expect(parseKeyValue('b:=true').value).toBe(true);
    expect(parseKeyValue('z:=null').value).toBeNull();
    expect(parseKeyValue('a:=[1,"x"]').value).toEqual([1, 'x']);
    expect(parseKeyValue('t:={"k":{"d":2}}').value).toEqual({ k: { d: 2 } });
  });

  it('errors name the option and the problem', () => {
    expect(() => parseKeyValue('noequals', '--header')).toThrow(/--header: expected key=value/);
    expect(() => parseKeyValue('=v', '--header')).toThrow(UsageError);
    expect(() => parseKeyValue(':=5', '--header')).toThrow(/the key is empty/);
    expect(() => parseKeyValue('n:=nope', '--arg')).toThrow(/--arg: 'nope' after n:= is not JSON/);
  });
});

describe('--property', () => {
  it('accepts snake_case, kebab-case and camelCase names', () => {
    expect(propertyName('content_type')).toBe('contentType');
    expect(propertyName('content-type')).toBe('contentType');
    expect(propertyName('ContentType')).toBe('contentType');
    expect(propertyName('headers')).toBeUndefined();
  });

  it('types each property', () => {
    expect(parseProperty('delivery_mode=persistent')).toEqual({ deliveryMode: 2 });
    expect(parseProperty('delivery_mode=1')).toEqual({ deliveryMode: 1 });
    expect(parseProperty('priority=9')).toEqual({ priority: 9 });
    expect(parseProperty('expiration=60000')).toEqual({ expiration: '60000' });
    expect(parseProperty('timestamp=1700000000')).toEqual({ timestamp: new Date(1_700_000_000_000) });
    expect(parseProperty('timestamp=2024-01-02T03:04:05Z')).toEqual({ timestamp: new Date('2024-01-02T03:04:05Z') });
    expect(parseProperty('message_id=m=1')).toEqual({ messageId: 'm=1' });
    expect(parseProperty('reply-to=amq.rabbitmq.reply-to')).toEqual({ replyTo: 'amq.rabbitmq.reply-to' });
  });

  it('rejects unknown names and bad values before anything is sent', () => {
    expect(() => parseProperty('colour=red')).toThrow(/a name among content_type, content_encoding/);
    expect(() => parseProperty('delivery_mode=3')).toThrow(UsageError);
    expect(() => parseProperty('priority=256')).toThrow(UsageError);
    expect(() => parseProperty('expiration=soon')).toThrow(UsageError);
    expect(() => parseProperty('timestamp=yesterday')).toThrow(/ISO-8601/);
  });

  it('merges properties and headers, later values winning', () => {
    const p = buildProperties(
      [{ priority: 1 }, { priority: 3, contentType: 'text/plain' }],
      [
        { key: 'a', value: '1' },
        { key: 'a', value: 2 },
      ],
    );
    expect(p).toEqual({ priority: 3, contentType: 'text/plain', applicationHeaders: { a: 2 } });
    expect(buildProperties([], [])).toEqual({});
  });
});

describe('--offset (streams)', () => {
  it('keywords, offsets as int64, intervals and timestamps', () => {
    expect(parseStreamOffset('first')).toBe('first');
    expect(parseStreamOffset('next')).toBe('next');
    const n = parseStreamOffset('1000');
    expect(n).toBeInstanceOf(Typed);
    expect(n).toMatchObject({ type: 'l', value: 1000 });
    expect(parseStreamOffset('10m')).toBe('10m');
    expect(parseStreamOffset('7D')).toBe('7D');
    expect(parseStreamOffset('2024-05-01T00:00:00Z')).toEqual(new Date('2024-05-01T00:00:00Z'));
  });

  it('rejects anything else', () => {
    for (const bad of ['start', '-5', '10x', '2024-13-45']) expect(() => parseStreamOffset(bad)).toThrow(UsageError);
  });
});

describe('typed queue options', () => {
  it('map to x-arguments with their AMQP types', () => {
    const o = queueDeclareOptions({
      maxLength: 10,
      maxLengthBytes: 1 << 20,
      messageTtl: 30_000,
      expires: 60_000,
      deadLetterExchange: 'dlx',
      deadLetterRoutingKey: 'dead',
      maxPriority: 5,
      overflow: 'reject-publish',
      singleActiveConsumer: true,
      args: [{ key: 'x-custom', value: 'v' }],
    });
    expect(o).toEqual({
      durable: false,
      autoDelete: false,
      arguments: {
        'x-max-length': 10,
        'x-max-length-bytes': 1 << 20,
        'x-message-ttl': 30_000,
        'x-expires': 60_000,
        'x-dead-letter-exchange': 'dlx',
        'x-dead-letter-routing-key': 'dead',
        'x-max-priority': 5,
        'x-overflow': 'reject-publish',
        'x-single-active-consumer': true,
        'x-custom': 'v',
      },
    });
  });

  it('quorum queues and streams are durable, and take their own options', () => {
    expect(queueDeclareOptions({ type: 'quorum', deliveryLimit: 3 })).toEqual({
      durable: true,
      autoDelete: false,
      arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 3 },
    });
    expect(queueDeclareOptions({ type: 'stream', maxAge: '7D' }).arguments).toEqual({ 'x-queue-type': 'stream', 'x-max-age': '7D' });
    expect(queueDeclareOptions({ durable: true }).durable).toBe(true);
  });

  it.each([
    ['max-priority on a quorum queue', { type: 'quorum' as const, maxPriority: 5 }, /--max-priority is for classic queues only/],
    ['delivery-limit on a classic queue', { deliveryLimit: 3 }, /--delivery-limit is for quorum queues only/],
    ['max-age on a quorum queue', { type: 'quorum' as const, maxAge: '1D' }, /--max-age is for stream queues only/],
    ['auto-delete quorum queue', { type: 'quorum' as const, autoDelete: true }, /cannot be auto-delete/],
    ['non-durable stream', { type: 'stream' as const, durable: false }, /always durable/],
    ['overflow on a stream', { type: 'stream' as const, overflow: 'drop-head' as const }, /streams have no --overflow/],
    ['reject-publish-dlx on quorum', { type: 'quorum' as const, overflow: 'reject-publish-dlx' as const }, /do not support/],
    ['bad max-age', { type: 'stream' as const, maxAge: '7 days' }, /--max-age must be/],
  ])('%s is a UsageError', (_what, input, message) => {
    expect(() => queueDeclareOptions(input)).toThrow(message);
    expect(() => queueDeclareOptions(input)).toThrow(ArgumentError);
  });
});
