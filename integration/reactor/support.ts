// Helpers of the Proton-layer integration tests: a compiled example run in the background (for
// Proton's server, which runs until it is told to stop), the broker URL with a path, and waiting
// for a binding to exist (a receiver's private queue is bound before messages are published).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Container } from '../../lib/index.js';
import { brokerUrl, rabbitmqctl } from '../support/broker.js';
import { eventually } from '../harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `amqp://guest:guest@host:port/<path>` for the broker under test. */
export function urlWith(path: string): string {
  return `${brokerUrl().replace(/\/$/, '')}/${path}`;
}

/** An example running in the background. */
export interface Background {
  readonly child: ChildProcess;
  /** What it printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once it exited. */
  readonly exited: Promise<number | null>;
}

/** Starts `build/examples/<example>.js` with `args`; kill it with `child.kill()`. */
export function startExample(example: string, args: string[]): Background {
  const file = join(ROOT, 'build', 'examples', `${example}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build && npm run build:examples\` first`);
  const child = spawn(process.execPath, [file, ...args], { cwd: ROOT, env: { ...process.env, RABBITMQ_URL: brokerUrl() } });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** Waits until exchange `source` has at least one binding. */
export async function waitForBinding(source: string): Promise<void> {
  await eventually(
    async () => (await rabbitmqctl('list_bindings', 'source_name', '--no-table-headers')).split('\n').some((l) => l.trim() === source),
    { timeoutMs: 15_000, intervalMs: 100, what: `a binding from ${source}` },
  );
}

/** Runs `container` for the test (stopped by the suite's cleanup); resolves with 'resolved' or run()'s error. */
export function runContainer(s: { defer(fn: () => unknown): void }, container: Container): Promise<unknown> {
  s.defer(() => container.stop());
  return container.run().then(
    () => 'resolved',
    (err: unknown) => err,
  );
}
