// Runs a compiled example (build/examples/<path>.js, from `npm run build:examples`) as a child
// process against the broker under test, and collects its output.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerUrl } from './broker.js';

/** What an example printed and how it ended. */
export interface ExampleRun {
  stdout: string;
  stderr: string;
  /** Exit code (null when killed by the timeout). */
  code: number | null;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `build/examples/<example>.js` (e.g. `proton/helloworld`) with RABBITMQ_URL set, arguments
 * and extra environment, killing it after `timeoutMs`.
 */
export function runExample(
  example: string,
  opts: { args?: string[]; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ExampleRun> {
  const file = join(ROOT, 'build', 'examples', `${example}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build && npm run build:examples\` first (npm test does)`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...(opts.args ?? [])],
      {
        cwd: ROOT,
        timeout: opts.timeoutMs ?? 60_000,
        env: { ...process.env, RABBITMQ_URL: brokerUrl(), ...opts.env },
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
  });
}
