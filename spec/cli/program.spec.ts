// The command line as commander parses it, run with recording runners (no broker): options,
// defaults and plans of every command, global options anywhere, help and version, usage errors
// (exit 1, a message naming the option), and runner errors turned into exit codes and one line.
import { describe, expect, it } from '@jest/globals';
import { Typed } from '../../lib/core.js';
import { errorForCode } from '../../lib/errors.js';
import type { PlanTypes } from '../../lib/cli/commands.js';
import type { CliContext } from '../../lib/cli/context.js';
import { type Runners, run } from '../../lib/cli/program.js';
import { memoryIo } from './memory-io.js';

interface Call {
  runner: keyof PlanTypes;
  plan: unknown;
  ctx: CliContext;
}

function recording(result: number | Error = 0): { runners: Runners; calls: Call[] } {
  const calls: Call[] = [];
  const make =
    (runner: keyof PlanTypes) =>
    async (ctx: CliContext, plan: unknown): Promise<number> => {
      calls.push({ runner, plan, ctx });
      if (result instanceof Error) throw result;
      return result;
    };
  const runners = Object.fromEntries(
    (['publish', 'consume', 'get', 'declare', 'purge', 'delete', 'ping', 'perf'] as const).map((k) => [k, make(k)]),
  ) as unknown as Runners;
  return { runners, calls };
}

async function parse(argv: string[], o: Parameters<typeof memoryIo>[0] = {}) {
  const m = memoryIo(o);
  const r = recording();
  const code = await run(argv, m.io, r.runners);
  return { code, calls: r.calls, plan: r.calls[0]?.plan, ctx: r.calls[0]?.ctx, out: m.out.text, err: m.err.text };
}

describe('publish', () => {
  it('body argument, exchange, routing key, repeatable headers and properties', async () => {
    const r = await parse([
      'publish',
      'hello',
      '-e',
      'x',
      '-r',
      'k',
      '-H',
      'a=1',
      '-H',
      'n:=2',
      '-p',
      'content_type=text/plain',
      '--persistent',
    ]);
    expect(r.code).toBe(0);
    expect(r.plan).toEqual({
      exchange: 'x',
      routingKey: 'k',
      properties: { contentType: 'text/plain', deliveryMode: 2, applicationHeaders: { a: '1', n: 2 } },
      body: { kind: 'arg', text: 'hello' },
      lines: false,
      count: 1,
      rate: 0,
      confirm: false,
      mandatory: false,
      json: false,
    });
  });

  it('--mandatory implies --confirm; --count, --rate, --lines, --file', async () => {
    const r = await parse(['publish', '--mandatory', '-n', '5', '--rate', '100', '--lines', '-f', 'body.txt']);
    expect(r.plan).toMatchObject({
      confirm: true,
      mandatory: true,
      count: 5,
      rate: 100,
      lines: true,
      body: { kind: 'file', path: 'body.txt' },
    });
  });

  it('stdin is the body when it is a pipe; a terminal stdin without a body is a usage error', async () => {
    expect((await parse(['publish'], { stdin: 'piped' })).plan).toMatchObject({ body: { kind: 'stdin' } });
    const r = await parse(['publish'], { stdinIsTTY: true });
    expect(r.code).toBe(1);
    expect(r.calls).toEqual([]);
    expect(r.err).toBe('amqpts: UsageError: no message body: give it as an argument, with --file, or on stdin (a pipe)\n');
  });

  it('a body and --file together are a usage error', async () => {
    const r = await parse(['publish', 'x', '--file', 'f']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not both/);
  });

  it.each([
    [['publish', 'x', '--count', '0'], /option '-n, --count <n>' argument '0' is invalid/],
    [['publish', 'x', '-p', 'colour=red'], /--property: expected name=value/],
    [['publish', 'x', '-H', 'oops'], /--header: expected key=value/],
    [['publish', 'x', '--rate', 'fast'], /--rate must be an integer/],
    [['publish', 'x', '--bogus'], /unknown option '--bogus'/],
  ])('%j exits 1 with a message naming the option, and runs nothing', async (argv, message) => {
    const r = await parse(argv);
    expect(r.code).toBe(1);
    expect(r.calls).toEqual([]);
    expect(r.err).toMatch(/^amqpts: /);
    expect(r.err).toMatch(message);
  });
});

