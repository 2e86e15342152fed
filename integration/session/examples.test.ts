// The Session and request/response examples (examples/session/*.ts) against the broker.
import { describe, expect, test } from '@jest/globals';
import { runExample } from '../support/examples.js';

describe('Session examples', () => {
  test('mgmt-request: a READ answered 200 by the node the program serves, a DELETE rejected with ManagementError 501', async () => {
    const r = await runExample('session/mgmt-request');
    expect([r.stderr, r.code]).toEqual(['', 0]);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('attach ')).every((l) => !l.includes('failed'))).toBe(true);
    expect(lines.slice(-2)).toEqual([
      'READ orders: {"messages":42} (status 200)',
      'DELETE orders: ManagementError 501 operation DELETE not implemented',
    ]);
  });

  test('rpc: 20 calls in flight over one reply consumer, each answered with its own square', async () => {
    const r = await runExample('session/rpc');
    expect([r.stderr, r.code]).toEqual(['', 0]);
    const squares = Array.from({ length: 20 }, (_, n) => n * n).join(' ');
    expect(r.stdout.trim().split('\n')).toEqual([`squares: ${squares}`, 'calls 20, replies 20, dropped 0']);
  });
});
