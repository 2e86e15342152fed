#!/usr/bin/env node
// A three-node RabbitMQ cluster on this machine, for the cluster tests and for trying failover by
// hand. Nodes amqpts-c1..c3@localhost listen for AMQP on 127.0.0.1:5681..5683 (Erlang
// distribution on 25681..25683), keep their data and logs under .amqpts-cluster/ (repo-local,
// ignored by git, owned by user rabbitmq when we are root), and run with one scheduler each. Node 2
// and 3 join node 1 (stop_app, join_cluster, start_app). Never touches the default node or
// port 5672.
//
//   npm run cluster              start (idempotent: a running cluster is only reported; missing
//                                nodes are started; a cold start begins with empty nodes)
//   npm run cluster -- status    one line per node, exit 1 unless all three run clustered
//   npm run cluster -- stop      stop all three; nothing keeps running
//
// Env: AMQPTS_CLUSTER_DIR (data folder), AMQPTS_CLUSTER_PORT (first AMQP port, default 5681),
// CLUSTER_TIMEOUT_MS (start/stop deadline, default 120000).
// The exported functions (start, stop, status, stopNode, startNode, ctl, clusterNodes) are what
// integration/cluster uses; scripts/cluster.d.mts types them.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { probeHandshake } from './ensure-broker.mjs';
import { rabbitUser } from './rabbit-node.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SIZE = 3;
const HOST = '127.0.0.1';

/** The three nodes: name, AMQP port, distribution port, folder, URL. */
export function clusterNodes() {
  const first = Number(process.env.AMQPTS_CLUSTER_PORT) || 5681;
  const base = baseDir();
  return Array.from({ length: SIZE }, (_, i) => {
    const port = first + i;
    const short = `c${i + 1}`;
    return {
      index: i,
      name: `amqpts-${short}@localhost`,
      port,
      distPort: port + 20000,
      dir: join(base, short),
      url: `amqp://guest:guest@${HOST}:${port}/`,
    };
  });
}

/** The AMQP URLs of the three nodes, node 1 first. */
export function clusterUrls() {
  return clusterNodes().map((n) => n.url);
}

function nodeOf(which) {
  if (typeof which === 'object' && which !== null) return which;
  const nodes = clusterNodes();
  const n = typeof which === 'number' ? nodes[which] : nodes.find((x) => x.name === which || x.name.startsWith(`${which}@`));
  if (!n) throw new Error(`cluster: no node ${String(which)} (0..${SIZE - 1} or a node name)`);
  return n;
}

/** Whether user `owner` can reach `dir`: every ancestor searchable by others or owned by them. */
function reachable(dir, owner) {
  if (!owner) return true;
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = statSync(d);
      if (!(st.mode & 0o001) && st.uid !== owner.uid) return false;
    } catch {
      /* not created yet: its parent decides */
    }
    if (dirname(d) === d) return true;
  }
}

function baseDir() {
  if (process.env.AMQPTS_CLUSTER_DIR) return resolve(process.env.AMQPTS_CLUSTER_DIR);
  const local = join(ROOT, '.amqpts-cluster');
  // a checkout under /root is not reachable for user rabbitmq: fall back to a folder in /tmp
  return reachable(local, rabbitUser()) ? local : join(tmpdir(), `amqpts-cluster-${Buffer.from(ROOT).toString('hex').slice(-16)}`);
}

function findBin(name) {
  // as root, /usr/sbin/<name> switches to user rabbitmq (and its Erlang cookie), keeping our env
  for (const p of [`/usr/sbin/${name}`, `/usr/lib/rabbitmq/bin/${name}`]) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error(
    `cluster: ${name} is not installed. Install RabbitMQ (\`npm run broker\` apt-installs it as root, or apt-get install rabbitmq-server), ` +
      'or use Docker: docker compose --profile cluster up -d',
  );
}