describe('consume and get', () => {
  it('consume: defaults', async () => {
    const r = await parse(['consume', 'q']);
    expect(r.plan).toEqual({
      queue: 'q',
      count: undefined,
      prefetch: 100,
      noAck: false,
      requeue: false,
      json: false,
      offset: undefined,
      idleTimeout: undefined,
    });
  });

  it('consume: every option', async () => {
    const r = await parse(['consume', 'q', '-n', '3', '--prefetch', '10', '--json', '--offset', '42', '--idle-timeout', '2s']);
    expect(r.plan).toMatchObject({ count: 3, prefetch: 10, json: true, idleTimeout: 2000 });
    expect((r.plan as { offset: Typed }).offset).toEqual(new Typed('l', 42));
    expect((await parse(['consume', 'q', '--no-ack'])).plan).toMatchObject({ noAck: true });
  });

  it('--requeue with --no-ack, --offset with --no-ack, and an unbounded --requeue are usage errors', async () => {
    expect((await parse(['consume', 'q', '--requeue', '--no-ack'])).code).toBe(1);
    expect((await parse(['consume', 'q', '--offset', 'first', '--no-ack'])).err).toMatch(/streams, which need acks/);
    expect((await parse(['get', 'q', '--requeue', '--no-ack'])).code).toBe(1);
    expect((await parse(['consume', 'q', '--requeue', '--prefetch', '0'])).err).toMatch(/--requeue holds every message it shows/);
    expect((await parse(['consume', 'q', '--requeue', '--prefetch', '0', '-n', '5'])).plan).toMatchObject({
      requeue: true,
      count: 5,
      prefetch: 0,
    });
  });

  it('a missing queue argument is a usage error', async () => {
    const r = await parse(['consume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/missing required argument 'queue'/);
  });

  it('get: defaults and options', async () => {
    expect((await parse(['get', 'q'])).plan).toEqual({ queue: 'q', count: 1, noAck: false, requeue: false, json: false });
    expect((await parse(['get', 'q', '-n', '4', '--requeue', '--json'])).plan).toEqual({
      queue: 'q',
      count: 4,
      noAck: false,
      requeue: true,
      json: true,
    });
  });
});

describe('declare, purge, delete', () => {
  it('declare queue with typed options', async () => {
    const r = await parse([
      'declare',
      'queue',
      'q',
      '--type',
      'quorum',
      '--delivery-limit',
      '3',
      '--message-ttl',
      '1m',
      '--arg',
      'x-foo:=1',
    ]);
    expect(r.plan).toEqual({
      kind: 'queue',
      name: 'q',
      passive: false,
      options: {
        durable: true,
        autoDelete: false,
        arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 3, 'x-message-ttl': 60_000, 'x-foo': 1 },
      },
      json: false,
    });
    expect(r.ctx?.command).toBe('declare queue');
  });

  it('declare queue: no name means server-named; --durable/--no-durable; --passive alone', async () => {
    expect((await parse(['declare', 'queue'])).plan).toMatchObject({ name: '', options: { durable: false } });
    expect((await parse(['declare', 'queue', 'q', '--durable'])).plan).toMatchObject({ options: { durable: true } });
    expect((await parse(['declare', 'queue', 'q', '--passive'])).plan).toMatchObject({ passive: true });
    const bad = await parse(['declare', 'queue', 'q', '--passive', '--max-length', '5']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--passive only checks/);
    expect((await parse(['declare', 'queue', 'q', '--type', 'lazy'])).err).toMatch(/Allowed choices are classic, quorum, stream/);
    expect((await parse(['declare', 'queue', 'q', '--type', 'stream', '--no-durable'])).err).toMatch(/always durable/);
  });

  it('declare exchange and binding', async () => {
    expect((await parse(['declare', 'exchange', 'x', '--type', 'topic', '--durable', '--alternate-exchange', 'ae'])).plan).toEqual({
      kind: 'exchange',
      name: 'x',
      type: 'topic',
      passive: false,
      durable: true,
      autoDelete: false,
      internal: false,
      arguments: { 'alternate-exchange': 'ae' },
      json: false,
    });
    expect((await parse(['declare', 'binding', 'x', 'q', '-r', 'k', '--arg', 'x-match=all'])).plan).toEqual({
      kind: 'binding',
      source: 'x',
      destination: 'q',
      destinationType: 'queue',
      routingKey: 'k',
      arguments: { 'x-match': 'all' },
      json: false,
    });
    expect((await parse(['declare', 'binding', 'x', 'y', '--destination-type', 'exchange'])).plan).toMatchObject({
      destinationType: 'exchange',
    });
  });

  it('purge and delete', async () => {
    expect((await parse(['purge', 'q', '--json'])).plan).toEqual({ queue: 'q', json: true });
    expect((await parse(['delete', 'queue', 'q', '--if-empty'])).plan).toEqual({
      kind: 'queue',
      name: 'q',
      ifUnused: false,
      ifEmpty: true,
      json: false,
    });
    expect((await parse(['delete', 'exchange', 'x', '--if-unused'])).plan).toEqual({
      kind: 'exchange',
      name: 'x',
      ifUnused: true,
      json: false,
    });
    const b = await parse(['delete', 'binding', 'x', 'q', '-r', 'k']);
    expect(b.calls[0]?.runner).toBe('delete');
    expect(b.plan).toMatchObject({ kind: 'binding', source: 'x', destination: 'q', routingKey: 'k' });
  });
});

describe('ping and perf', () => {
  it('ping', async () => {
    expect((await parse(['ping'])).plan).toEqual({ count: 3, json: false });
    expect((await parse(['ping', '-n', '10', '--json'])).plan).toEqual({ count: 10, json: true });
  });

  it('perf: defaults (10 s, a generated queue name that perf owns)', async () => {
    const r = await parse(['perf']);
    expect(r.plan).toMatchObject({
      producers: 1,
      consumers: 1,
      size: 12,
      rate: 0,
      confirm: 0,
      durationMs: 10_000,
      count: undefined,
      queueType: 'classic',
      namedQueue: false,
      prefetch: 1000,
      noAck: false,
      multiAck: 1,
      intervalMs: 1000,
      json: false,
      streamOffset: undefined,
    });
    expect((r.plan as { queue: string }).queue).toMatch(/^amqpts-perf-[0-9a-f]{8}$/);
  });

  it("perf: PerfTest's short options and the rest", async () => {
    const r = await parse([
      'perf',
      '-x',
      '2',
      '-y',
      '3',
      '-s',
      '1k',
      '-r',
      '500',
      '-c',
      '50',
      '-z',
      '5s',
      '--queue-type',
      'stream',
      '--queue',
      'pq',
      '--json',
    ]);
    expect(r.plan).toMatchObject({
      producers: 2,
      consumers: 3,
      size: 1024,
      rate: 500,
      confirm: 50,
      durationMs: 5000,
      queueType: 'stream',
      queue: 'pq',
      namedQueue: true,
      streamOffset: 'next',
      json: true,
    });
    expect((await parse(['perf', '-C', '1000'])).plan).toMatchObject({ count: 1000, durationMs: undefined });
  });

  it.each([
    [['perf', '-x', '0', '-y', '0'], /nothing to do/],
    [['perf', '-x', '0', '-C', '5'], /--count is per producer/],
    [['perf', '--queue-type', 'stream', '--no-ack'], /stream consumers need acks/],
    [['perf', '--queue-type', 'stream', '--prefetch', '0'], /need a --prefetch above 0/],
    [['perf', '--multi-ack', '50', '--prefetch', '10'], /can never fill/],
    [['perf', '-z', 'forever'], /--duration must be a duration/],
  ])('%j is a usage error', async (argv, message) => {
    const r = await parse(argv);
    expect(r.code).toBe(1);
    expect(r.calls).toEqual([]);
    expect(r.err).toMatch(message);
  });
});

describe('global options, help, errors', () => {
  it('global options before or after the command; the URL source is recorded', async () => {
    const a = await parse(['-t', '2s', 'ping', '--url', 'amqp://u:pw99@h/', '-q']);
    expect(a.ctx?.global).toEqual({ url: 'amqp://u:pw99@h/', timeout: 2000, verbose: false, quiet: true });
    expect(a.ctx?.target).toMatchObject({ source: '--url', display: 'amqp://u:***@h/' });
    const b = await parse(['ping'], { env: { RABBITMQ_URL: 'amqp://r/' } });
    expect(b.ctx?.global.timeout).toBe(10_000);
    expect(b.ctx?.target.source).toBe('RABBITMQ_URL');
  });

  it('--help prints usage with the exit codes and exits 0; every command has --help', async () => {
    const r = await parse(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: amqpts \[options\] \[command\]/);
    expect(r.out).toMatch(/Exit codes:\n {2}0 {4}success/);
    expect(r.out).toMatch(/AMQP_URL/);
    for (const cmd of [
      ['publish'],
      ['consume'],
      ['get'],
      ['declare', 'queue'],
      ['declare', 'exchange'],
      ['declare', 'binding'],
      ['purge'],
      ['delete', 'queue'],
      ['ping'],
      ['perf'],
    ]) {
      const h = await parse([...cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.out).toMatch(new RegExp(`^Usage: amqpts ${cmd.join(' ')} `));
      expect(h.calls).toEqual([]);
    }
  });

  it('--version prints the version', async () => {
    const r = await parse(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('no command prints the help on stderr and exits 1; an unknown command exits 1', async () => {
    const none = await parse([]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/Usage: amqpts/);
    const bogus = await parse(['bogus']);
    expect(bogus.code).toBe(1);
    expect(bogus.err).toMatch(/^amqpts: unknown command 'bogus'/);
  });

  it("a runner's error becomes its exit code and one line, masked; the stack only with --verbose", async () => {
    const err = errorForCode(404, { replyText: "NOT_FOUND - no queue 'q' in vhost '/'" });
    for (const verbose of [false, true]) {
      const m = memoryIo();
      const code = await run(['get', 'q', '--url', 'amqp://u:pw1234@h/', ...(verbose ? ['-v'] : [])], m.io, recording(err).runners);
      expect(code).toBe(4);
      const lines = m.err.text.trimEnd().split('\n');
      expect(lines[0]).toBe("amqpts: NotFound (404): no queue 'q' in vhost '/'");
      expect(lines.length > 1).toBe(verbose);
      if (verbose) expect(m.err.text).toMatch(/\n\s+at /);
      expect(m.err.text).not.toContain('pw1234');
    }
  });

  it("a runner's exit code is the process's", async () => {
    const m = memoryIo();
    expect(await run(['consume', 'q'], m.io, recording(130).runners)).toBe(130);
  });

  it('a malformed --url is a usage error before any runner starts', async () => {
    const r = await parse(['ping', '--url', 'http://nope']);
    expect(r.code).toBe(1);
    expect(r.calls).toEqual([]);
    expect(r.err).toMatch(/^amqpts: ArgumentError: AMQP URL scheme must be amqp or amqps/);
  });
});
