// Qpid Proton's Python examples, ported to examples/proton/, run against the real broker: each
// test checks what the example printed and what it left on the broker (counted from a second
// connection). Needs `npm run build && npm run build:examples` (npm test does both).
import { describe, expect, test } from '@jest/globals';
import { Message } from '../../lib/index.js';
import { runExample } from '../support/examples.js';
import { expectCount, suite } from '../harness.js';
import { startExample, urlWith, waitForBinding } from './support.js';

const s = suite();

describe('examples/proton', () => {
  test('helloworld sends "Hello World!" to a queue and receives it', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('hello'));
    await ch.queueDeclare(q);
    const r = await runExample('proton/helloworld', { args: ['-a', q] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Hello World!\n');
    await expectCount(ch, q, 0);
  });

  test('simple_send and simple_recv: 1000 messages, every one accepted and received once', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('simple'));
    await ch.queueDeclare(q);
    const [recv, send] = await Promise.all([
      runExample('proton/simple_recv', { args: ['-a', urlWith(q), '-m', '1000'] }),
      runExample('proton/simple_send', { args: ['-a', urlWith(q), '-m', '1000'] }),
    ]);
    expect(send.stderr + recv.stderr).toBe('');
    expect([send.code, recv.code]).toEqual([0, 0]);
    expect(send.stdout).toBe('all messages confirmed\n');
    const lines = recv.stdout.trim().split('\n');
    expect(lines).toHaveLength(1000);
    const seqs = lines.map((l) => (JSON.parse(l) as { sequence: number }).sequence);
    expect(new Set(seqs).size).toBe(1000);
    expect(Math.min(...seqs)).toBe(1);
    expect(Math.max(...seqs)).toBe(1000);
    await expectCount(ch, q, 0);
  });

  test('client and server: requests answered through a dynamic reply queue', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('requests'));
    await ch.queueDeclare(q);
    const server = startExample('proton/server', ['-a', urlWith(q)]);
    s.defer(() => server.child.kill());
    const client = await runExample('proton/client', { args: ['-a', urlWith(q), 'hello there', 'Twas brillig'] });
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    expect(client.stdout).toBe('hello there => HELLO THERE\nTwas brillig => TWAS BRILLIG\n');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toBe('');
    expect(server.stdout()).toMatch(/^Listening on amqp:\/\/127\.0\.0\.1:5672\/.*\nReceived hello there\nReceived Twas brillig\n$/);
  });

  test('tx_send commits 20 messages in batches; tx_recv takes 10 in transactions; counted from a second connection', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('tx'));
    await ch.queueDeclare(q);
    const send = await runExample('proton/tx_send', { args: ['-a', urlWith(q), '-m', '20', '-b', '5'] });
    expect(send.stderr).toBe('');
    expect(send.stdout).toBe('20 messages committed\n');
    await expectCount(ch, q, 20);
    const recv = await runExample('proton/tx_recv', { args: ['-a', urlWith(q), '-m', '10', '-b', '5'] });
    expect(recv.stderr).toBe('');
    expect(recv.code).toBe(0);
    expect(recv.stdout.trim().split('\n')).toEqual(Array.from({ length: 10 }, (_, i) => JSON.stringify({ sequence: i + 1 })));
    await expectCount(ch, q, 10);
  });

  test('selected_recv gets only the messages its selector matches', async () => {
    const { ch } = await s.open();
    const x = s.exchange(s.name('colours'));
    await ch.exchangeDeclare(x, 'headers');
    const recv = runExample('proton/selected_recv', { args: ['-a', urlWith(`exchanges/${x}`), '-m', '3'] });
    await waitForBinding(x);
    for (const [i, colour] of ['red', 'green', 'blue', 'green', 'red', 'green'].entries()) {
      await ch.basicPublish(new Message(`${colour} ${i}`, { applicationHeaders: { colour } }), { exchange: x });
    }
    const r = await recv;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('green 1\ngreen 3\ngreen 5\n');
  });

  test('queue_browser reads a stream with Copy and leaves the messages there', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('stream'));
    await ch.queueDeclare(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    await ch.confirmSelect();
    for (let i = 1; i <= 5; i++) await ch.basicPublish(new Message({ n: i }, { messageId: String(i) }), { routingKey: q });
    const want = Array.from({ length: 5 }, (_, i) => `Message(id=${i + 1}, body={"n":${i + 1}})`).join('\n');
    for (let run = 0; run < 2; run++) {
      const r = await runExample('proton/queue_browser', { args: ['-a', urlWith(q)] });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(want);
    }
  });

  test('recurring_timer ticks the number of times asked', async () => {
    const r = await runExample('proton/recurring_timer', { args: ['--period', '20', '--ticks', '3'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Tick...\nTick...\nTick...\n');
  });

  test('worker_injector: a worker thread feeds events through an EventInjector; each becomes a message', async () => {
    const { ch } = await s.open();
    const q = s.queue(s.name('records'));
    await ch.queueDeclare(q);
    const r = await runExample('proton/worker_injector', { args: ['-a', q, '-m', '6'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(
      Array.from({ length: 6 }, (_, i) => `record ${JSON.stringify({ n: i + 1, square: (i + 1) ** 2 })}`),
    );
    await expectCount(ch, q, 0);
  });
});
