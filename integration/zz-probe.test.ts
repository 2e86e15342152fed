import { test, expect, afterEach, beforeAll } from '@jest/globals';
import { createRequire } from 'node:module';
const real = (process as any).getBuiltinModule('node:process') as NodeJS.Process; void createRequire;
const seen: unknown[] = [];
const h = (r: unknown) => { seen.push(r); };
beforeAll(() => { real.on('unhandledRejection', h); console.log('real same?', real === process, real.listenerCount('unhandledRejection')); });
afterEach(() => { console.log('afterEach seen', seen.length); });
test('a: late rejection', async () => {
  setTimeout(() => { void Promise.reject(new Error('late boom')); }, 20);
  expect(1).toBe(1);
});
test('b: waits', async () => {
  await new Promise((r) => setTimeout(r, 100));
  console.log('seen in b', seen.length);
});
