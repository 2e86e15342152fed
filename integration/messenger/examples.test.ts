// The Messenger examples (examples/messenger/*.ts, compiled by `npm run build:examples`) against the
// broker: issue 12's put/send + recv/get program as written, and Proton's send and recv programs.
import { describe, expect, test } from '@jest/globals';
import { suite } from '../harness.js';
import { runExample } from '../support/examples.js';

const s = suite();

describe('Messenger examples', () => {
  test('hello: 3 messages put and sent, recv(10), a get() loop prints the subjects', async () => {
    const q = s.queue(s.name('examples'));
    const r = await runExample('messenger/hello', { args: [q] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['Hello World 0', 'Hello World 1', 'Hello World 2']);
  });

  test('send then recv: every tracker ACCEPTED, then each message with its address and subject', async () => {
    const q = s.queue(s.name('examples'));
    const sent = await runExample('messenger/send', { args: [q, '4'] });
    expect([sent.stderr, sent.code]).toEqual(['', 0]);
    expect(sent.stdout.trim().split('\n')).toEqual(['0: ACCEPTED', '1: ACCEPTED', '2: ACCEPTED', '3: ACCEPTED']);
    const got = await runExample('messenger/recv', { args: [q] });
    expect([got.stderr, got.code]).toEqual(['', 0]);
    expect(got.stdout.trim().split('\n')).toEqual([0, 1, 2, 3].map((i) => `amqp://localhost/${q} Hello World ${i} body ${i}`));
  });
});
