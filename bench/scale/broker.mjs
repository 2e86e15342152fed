// The broker-side setup of the scale benchmark, through `rabbitmqctl [-n NODE] eval` (runtime only:
// the broker is never stopped, restarted or reconfigured on disk). Reads the Erlang VM's descriptor
// ceiling and RabbitMQ's file_handle_cache limits, raises the cache limit for a run and puts the
// original back. `node` (e.g. amqpts-scale-5695@localhost, see node.mjs) names the node; without it,
// rabbitmqctl's default node (the `--url` mode, a broker on this machine).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function evalErl(expr, node) {
  const { stdout } = await run('rabbitmqctl', [...(node ? ['-n', node] : []), 'eval', expr], { timeout: 60_000 });
  return stdout;
}

const READ = [
  'I = file_handle_cache:info(),',
  'G = fun(K) -> proplists:get_value(K, I) end,',
  '{ok, Fds} = file:list_dir("/proc/self/fd"),',
  'M = proplists:get_value(max_fds, hd(erlang:system_info(check_io))),',
  'C = application:get_env(rabbit, connection_max, infinity),',
  'io:format("SCALE-LIMITS ~w ~w ~w ~w ~w ~w ~w~n",',
  '  [M, length(Fds), G(total_limit), G(total_used), G(sockets_limit), G(sockets_used), C]).',
].join(' ');

/**
 * The broker's limits: `{ maxFds, openFds, totalLimit, totalUsed, socketsLimit, socketsUsed,
 * connectionMax }` (connectionMax: a number or 'infinity').
 */
export async function readLimits(node) {
  const out = await evalErl(READ, node);
  const m = /SCALE-LIMITS (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\S+)/.exec(out);
  if (!m) throw new Error(`unexpected rabbitmqctl output: ${out.trim()}`);
  const [maxFds, openFds, totalLimit, totalUsed, socketsLimit, socketsUsed] = m.slice(1, 7).map(Number);
  const connectionMax = /^\d+$/.test(m[7]) ? Number(m[7]) : m[7];
  return { maxFds, openFds, totalLimit, totalUsed, socketsLimit, socketsUsed, connectionMax };
}

/** Sets RabbitMQ's file_handle_cache limit (total handles; sockets get 90% of it, less 2). */
export async function setHandleLimit(n, node) {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bad limit ${n}`);
  await evalErl(`file_handle_cache:set_limit(${n}).`, node);
}

/** Polls until the broker's socket count is at most `target`, or `timeoutMs` passes; returns it. */
export async function waitForSockets(target, node, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  let used = (await readLimits(node)).socketsUsed;
  while (used > target && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 1000));
    used = (await readLimits(node)).socketsUsed;
  }
  return used;
}
