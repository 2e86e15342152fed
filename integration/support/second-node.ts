// A second, throwaway RabbitMQ node on its own ports, for tests that stop/restart a broker
// without touching the main one on 5672. Needs root (or user rabbitmq) and the Debian package.
// Timings here (RabbitMQ 3.10, 2 CPUs): start ~5 s to the first handshake; stop ~3.5 s (waits
// for the Erlang VM to exit); restart ~5 s.
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { probeHandshake as probe, waitForHandshake as wait } from '../../scripts/ensure-broker.mjs';
import { nodeFolders } from '../../scripts/rabbit-node.mjs';

const waitForHandshake = wait as (host: string, port: number, timeoutMs?: number) => Promise<void>;
const probeHandshake = probe as (host: string, port: number, opts?: { timeoutMs?: number }) => Promise<boolean>;

export interface SecondNode {
  /** e.g. amqpts-test-5673@localhost */
  node: string;
  url: string;
  port: number;
  /** Stops the node (data kept, so start() brings durable entities back); resolves once it no longer accepts connections. */
  stop(): Promise<void>;
  /** (Re)starts the node; resolves once it accepts an AMQP handshake. */
  start(): Promise<void>;
  /** rabbitmqctl against this node. */
  ctl(...args: string[]): Promise<string>;
  /** stop() and delete its data/log directories. */
  dispose(): Promise<void>;
}

export interface SecondNodeOptions {
  /** AMQP port (default 5673); the Erlang distribution port is port + 20000. */
  port?: number;
  /** Handshake wait on start (default 60 s). */
  startTimeoutMs?: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: timeoutMs, cwd: '/tmp' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(stderr || stdout).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

export async function startSecondNode(opts: SecondNodeOptions = {}): Promise<SecondNode> {
  const port = opts.port ?? 5673;
  const node = `amqpts-test-${port}@localhost`;
  const { base, mnesia, logs, vars } = nodeFolders(`amqpts-node-${port}-`, port);
  const env: NodeJS.ProcessEnv = { ...process.env, RABBITMQ_NODENAME: node, ...vars };
  const ctl = (...args: string[]) => run('rabbitmqctl', ['-q', '-n', node, ...args], env, 30_000);

  const waitClosed = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (await probeHandshake('127.0.0.1', port, { timeoutMs: 1000 })) {
      if (Date.now() > deadline) throw new Error(`${node} still accepting on ${port} after stop`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const pidFile = join(mnesia, `${node}.pid`);
  const stop = async (): Promise<void> => {
    // With the pid file, `stop` returns only once the Erlang VM has exited.
    const args = existsSync(pidFile) ? ['stop', pidFile] : ['stop'];
    await ctl(...args).catch((err: Error) => {
      if (!/not running|unable to perform an operation|nodedown/i.test(err.message)) throw err;
    });
    await waitClosed();
  };
  const start = async (): Promise<void> => {
    await run('rabbitmq-server', ['-detached'], env, 60_000);
    try {
      await waitForHandshake('127.0.0.1', port, opts.startTimeoutMs ?? 60_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; logs in ${logs}`);
    }
  };

  await stop(); // a node of the same name left over from a crashed run
  await start();
  return {
    node,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    stop,
    start,
    ctl,
    async dispose() {
      await stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * Raises `node`'s memory alarm (its publishers get connection.blocked) while `fn` runs, then lifts
 * it and waits until it clears. Only ever on a second node: an alarm on the main broker would block
 * every other test file's publishers (jest runs files in parallel) and could be left behind.
 */
export async function withMemoryAlarm<T>(node: SecondNode, fn: () => Promise<T>): Promise<T> {
  const alarmed = async (): Promise<boolean> => (await node.ctl('eval', 'rabbit_alarm:get_alarms().')).includes('memory');
  const waitFor = async (want: boolean, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while ((await alarmed()) !== want) {
      if (Date.now() > deadline) throw new Error(`${node.node}: memory alarm still ${want ? 'clear' : 'raised'} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await node.ctl('set_vm_memory_high_watermark', '0.0000001');
  try {
    await waitFor(true);
    return await fn();
  } finally {
    await node.ctl('set_vm_memory_high_watermark', '0.4');
    await waitFor(false);
  }
}
