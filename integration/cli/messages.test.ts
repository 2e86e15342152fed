// The CLI as a real process against the broker: publish (argument, stdin, --lines, headers and
// properties, --confirm, --mandatory) then get and consume with their output checked, --json
// parsed, --requeue leaving the messages in place, and Ctrl-C ending a consume with exit 130.
import { describe, expect, test } from '@jest/globals';
import { Message } from '../../lib/index.js';
import { bodies, expectCount, suite } from '../harness.js';
import { cli, startCli, waitFor } from './cli.js';

const s = suite();

async function queue(): Promise<string> {
  const { ch } = await s.open();
  const q = s.queue(s.name('cli-q'));
  await ch.queueDeclare(q);
  return q;
}

describe('publish, then get and consume', () => {
  test('publish a body with headers and properties; get --json shows them; the message is acked', async () => {
    const q = await queue();
    const pub = await cli([
      'publish',
      'hello wörld',
      '-r',
      q,
      '-H',
      'source=cli',
      '-H',
      'attempt:=2',
      '-p',
      'content_type=text/plain',
      '-p',
      'message_id=m-1',
      '--persistent',
      '--confirm',
    ]);
    expect(pub).toMatchObject({ code: 0, stderr: '' });
    expect(pub.stdout).toBe(`published 1 message to exchange '' with routing key '${q}', 1 confirmed\n`);
    const get = await cli(['get', q, '--json']);
    expect(get.code).toBe(0);
    const rec = JSON.parse(get.stdout) as Record<string, unknown>;
    expect(rec).toMatchObject({
      queue: q,
      exchange: '',
      routingKey: q,
      redelivered: false,
      messageCount: 0,
      properties: { contentType: 'text/plain', messageId: 'm-1', deliveryMode: 2 },
      headers: { source: 'cli', attempt: 2 },
      bodyEncoding: 'utf8',
      body: 'hello wörld',
      bodySize: Buffer.byteLength('hello wörld'),
    });
    const { ch } = await s.open();
    await expectCount(ch, q, 0);
  });

  test('stdin with --lines and --count; consume --count prints the bodies in order and acks them', async () => {
    const q = await queue();
    const pub = await cli(['publish', '-r', q, '--lines', '--count', '2'], { stdin: 'a\nb\nc\n' });
    expect(pub.code).toBe(0);
    expect(pub.stdout).toMatch(/^published 6 messages/);
    const con = await cli(['consume', q, '--count', '4']);
    expect(con).toMatchObject({ code: 0, stdout: 'a\nb\nc\na\nb\nc\n'.slice(0, 8) });
    expect(con.stderr).toBe(`consumed 4 messages from '${q}'\n`);
    const { ch } = await s.open();
    await expectCount(ch, q, 2);
    expect(await bodies(ch, q)).toEqual(['b', 'c']);
  });

  test('consume --json: one parseable line per message; binary bodies in base64', async () => {
    const q = await queue();
    const { ch } = await s.open();
    await ch.basicPublish(new Message('text', { applicationHeaders: { n: 1 } }), { routingKey: q });
    await ch.basicPublish(new Message(Buffer.from([0, 0xff, 1])), { routingKey: q });
    const con = await cli(['consume', q, '-n', '2', '--json']);
    expect(con.code).toBe(0);
    const lines = con.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ body: 'text', bodyEncoding: 'utf8', headers: { n: 1 }, deliveryTag: 1 });
    expect(lines[1]).toMatchObject({ body: Buffer.from([0, 0xff, 1]).toString('base64'), bodyEncoding: 'base64', bodySize: 3 });
  });

  test('get --requeue and consume --requeue show messages and leave them in the queue', async () => {
    const q = await queue();
    expect((await cli(['publish', '-r', q, '--lines'], { stdin: 'x\ny\n' })).code).toBe(0);
    const get = await cli(['get', q, '-n', '2', '--requeue']);
    expect(get).toMatchObject({ code: 0, stdout: 'x\ny\n' });
    const con = await cli(['consume', q, '-n', '2', '--requeue']);
    expect(con).toMatchObject({ code: 0, stdout: 'x\ny\n' });
    const { ch } = await s.open();
    await expectCount(ch, q, 2);
    expect(await bodies(ch, q)).toEqual(['x', 'y']);
  });

  test('an empty queue: get prints nothing on stdout and exits 0', async () => {
    const q = await queue();
    expect(await cli(['get', q])).toMatchObject({ code: 0, stdout: '', stderr: `queue '${q}' is empty\n` });
  });

  test('--mandatory with no queue bound: exit 8 and a one-line reason', async () => {
    const r = await cli(['publish', 'lost', '-r', s.name('nobody'), '--mandatory']);
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/^amqpts: NoRoute \(312\): no queue is bound to exchange '' with routing key 'amqpts-it-nobody-/m);
  });

  test('publishing to a missing exchange: exit 4, even without --confirm', async () => {
    const x = s.name('no-exchange');
    const r = await cli(['publish', 'x', '-e', x]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`^amqpts: NotFound \\(404\\): no exchange '${x}' in vhost '/'$`, 'm'));
  });

  test('consuming from a missing queue: exit 4 and exactly one line on stderr', async () => {
    const q = s.name('no-queue');
    expect(await cli(['consume', q])).toEqual({
      code: 4,
      signal: null,
      stdout: '',
      stderr: `amqpts: NotFound (404): no queue '${q}' in vhost '/'\n`,
    });
  });

  test('Ctrl-C (SIGINT) ends a consume cleanly: summary printed, exit 130, the printed message acked', async () => {
    const q = await queue();
    const run = startCli(['consume', q]);
    const { ch } = await s.open();
    await ch.basicPublish(new Message('first'), { routingKey: q });
    await waitFor(run.stdout, /first\n/);
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stdout).toBe('first\n');
    expect(r.stderr).toBe(`consumed 1 message from '${q}'\n`);
    await expectCount(ch, q, 0);
  });
});
