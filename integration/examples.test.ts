// Every example in examples/ runs against the real broker and prints what it should.
import { describe, expect, test } from '@jest/globals';
import { runExample } from './support/examples.js';

describe('examples', () => {
  test('quick-start publishes, gets and acks one message', async () => {
    const r = await runExample('quick-start');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^got hello world \(delivery tag 1\)$/);
  });
});
