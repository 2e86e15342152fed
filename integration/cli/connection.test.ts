// Connecting from the CLI: ping's report (text and --json), the broker from connect.json (by
// MESSAGING_CONNECT_FILE and in the working directory), and the exit code and one-line message of
// every way connecting fails: refused login, unknown vhost, unreachable host, a silent peer.
// No output ever contains the password.
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../harness.js';
import { brokerUrl } from '../support/broker.js';
import { cli } from './cli.js';

const s = suite();
const broker = new URL(brokerUrl());
const host = broker.hostname;
const port = Number(broker.port || 5672);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'amqpts-cli-'));
  dirs.push(d);
  return d;
}

describe('ping', () => {
  test("prints the server's product, version, capabilities, what was negotiated and round-trip times", async () => {
    const r = await cli(['ping']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^connected to amqp:\/\/guest:\*\*\*@.+ in \d+(\.\d+)? ms$/);
    expect(lines[1]).toMatch(/^server: +RabbitMQ \d+\.\d+\.\d+ on Erlang\/OTP/);
    expect(lines[2]).toMatch(/^capabilities: .*publisher_confirms.*basic\.nack/);
    expect(lines[3]).toMatch(/^negotiated: +frame_max \d+, channel_max \d+, heartbeat \d+ s$/);
    expect(lines[4]).toMatch(/^round trip: +3 x channel\.flow: min [\d.]+ ms, avg [\d.]+ ms, max [\d.]+ ms$/);
  });

  test('--json', async () => {
    const r = await cli(['ping', '-n', '2', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({
      product: 'RabbitMQ',
      capabilities: { publisher_confirms: true },
      negotiated: { frameMax: expect.any(Number) },
    });
    expect(j['rttMs']).toMatchObject({ count: 2, min: expect.any(Number), max: expect.any(Number) });
    expect(String(j['version'])).toMatch(/^\d+\.\d+/);
    expect(String(j['url'])).toMatch(/^amqp:\/\/guest:\*\*\*@/);
  });
});

describe('connect.json', () => {
  test('MESSAGING_CONNECT_FILE names it (JSON with comments); --verbose says where the broker came from, password masked', async () => {
    const file = join(tempDir(), 'messaging.json');
    writeFileSync(
      file,
      `{\n  // where the broker is\n  "scheme": "amqp", "host": "${host}", "port": ${port},\n  "user": "guest", /* the default */ "password": "guest"\n}\n`,
    );
    const r = await cli(['-v', 'ping'], { env: { RABBITMQ_URL: '', MESSAGING_CONNECT_FILE: file } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`amqpts: connecting to amqp://guest:***@${host}:${port}/ (from connect.json (${file}))`);
    expect(r.stdout).toContain(`connected to amqp://guest:***@${host}:${port}/`);
    expect(r.stdout + r.stderr).not.toContain('guest:guest');
  });

  test('./connect.json in the working directory; a broken one is a usage error naming the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'connect.json'), JSON.stringify({ scheme: 'amqp', host, port }));
    expect((await cli(['ping', '-n', '1'], { cwd: dir, env: { RABBITMQ_URL: '' } })).code).toBe(0);
    writeFileSync(join(dir, 'connect.json'), '{"scheme": "amqp", "port": "nope"}');
    const bad = await cli(['ping'], { cwd: dir, env: { RABBITMQ_URL: '' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`amqpts: ConfigError: ${join(dir, 'connect.json')}: "port" must be a port number, amqp or amqps, got "nope"\n`);
  });
});

describe('exit codes when connecting fails', () => {
  test('a refused login: exit 3, one line, the password never printed (even with --verbose)', async () => {
    const url = `amqp://guest:wrong-password@${host}:${port}/`;
    const r = await cli(['get', 'q', '--url', url]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'amqpts: AccessRefused (403): Login was refused using authentication mechanism PLAIN. For details see the broker logfile.\n',
    );
    const v = await cli(['ping', '--verbose', '--url', url]);
    expect(v.code).toBe(3);
    expect(v.stderr).toMatch(/\n\s+at /); // the stack, only with --verbose
    expect(v.stderr).toContain('amqp://guest:***@');
    expect(v.stdout + v.stderr).not.toContain('wrong-password');
  });

  test('an unknown vhost: exit 3 (530 NOT_ALLOWED)', async () => {
    const r = await cli(['ping', '--url', `amqp://guest:guest@${host}:${port}/${s.name('no-vhost')}`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^amqpts: NotAllowed \(530\): vhost amqpts-it-no-vhost-.* not found\n$/);
  });

  test('an unreachable host (connection refused): exit 2', async () => {
    const r = await cli(['ping', '--url', 'amqp://127.0.0.1:1/']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('amqpts: ConnectionLost: could not connect to 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n');
  });

  test('a peer that never answers: exit 6 after --timeout', async () => {
    const peers = new Set<Socket>();
    const silent: Server = createServer((sock) => void peers.add(sock)); // accepts, then never says a word
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    s.defer(
      () =>
        new Promise<void>((resolve) => {
          for (const p of peers) p.destroy();
          silent.close(() => resolve());
        }),
    );
    const { port: p } = silent.address() as { port: number };
    const r = await cli(['ping', '-t', '300ms', '--url', `amqp://127.0.0.1:${p}/`]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^amqpts: Timeout: connect to amqp:\/\/guest@127\.0\.0\.1:\d+\/%2F: timed out after 300 ms\n$/);
  });

  test('a usage error: exit 1 before connecting', async () => {
    const r = await cli(['consume', 'q', '--prefetch', 'lots', '--url', 'amqp://127.0.0.1:1/']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^amqpts: option '--prefetch <n>' argument 'lots' is invalid/);
  });
});
