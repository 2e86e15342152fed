// Runs the built CLI (dist/cli/main.js, from `npm run build`) as a real process against the broker
// under test, with a clean environment (no AMQP_URL, no connect.json), and collects its output.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerUrl } from '../support/broker.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

/** How a CLI run ended. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (default: stdin closed at once). */
  stdin?: string;
  /** Extra environment (RABBITMQ_URL is set to the broker under test unless given here). */
  env?: Record<string, string>;
  /** Kill after this long (default 30 s). */
  timeoutMs?: number;
  /** Working directory (default: the system temp dir, where no connect.json lies). */
  cwd?: string;
}

function checkBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
}

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RABBITMQ_URL: brokerUrl(), ...extra };
  for (const k of ['AMQP_URL', 'MESSAGING_CONNECT_FILE', 'NODE_OPTIONS']) if (!(k in extra)) delete env[k];
  return env;
}

/** Starts `amqpts ...args`; the caller collects output through the returned process. */
export function startCli(
  args: string[],
  o: CliOptions = {},
): { child: ChildProcess; done: Promise<CliRun>; stdout: () => string; stderr: () => string } {
  checkBuilt();
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: o.cwd ?? tmpdir(),
    env: environment(o.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  if (o.stdin !== undefined) child.stdin?.end(o.stdin);
  else child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
  const done = new Promise<CliRun>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return { child, done, stdout: () => out, stderr: () => err };
}

/** Runs `amqpts ...args` to the end. */
export function cli(args: string[], o: CliOptions = {}): Promise<CliRun> {
  return startCli(args, o).done;
}

/** Resolves once `read()` matches `re` (polling), or rejects after `timeoutMs`. */
export async function waitFor(read: () => string, re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(read());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in:\n${read()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
