// Runs a compiled example (build/examples/<path>.js, from `npm run build:examples`) as a child
// process against the broker under test, and collects its output: `runExample` to completion,
// `startExample` while it runs (to act on the broker when it prints a line, then wait for its end).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
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

/** Options of runExample / startExample. */
export interface ExampleOptions {
  /** Command-line arguments. */
  args?: string[];
  /** Extra environment (RABBITMQ_URL is set to the broker under test). */
  env?: Record<string, string>;
  /** Kill the example after this many ms (default 60 000). */
  timeoutMs?: number;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function exampleFile(example: string): string {
  const file = join(ROOT, 'build', 'examples', `${example}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build && npm run build:examples\` first (npm test does)`);
  return file;
}

function exampleEnv(opts: ExampleOptions): NodeJS.ProcessEnv {
  return { ...process.env, RABBITMQ_URL: brokerUrl(), ...opts.env };
}

/**
 * Runs `build/examples/<example>.js` (e.g. `proton/helloworld`) with RABBITMQ_URL set, arguments
 * and extra environment, killing it after `timeoutMs`.
 */
export function runExample(example: string, opts: ExampleOptions = {}): Promise<ExampleRun> {
  const file = exampleFile(example);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...(opts.args ?? [])],
      { cwd: ROOT, timeout: opts.timeoutMs ?? 60_000, env: exampleEnv(opts), maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
  });
}

/** A running example. */
export interface RunningExample {
  /** Resolves with the first stdout line matching `pattern`; rejects if the example ends first or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the example has exited. */
  readonly done: Promise<ExampleRun>;
}

/** Starts `build/examples/<example>.js` as runExample does, without waiting for it to end. */
export function startExample(example: string, opts: ExampleOptions = {}): RunningExample {
  const file = exampleFile(example);
  const child: ChildProcess = spawn(process.execPath, [file, ...(opts.args ?? [])], { cwd: ROOT, env: exampleEnv(opts) });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const w of watchers) w();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let exited = false;
  const done = new Promise<ExampleRun>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      exited = true;
      resolve({ stdout, stderr, code });
      for (const w of watchers) w();
    });
  });
  return {
    done,
    waitForLine(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no line matching ${String(pattern)} within ${timeoutMs} ms; stdout so far:\n${stdout}`)),
          timeoutMs,
        );
        const check = (): void => {
          const line = stdout.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) finish(null, line);
          else if (exited)
            finish(new Error(`the example ended without a line matching ${String(pattern)}; stdout:\n${stdout}\nstderr:\n${stderr}`));
        };
        function finish(err: Error | null, line = ''): void {
          clearTimeout(timer);
          watchers.delete(check);
          if (err) reject(err);
          else resolve(line);
        }
        watchers.add(check);
        check();
      });
    },
  };
}