function envOf(n) {
  return {
    ...process.env,
    RABBITMQ_NODENAME: n.name,
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(n.port),
    RABBITMQ_DIST_PORT: String(n.distPort),
    RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(n.dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(n.dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(n.dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(n.dir, 'advanced.config'),
    // the system's env file pins the default node's name: ours pins nothing
    RABBITMQ_CONF_ENV_FILE: join(n.dir, 'rabbitmq-env.conf'),
    ERL_EPMD_ADDRESS: HOST,
    // modest nodes on a small machine: one scheduler each, distribution on loopback only
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+S 1:1 +SDcpu 1:1 +SDio 2 -kernel inet_dist_use_interface {127,0,0,1}',
  };
}

function run(cmd, args, env, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { env, timeout: timeoutMs, cwd: tmpdir(), maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = String(stderr || stdout).trim() || err.message;
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${why.slice(-600)}`));
      } else resolvePromise(String(stdout));
    });
  });
}

/** rabbitmqctl -q -n <node> ...args (60 s timeout); resolves stdout. */
export function ctl(which, ...args) {
  const n = nodeOf(which);
  return run(findBin('rabbitmqctl'), ['-q', '-n', n.name, ...args], envOf(n), 60_000);
}

/** Writes a node's folder: config (its listener, low memory settings), plugins, env file. */
function prepare(n) {
  const owner = rabbitUser();
  const paths = [n.dir, join(n.dir, 'mnesia'), join(n.dir, 'log')];
  for (const p of paths) mkdirSync(p, { recursive: true });
  const files = {
    'rabbitmq.conf': [
      `listeners.tcp.default = ${HOST}:${n.port}`,
      'loopback_users.guest = true',
      // keep each node small: a 64 MiB Raft WAL, a fixed memory watermark, low disk limit
      'raft.wal_max_size_bytes = 67108864',
      'vm_memory_high_watermark.absolute = 1536MB',
      'disk_free_limit.absolute = 50MB',
      'cluster_partition_handling = ignore',
      '',
    ].join('\n'),
    'advanced.config': '[].\n',
    enabled_plugins: '[].\n',
    'rabbitmq-env.conf': `# amqpts cluster node ${n.name}\n`,
  };
  for (const [f, text] of Object.entries(files)) {
    writeFileSync(join(n.dir, f), text);
    paths.push(join(n.dir, f));
  }
  if (owner) for (const p of [dirname(n.dir), ...paths]) chownSync(p, owner.uid, owner.gid);
}

const pidFile = (n) => join(n.dir, 'mnesia', `${n.name}.pid`);

function readPid(n) {
  try {
    const pid = Number(readFileSync(pidFile(n), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Whether the node's Erlang VM runs (its pid file names a live process). */
function vmRunning(n) {
  const pid = readPid(n);
  return pid !== undefined && alive(pid);
}

async function waitFor(what, timeoutMs, check, log) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await check().catch((err) => ({ ok: false, why: err.message }));
    if (r.ok) return;
    if (r.why && r.why !== last) {
      last = r.why;
      log?.(`waiting for ${what}: ${r.why}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `cluster: ${what} not reached within ${timeoutMs} ms (last: ${last || 'no answer'}); ` +
          '`npm run cluster -- stop` then `npm run cluster` starts a fresh cluster',
      );
    }
    await sleep(250);
  }
}

/** Cluster members that run, as node `via` sees them (empty when it does not answer). */
async function runningMembers(via) {
  const out = await ctl(via, 'cluster_status', '--formatter', 'json');
  const s = JSON.parse(out.trim() || '{}');
  return Array.isArray(s.running_nodes) ? s.running_nodes.map(String) : [];
}

async function waitAccepting(n, timeoutMs) {
  await waitFor(`${n.name} to accept AMQP on ${HOST}:${n.port}`, timeoutMs, async () => ({
    ok: await probeHandshake(HOST, n.port, { timeoutMs: 1000 }),
    why: vmRunning(n) ? 'booting' : 'not running',
  }));
}

async function bootNode(n, timeoutMs) {
  await run(findBin('rabbitmq-server'), ['-detached'], envOf(n), 60_000);
  try {
    await waitAccepting(n, timeoutMs);
  } catch (err) {
    throw new Error(`${err.message}; its logs are in ${join(n.dir, 'log')}`);
  }
}

/** The state of every node: `{ nodes: [{ name, port, url, vm, accepting, clustered }], running }`. */
export async function status() {
  const nodes = clusterNodes();
  const accepting = await Promise.all(nodes.map((n) => probeHandshake(HOST, n.port, { timeoutMs: 1500 })));
  // the members that run, as the best-informed answering node sees them
  const views = await Promise.all(nodes.map((n, i) => (accepting[i] ? runningMembers(n).catch(() => []) : Promise.resolve([]))));
  const running = views.reduce((a, b) => (b.length > a.length ? b : a), []);
  return {
    nodes: nodes.map((n, i) => ({
      name: n.name,
      port: n.port,
      url: n.url,
      vm: vmRunning(n),
      accepting: accepting[i],
      clustered: running.includes(n.name),
    })),
    running,
  };
}

const healthy = (st) => st.nodes.every((n) => n.accepting && n.clustered) && st.running.length === SIZE;

/** Waits until all three nodes accept a handshake and cluster_status lists three running members. */
async function waitHealthy(timeoutMs, log) {
  await waitFor(
    'three running, clustered nodes',
    timeoutMs,
    async () => {
      const st = await status();
      return { ok: healthy(st), why: describeStatus(st) };
    },
    log,
  );
}

function describeStatus(st) {
  return st.nodes.map((n) => `${n.name}:${n.accepting ? (n.clustered ? 'up' : 'up, not clustered') : n.vm ? 'booting' : 'down'}`).join(' ');
}

/**
 * Starts the cluster, or reports it when it already runs; starts only the missing nodes when some
 * run. A cold start (no node running) wipes the data folder and forms a new cluster.
 * Resolves `{ urls, nodes, started }` (`started`: whether this call started any node).
 * @param opts `{ timeoutMs, log }`
 */
export async function start(opts = {}) {
  const timeoutMs = opts.timeoutMs ?? (Number(process.env.CLUSTER_TIMEOUT_MS) || 120_000);
  const log = opts.log ?? ((m) => process.stderr.write(`cluster: ${m}\n`));
  const nodes = clusterNodes();
  const st = await status();
  if (healthy(st)) {
    log(`already running: ${describeStatus(st)}`);
    return { urls: clusterUrls(), nodes, started: false };
  }
  const t0 = Date.now();
  const up = st.nodes.map((n) => n.vm || n.accepting);
  if (!up.some(Boolean)) {
    log(`cold start of 3 nodes in ${dirname(nodes[0].dir)} (ports ${nodes.map((n) => n.port).join(', ')})`);
    rmSync(dirname(nodes[0].dir), { recursive: true, force: true });
    for (const n of nodes) prepare(n);
    await Promise.all(nodes.map((n) => bootNode(n, timeoutMs)));
    for (const n of nodes.slice(1)) {
      log(`${n.name} joins ${nodes[0].name}`);
      await ctl(n, 'stop_app');
      await ctl(n, 'join_cluster', nodes[0].name);
      await ctl(n, 'start_app');
    }
  } else {
    const missing = nodes.filter((_, i) => !up[i]);
    log(`partly running (${describeStatus(st)}): starting ${missing.map((n) => n.name).join(', ') || 'nothing, waiting'}`);
    await Promise.all(missing.map((n) => startNode(n.index, { timeoutMs, log })));
  }
  await waitHealthy(timeoutMs, log);
  log(`up in ${Date.now() - t0} ms: ${nodes.map((n) => n.url).join(' ')}`);
  return { urls: clusterUrls(), nodes, started: true };
}

/**
 * Starts one stopped node (its data kept, so it rejoins the cluster); resolves once it accepts a
 * handshake and is a running member again. A node that runs already is left alone.
 */
export async function startNode(which, opts = {}) {
  const n = nodeOf(which);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  if (!vmRunning(n)) {
    if (!existsSync(join(n.dir, 'rabbitmq.conf'))) prepare(n);
    await bootNode(n, timeoutMs);
  } else await waitAccepting(n, timeoutMs);
  await waitFor(`${n.name} to rejoin the cluster`, timeoutMs, async () => ({
    ok: (await runningMembers(n)).includes(n.name),
    why: 'not a running member yet',
  }));
}

/**
 * Stops one node: `rabbitmqctl stop` (clients get connection.close 320), or with `{ kill: true }`
 * SIGKILL of its Erlang VM (sockets just break). Resolves once the VM has exited and the port is shut.
 */
export async function stopNode(which, opts = {}) {
  const n = nodeOf(which);
  const pid = readPid(n);
  if (opts.kill) {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  } else if (pid !== undefined && alive(pid)) {
    // with the pid file, `stop` returns once the VM has exited
    await ctl(n, 'stop', pidFile(n)).catch((err) => {
      if (!/not running|unable to perform|nodedown|could not contact/i.test(err.message)) throw err;
    });
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await waitFor(`${n.name} to stop`, timeoutMs, async () => ({
    ok: !(pid !== undefined && alive(pid)) && !(await probeHandshake(HOST, n.port, { timeoutMs: 500 })),
    why: 'still running',
  }));
}

/** Stops all three nodes (in parallel) and checks nothing keeps running. */
export async function stop(opts = {}) {
  const log = opts.log ?? ((m) => process.stderr.write(`cluster: ${m}\n`));
  const nodes = clusterNodes();
  const t0 = Date.now();
  const results = await Promise.allSettled(nodes.map((n) => stopNode(n.index, { timeoutMs: opts.timeoutMs ?? 60_000 })));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${nodes[i].name}: ${r.reason.message}`] : []));
  if (failed.length > 0) {
    // last resort: a node that would not stop is killed, so nothing is left behind
    for (const n of nodes) {
      const pid = readPid(n);
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    }
    throw new Error(`cluster: stop failed (the VMs were killed): ${failed.join('; ')}`);
  }
  log(`stopped in ${Date.now() - t0} ms`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cmd = process.argv[2] ?? 'start';
  try {
    if (cmd === 'start') {
      const r = await start();
      console.log(`cluster: ${r.urls.join(' ')}`);
    } else if (cmd === 'stop') {
      await stop();
    } else if (cmd === 'status') {
      const st = await status();
      for (const n of st.nodes) {
        console.log(
          `${n.name}  ${n.url}  ${n.accepting ? 'accepting' : n.vm ? 'booting' : 'down'}${n.clustered ? ', running member' : ''}`,
        );
      }
      console.log(`running members: ${st.running.join(', ') || 'none'}`);
      process.exitCode = healthy(st) ? 0 : 1;
    } else {
      console.error(`usage: node scripts/cluster.mjs [start|stop|status]`);
      process.exitCode = 2;
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  }
}
