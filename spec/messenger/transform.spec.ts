// Route/rewrite rules: Proton's `*` and `%` wildcards (greedy, backtracking, `%` stops at `/`),
// `$N` / `$0` / `$$` substitution, first match wins, regex characters taken literally.
import { describe, expect, it } from '@jest/globals';
import { ArgumentError } from '../../lib/core.js';
import { Transform } from '../../lib/messenger/transform.js';

function apply(rules: Array<[string, string]>, address: string): { matched: boolean; address: string } {
  const t = new Transform();
  for (const [p, s] of rules) t.add(p, s, 'route');
  return t.apply(address);
}

describe('Transform', () => {
  it('`*` matches any text, `/` included, and is group 1', () => {
    expect(apply([['amqp://orders/*', 'amqp://10.0.0.1:5673/$1']], 'amqp://orders/a/b')).toEqual({
      matched: true,
      address: 'amqp://10.0.0.1:5673/a/b',
    });
  });

  it('`%` does not match across `/`', () => {
    expect(apply([['amqp://%/q', 'X$1']], 'amqp://host/q').address).toBe('Xhost');
    expect(apply([['amqp://%/q', 'X$1']], 'amqp://a/b/q').matched).toBe(false);
    expect(apply([['%', 'whole']], 'a/b').matched).toBe(false);
  });

  it('wildcards are greedy and backtrack: the first group takes as much as the rest allows', () => {
    expect(apply([['*.*', '$1|$2']], 'a.b.c').address).toBe('a.b|c');
    expect(apply([['%/*', '$1|$2']], 'x/y/z').address).toBe('x|y/z');
    expect(apply([['*-%', '$1|$2']], 'a-b/c-d').address).toBe('a-b/c|d');
  });

  it('$0 is the whole address, $$ a dollar, a missing group nothing, and groups past 9 work', () => {
    expect(apply([['*', '[$0]']], 'abc').address).toBe('[abc]');
    expect(apply([['*', '$$1=$1']], 'v').address).toBe('$1=v');
    expect(apply([['a*', '$1:$2:$7']], 'ab').address).toBe('b::');
    const p = Array.from({ length: 10 }, () => '%').join('/');
    expect(apply([[p, '$10-$1']], 'a/b/c/d/e/f/g/h/i/j').address).toBe('j-a');
  });

  it('the first matching rule wins; no match leaves the address as it is', () => {
    const rules: Array<[string, string]> = [
      ['amqp://a/*', 'first/$1'],
      ['amqp://*', 'second/$1'],
    ];
    expect(apply(rules, 'amqp://a/q').address).toBe('first/q');
    expect(apply(rules, 'amqp://b/q').address).toBe('second/b/q');
    expect(apply(rules, 'other')).toEqual({ matched: false, address: 'other' });
  });

  it('regular-expression characters in a pattern are literal', () => {
    expect(apply([['a.b(c)+[d]?', 'hit']], 'a.b(c)+[d]?').matched).toBe(true);
    expect(apply([['a.b', 'hit']], 'axb').matched).toBe(false);
    expect(apply([['^$|\\', 'hit']], '^$|\\').matched).toBe(true);
  });

  it('refuses patterns and addresses that are not strings', () => {
    const t = new Transform();
    expect(() => t.add(1 as unknown as string, 'x', 'route')).toThrow(ArgumentError);
    expect(() => t.add('x', undefined as unknown as string, 'rewrite')).toThrow(/rewrite/);
    expect(t.list()).toEqual([]);
  });
});
