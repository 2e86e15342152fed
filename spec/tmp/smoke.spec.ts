import { describe, it } from '@jest/globals';

describe('smoke', () => {
  it('guard sees unhandled', async () => {
    const real = (process.on.constructor as FunctionConstructor)('return process')() as NodeJS.Process;
    console.log('same?', real === process, real.listenerCount('unhandledRejection'));
    const seen: unknown[] = [];
    const h = (r: unknown) => { seen.push(r); };
    real.on('unhandledRejection', h);
    void Promise.reject(new Error('x'));
    await new Promise((r) => setTimeout(r, 10));
    real.off('unhandledRejection', h);
    console.log('seen', seen.length);
  });
});
