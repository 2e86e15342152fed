// A throwaway RabbitMQ node of the scale benchmark's own (Debian package), so 1000 connections
// never weigh on the shared broker: node amqpts-scale-PORT@localhost on 127.0.0.1:PORT (dist port
// PORT + 20000), its own mnesia/log folders, config and empty plugin list under /tmp, started with
// a raised descriptor limit (the Erlang VM fixes its poll set and RabbitMQ its file_handle_cache
// from `ulimit -n` at start). Debian's `rabbitmq-server` wrapper switches to user rabbitmq with
// `su`, whose pam_limits puts the soft limit back to init's (1024 here), so as root the node is
// started with `sh -c 'ulimit -n N && exec setpriv --reuid rabbitmq ... rabbitmq-server -detached'`
// (setpriv keeps the limits; no PAM). Stopped with
// `rabbitmqctl stop PIDFILE` (returns once the VM has exited) and its folders deleted. Modelled on
// integration/support/second-node.ts. Needs root (or user rabbitmq) and `rabbitmq-server`.

import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { probeHandshake, waitForHandshake } from '../../scripts/ensure-broker.mjs';
import { nodeFolders, rabbitUser } from '../../scripts/rabbit-node.mjs';

/** The descriptor limit asked for the node (capped at the hard limit this process may grant). */
export const NODE_FD_LIMIT = 65536;

function run(cmd, args, env, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: timeoutMs, cwd: '/tmp' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(stderr || stdout).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** True when `cmd` is on PATH (Debian puts rabbitmq-server and rabbitmqctl in /usr/sbin). */
function onPath(cmd) {
  const which = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() !== '';
}

/** The last `n` lines of the node's log files (the folder is deleted after a failed start). */
function logTail(dir, n = 15) {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(join(dir, f), 'utf8').trimEnd().split('\n').slice(-n).join('\n'))
      .join('\n');
  } catch {
    return '';
  }
}

/**
 * The shell command that starts the node detached as user rabbitmq without going through PAM (see
 * the header): setpriv when we are root, the server script itself when we are user rabbitmq. HOME
 * is rabbitmq's, for its Erlang cookie (rabbitmqctl runs as rabbitmq with that cookie).
 */
function serverCommand(owner) {
  const server = '/usr/lib/rabbitmq/bin/rabbitmq-server -detached';
  if (!owner) return existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? server : 'rabbitmq-server -detached';
  if (!onPath('setpriv')) return 'rabbitmq-server -detached'; // su: the node's soft limit may fall back to init's
  return `setpriv --reuid=${owner.uid} --regid=${owner.gid} --init-groups env HOME=/var/lib/rabbitmq ${server}`;
}

/** This shell's soft and hard `ulimit -n` (what a child started without a raise gets). */
export function fdLimits() {
  const out = execFileSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
  const [soft, hard] = out.trim().split(/\s+/);
  const num = (s) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: num(soft), hard: num(hard) };
}

/** `want` capped at this process's hard limit: the most a child can be given without privileges. */
export function grantableFds(want) {
  const { hard } = fdLimits();
  return Math.min(want, hard);
}

/**
 * Starts the node and resolves once it accepts an AMQP handshake. Returns `{ node, port, url,
 * fdLimit, ctl(...args), dispose() }`; `dispose()` stops the node and deletes its folders (safe to
 * call twice). Throws with a clear message when rabbitmq-server is not installed.
 */
export async function startScaleNode({ port = 5695, fdLimit = NODE_FD_LIMIT, startTimeoutMs = 90_000, log = () => {} } = {}) {
  if (!onPath('rabbitmq-server') || !onPath('rabbitmqctl')) {
    throw new Error(
      'rabbitmq-server is not installed: the scale benchmark starts a private RabbitMQ node from the Debian ' +
        'package (apt-get install rabbitmq-server), or give it a broker with --url amqp://... (limited by that broker)',
    );
  }
  const node = `amqpts-scale-${port}@localhost`;
  const prefix = `amqpts-scale-${port}-`;
  const env = { ...process.env, RABBITMQ_NODENAME: node };
  const ctlAt = (e, ...args) => run('rabbitmqctl', ['-q', '-n', node, ...args], e, 60_000);
  const waitClosed = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (await probeHandshake('127.0.0.1', port, { timeoutMs: 1000 })) {
      if (Date.now() > deadline) throw new Error(`${node} still accepting on ${port} after stop`);
      await sleep(200);
    }
  };
  const stopAt = async (e, pidFile) => {
    const args = pidFile && existsSync(pidFile) ? ['stop', pidFile] : ['stop'];
    await ctlAt(e, ...args).catch((err) => {
      if (!/not running|unable to perform an operation|nodedown/i.test(err.message)) throw err;
    });
    await waitClosed();
  };

  // Another run's node, or one left by a run that was killed (SIGKILL): never stopped from here,
  // since a second run would wreck the first one's figures.
  if (await probeHandshake('127.0.0.1', port, { timeoutMs: 2000 })) {
    throw new Error(
      `127.0.0.1:${port} already answers: another bench:scale run, or a node left by a killed one ` +
        `(stop it: rabbitmqctl -n ${node} stop; rm -rf /tmp/${prefix}*), or choose --port`,
    );
  }

  const { base, mnesia, logs, vars } = nodeFolders(prefix, port);
  const owner = rabbitUser();
  Object.assign(env, vars);
  const pidFile = join(mnesia, `${node}.pid`);
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    try {
      await stopAt(env, pidFile);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  };

  const limit = grantableFds(fdLimit);
  try {
    log(`starting ${node} on 127.0.0.1:${port} with ulimit -n ${limit} (folders in ${base})`);
    // `ulimit -n` without -S/-H sets both limits, which `exec` and `-detached` keep
    await run(
      '/bin/sh',
      ['-c', `ulimit -n "$1" && { cd /var/lib/rabbitmq 2>/dev/null || :; } && exec ${serverCommand(owner)}`, 'sh', String(limit)],
      env,
      60_000,
    );
    await waitForHandshake('127.0.0.1', port, startTimeoutMs);
  } catch (err) {
    const tail = logTail(logs);
    await dispose().catch(() => {});
    throw new Error(`could not start ${node}: ${err.message}${tail ? `\nlast lines of its log:\n${tail}` : ''}`);
  }
  return {
    node,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    fdLimit: limit,
    ctl: (...args) => ctlAt(env, ...args),
    dispose,
  };
}
