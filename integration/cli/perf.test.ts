// `amqpts perf` as a real process: a 5-second run with confirms whose --json is parsed (and whose
// plain progress lines in a pipe are checked), counted runs on a quorum queue (table parsed) and
// a stream, the queue it created deleted afterwards, and one run driven in a real terminal (tmux):
// the live line renders in place and updates, and Ctrl-C there ends the run with the final table
// and exit 130.
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from '@jest/globals';
import type { PerfResult } from '../../lib/cli/perf-stats.js';
import { NotFound } from '../../lib/index.js';
import { suite } from '../harness.js';
import { brokerUrl } from '../support/broker.js';
import { cli, MAIN } from './cli.js';

const s = suite();

/** True once the queue is gone (checked through the API). */
async function gone(queue: string): Promise<boolean> {
  const { ch } = await s.open();
  const outcome = await ch.queueDeclare(queue, { passive: true }).then(
    () => 'exists',
    (err: unknown) => err,
  );
  if (outcome !== 'exists' && !(outcome instanceof NotFound)) throw outcome;
  return outcome instanceof NotFound;
}

/** One row of the counts table: [messages, msg/s]. */
function row(table: string, name: string): number[] {
  const m = new RegExp(`^${name}\\s+(\\d+)\\s+(\\d+)$`, 'm').exec(table);
  if (!m) throw new Error(`no '${name}' row in:\n${table}`);
  return [Number(m[1]), Number(m[2])];
}

const STATUS =
  /^(?:\[[=-]+\] )?(\d+(?:\.\d)?)s \| sent \d+ msg\/s \| recv \d+ msg\/s \| confirm p50\/p95\/p99 (?:[\d.]+\/[\d.]+\/[\d.]+ ms|-) \| latency p50\/p95\/p99 (?:[\d.]+\/[\d.]+\/[\d.]+ ms|-)$/;

describe('perf', () => {
  test('5 s with confirms: --json parsed, plain progress lines in a pipe, the queue deleted', async () => {
    const q = s.queue(s.name('perf-json'));
    const r = await cli(['perf', '--queue', q, '-z', '5s', '-r', '400', '-c', '20', '-s', '100', '--json'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as PerfResult;
    expect(j).toMatchObject({
      producers: 1,
      consumers: 1,
      size: 100,
      queue: q,
      queueType: 'classic',
      confirm: 20,
      rate: 400,
      interrupted: false,
    });
    expect(j.durationMs).toBeGreaterThanOrEqual(5000);
    expect(j.sent).toBeGreaterThan(1000); // 400 msg/s for 5 s, with room for a slow machine
    // the limiter never runs ahead of the rate over the run's own measured duration (not a speed check)
    expect(j.sent).toBeLessThanOrEqual(Math.ceil((400 * j.durationMs) / 1000) + 1);
    expect(j.confirmed + j.nacked).toBe(j.sent);
    expect(j.received).toBeGreaterThan(j.sent * 0.9);
    expect(j.received).toBeLessThanOrEqual(j.sent);
    const confirm = j.confirmLatencyMs;
    expect(confirm.count).toBe(j.confirmed);
    expect(confirm.min).toBeLessThanOrEqual(confirm.p50!);
    expect(confirm.p50).toBeLessThanOrEqual(confirm.p95!);
    expect(confirm.p95).toBeLessThanOrEqual(confirm.p99!);
    expect(confirm.p99).toBeLessThanOrEqual(confirm.max!);
    expect(j.latencyMs.count).toBe(j.received);
    // in a pipe: one plain line per interval (no bar, no carriage returns), on stderr
    expect(r.stderr).not.toContain('\r');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const l of lines) expect(l).toMatch(STATUS);
    expect(lines.some((l) => /confirm p50\/p95\/p99 [\d.]+\//.test(l))).toBe(true);
    expect(await gone(q)).toBe(true);
  });

  test('--count on a quorum queue, 2 producers and 2 consumers: the final table parsed', async () => {
    const q = s.queue(s.name('perf-quorum'));
    const r = await cli(['perf', '--queue', q, '--queue-type', 'quorum', '-x', '2', '-y', '2', '-C', '300', '-c', '50', '-q'], {
      timeoutMs: 30_000,
    });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(
      new RegExp(`amqpts perf: 2 producers, 2 consumers, 12-byte messages, quorum queue '${q}', confirm window 50, no rate limit,`),
    );
    expect(row(r.stdout, 'sent')[0]).toBe(600);
    expect(row(r.stdout, 'confirmed')[0]).toBe(600);
    expect(row(r.stdout, 'nacked')[0]).toBe(0);
    expect(row(r.stdout, 'received')[0]).toBe(600);
    expect(r.stdout).toMatch(/^latency \(ms\)\s+min\s+p50\s+p95\s+p99\s+max\s+mean$/m);
    expect(r.stdout).toMatch(/^confirm(\s+[\d.]+){6}$/m);
    expect(r.stdout).toMatch(/^end-to-end(\s+[\d.]+){6}$/m);
    expect(await gone(q)).toBe(true);
  });

  test('a stream queue: consumers read from the next offset with acks; an existing --queue is kept', async () => {
    const q = s.queue(s.name('perf-stream'));
    const { ch } = await s.open();
    await ch.queueDeclare(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    const r = await cli(['perf', '--queue', q, '--queue-type', 'stream', '-C', '200', '--json', '-q'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ queueType: 'stream', sent: 200, received: 200 });
    expect(await gone(q)).toBe(false);
  });
});

describe('perf in a terminal (tmux)', () => {
  test('the live line renders in place and updates; Ctrl-C prints the final table, deletes the queue, exits 130', async () => {
    const q = s.queue(s.name('perf-tty'));
    const sock = `amqpts-cli-${process.pid}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });
    const cmd = `RABBITMQ_URL='${brokerUrl()}' '${process.execPath}' '${MAIN}' perf --queue ${q} -z 60s -r 300 -c 10 --interval 200ms; echo "EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'perf', '-x', '180', '-y', '40', cmd);
    s.defer(() => {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    });
    const screen = (): string[] =>
      tmux('capture-pane', '-p', '-t', 'perf')
        .split('\n')
        .filter((l) => l.trim() !== '');
    const statusLines = (): string[] => screen().filter((l) => STATUS.test(l.trimEnd()));
    const elapsedSeen = new Set<string>();
    const deadline = Date.now() + 15_000;
    while (elapsedSeen.size < 3 && Date.now() < deadline) {
      const lines = statusLines();
      expect(lines.length).toBeLessThanOrEqual(1); // redrawn in place, never a second line
      const m = STATUS.exec(lines[0]?.trimEnd() ?? '');
      if (m?.[1]) elapsedSeen.add(m[1]);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(elapsedSeen.size).toBeGreaterThanOrEqual(3); // it updates
    expect(statusLines()[0]).toMatch(/^\[[=-]{20}\] /); // with a progress bar towards --duration
    tmux('send-keys', '-t', 'perf', 'C-c');
    const end = Date.now() + 15_000;
    while (!screen().some((l) => l.startsWith('EXIT=')) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const final = screen().join('\n');
    expect(final).toMatch(/^EXIT=130$/m);
    expect(final).toMatch(/^amqpts perf: .* \(interrupted\)$/m);
    expect(row(final, 'sent')[0]).toBeGreaterThan(0);
    expect(statusLines()).toHaveLength(1);
    expect(await gone(q)).toBe(true);
  });
});
