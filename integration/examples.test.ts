// Every example in examples/ runs against the real broker and prints what it should. The examples
// are compiled against the built package by `npm run build:examples` (strict, skipLibCheck off).
import { describe, expect, test } from '@jest/globals';
import { closeConnectionsWhere, uniqueName } from './support/broker.js';
import { type ExampleRun, runExample, startExample } from './support/examples.js';

/** The example ended cleanly; its stdout lines. */
function linesOf(r: ExampleRun): string[] {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trimEnd().split('\n');
}

describe('examples', () => {
  test('quick-start declares, binds, publishes, gets and acks one message', async () => {
    expect(linesOf(await runExample('quick-start'))).toEqual(['got hello world (delivery tag 1)']);
  });

  test('callback-consumer handles every message with at most 4 callbacks at once and reports the one that threw', async () => {
    const lines = linesOf(await runExample('callback-consumer'));
    expect(lines).toContain('failed: job 7 (job 7 is broken)');
    const summary = /^handled 12 messages, at most (\d+) at a time$/.exec(lines.at(-1) ?? '');
    expect(summary).not.toBeNull();
    const busiest = Number(summary?.[1]);
    expect(busiest).toBeGreaterThan(1); // the callbacks did overlap...
    expect(busiest).toBeLessThanOrEqual(4); // ...but never more than the concurrency limit
  });

  test('abstract-consumer runs, is cancelled by the client, then by the server', async () => {
    expect(linesOf(await runExample('abstract-consumer'))).toEqual([
      'printer got hello 1',
      'printer got hello 2',
      'printer got hello 3',
      'messages: 3, active after cancel(): false',
      'cancelled by the server: ConsumerCancelled, active: false',
    ]);
  });

  test('worker drains events one at a time, times out when idle, and loops until the connection closes', async () => {
    expect(linesOf(await runExample('worker'))).toEqual([
      'worker got task 1',
      'worker got task 2',
      'worker got task 3',
      'no event within 100 ms',
      'worker got task 4',
      'worker got stop',
      'loop ended, connection closed',
    ]);
  });

  test('async-iterator reads in order, requeues on break, and ends with ConsumerCancelled when the queue goes', async () => {
    expect(linesOf(await runExample('async-iterator'))).toEqual([
      'order 1',
      'order 2',
      'order 3',
      'back in the queue: order 4, redelivered: true',
      'the server cancelled the consumer: the loop ended with ConsumerCancelled',
    ]);
  });

  test('confirms keeps at most 100 in flight, and reports a returned and a nacked message', async () => {
    expect(linesOf(await runExample('confirms'))).toEqual([
      'mode: confirm',
      'in flight: 100',
      '1000 confirmed, unconfirmed now: 0',
      'returned: lost (312 NO_ROUTE), a NoRoute: true',
      'nacked: PublishNacked',
    ]);
  });

  test('errors shows typed errors, the reopened channel, stale acks, checks, local refusals, timeouts and masked secrets', async () => {
    const lines = linesOf(await runExample('errors'));
    expect(lines).toEqual([
      'channel 1 closed by the server: 404, reopening',
      'NotFound: replyCode 404, method queue.declare, a ChannelError: true',
      'channel 1 reopened, open: true',
      'next call after the error: ok',
      'StaleDelivery: the delivery belongs to the channel before it reopened',
      'checkQueue: NotFound',
      'checkQueue: 1 message(s) ready',
      'UnencodableValue: refused before sending',
      'UnencodableValue: an ArgumentError true, a FrameSyntaxError true',
      'Timeout: basic.get: aborted',
      'invalid AMQP URL: "amqp://app:***@localhost:99999/"',
      expect.stringMatching(/^Connection \{ url: 'amqps?:\/\/[^:@]+@[^']+', user: '[^']+', vhost: '[^']+', state: 'open', channels: 1 \}$/),
      'ConnectionClosed: the connection was closed by the client',
    ]);
    expect(lines.join('\n')).not.toContain('S3cret');
  });

  test('large-messages publishes from one reused buffer and consumes into recycled memory, copies intact, stale bodies empty', async () => {
    expect(linesOf(await runExample('large-messages'))).toEqual([
      'published 4 messages of 8 MiB',
      'consumed 4 messages, checksums match',
      'copies kept after the callbacks: intact',
      'bodies kept without copying: 0, 0, 0, 0 bytes (empty)',
    ]);
  });

  test('recovery: after rabbitmqctl close_connection the consumer, confirm mode and an outage publish come back', async () => {
    const name = uniqueName('amqpts-it-example-recovery');
    const run = startExample('recovery', { args: ['30'], env: { CONNECTION_NAME: name } });
    await run.waitForLine(/^state: open; waiting up to 30 s for a connection loss$/);
    expect(await closeConnectionsWhere((c) => c.connectionName === name, 'example test')).toHaveLength(1);
    const lines = linesOf(await run.done);
    expect(lines).toContain('disconnected: ConnectionForced, state recovering');
    expect(lines).toContain('reconnecting: attempt 1 after 0 ms');
    expect(lines).toContain('recovered after 1 attempt(s): state open, channel mode confirm');
    for (const body of ['before the loss', 'during the outage', 'after recovery']) expect(lines).toContain(`consumer got: ${body}`);
    expect(lines.indexOf('consumer got: during the outage')).toBeLessThan(lines.indexOf('consumer got: after recovery'));
    expect(lines.at(-1)).toBe('closed');
  });

  test('channel-methods covers the rest of the API: e2e bindings, settling by tag, recover, flow, tx, checks, typed headers, parseUrl', async () => {
    const lines = linesOf(await runExample('channel-methods'));
    expect(lines).toEqual([
      'alive: true, blocked: no, channels: 0',
      expect.stringMatching(/^publisher confirms: true, channelMax: \d+$/),
      'channel 1: open true, active true, mode none, autoDecode false',
      'checkExchange: exists',
      'body is a Buffer: true, price -19.99',
      'after reject, nack, ack: order 1 (redelivered true), then nothing',
      'after basicRecover: order 1',
      'flow: true',
      'mode tx: got kept, then nothing',
      'purged 0, deleted with 0 message(s)',
      '{"host":"rabbit.example","port":5673,"userid":"app","password":"***","virtualHost":"prod","heartbeat":10} masked in inspect',
    ]);
  });

  test('demo runs end to end', async () => {
    const lines = linesOf(await runExample('demo'));
    expect(lines[0]).toMatch(/^connected to RabbitMQ \S+ \(frame_max \d+, heartbeat \d+ s\)$/);
    expect(lines.slice(1)).toEqual([
      'basicGet -> "hello world 1" headers={"n":1}',
      'published 3 confirmed messages',
      'consumer got "hello world 2"',
      'consumer got "hello world 3"',
      'consumer got "hello world 4"',
      'for await got "hello world 5"',
      'done',
    ]);
  });

  test('tracing: one trace across two connections, the active span in the callback, a settle diagnostic and the stats', async () => {
    expect(linesOf(await runExample('tracing'))).toEqual([
      "processing order 42, active span in the publisher's trace: true",
      'process <queue>: process, id order-42',
      'publish <queue>: send, id order-42',
      'one trace: true',
      'settled: ack',
      'producer published 1, confirmed 1; consumer delivered 1, acked 1',
    ]);
  });

  test('quorum-and-streams dead-letters a poison message at its delivery limit and reads a stream from its first offset', async () => {
    expect(linesOf(await runExample('quorum-and-streams'))).toEqual([
      'order 42, delivery count 0',
      'order 42, delivery count 1',
      'dead-lettered: 42',
      'event 0 at offset 0',
      'event 1 at offset 1',
      'event 2 at offset 2',
    ]);
  });
});
