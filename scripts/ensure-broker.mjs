#!/usr/bin/env node
// Makes a RabbitMQ broker reachable and prints its URL. Tried in order:
//   (a) $RABBITMQ_URL, if set (verified, never replaced by something else);
//   (b) a broker already answering on 127.0.0.1:5672;
//   (c) a local `rabbitmq-server` (apt-installed first when missing and we are root), started detached;
//   (d) a `rabbitmq:3.13-management` container via testcontainers, where a Docker engine answers.
// "Reachable" means the AMQP 0-9-1 handshake gets as far as connection.start.
// Usage: node scripts/ensure-broker.mjs   (env BROKER_TIMEOUT_MS, default 60000)
import net from 'node:net';
import tls from 'node:tls';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672/';
const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP" 0 0 9 1

/** One attempt: resolves true iff the server answers the protocol header with connection.start. */
export async function probeHandshake(host, port, opts = {}) {
  return (await attempt(host, port, opts)) === null;
}

/** One attempt; resolves null on success, else the reason it failed. */
function attempt(host, port, { timeoutMs = 3000, secure = false } = {}) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (ok, why) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok ? null : why);
    };
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false })
      : net.connect({ host, port });
    const timer = setTimeout(() => finish(false, `no connection.start within ${timeoutMs} ms`), timeoutMs);
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(PROTOCOL_HEADER));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 11) return;
      // frame: type(1) channel(2) size(4) payload: class(2) method(2) ...
      const ok = buf[0] === 1 && buf.readUInt16BE(1) === 0 && buf.readUInt16BE(7) === 10 && buf.readUInt16BE(9) === 10;
      finish(ok, ok ? '' : `unexpected reply ${buf.subarray(0, 11).toString('hex')}`);
    });
    socket.on('error', (err) => finish(false, err.code ?? err.message));
    socket.on('close', () => finish(false, 'connection closed before connection.start'));
  });
}

/** Polls until a handshake succeeds; throws after timeoutMs with the last failure reason. */
export async function waitForHandshake(host, port, timeoutMs = 60000, { secure = false } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    const why = await attempt(host, port, { timeoutMs: Math.max(250, Math.min(3000, left)), secure });
    if (why === null) return;
    if (Date.now() + 500 >= deadline) {
      throw new Error(`no AMQP handshake from ${host}:${port} within ${timeoutMs} ms (last: ${why})`);
    }
    await sleep(500);
  }
}

function endpointOf(url) {
  const u = new URL(url);
  const secure = u.protocol === 'amqps:';
  if (!secure && u.protocol !== 'amqp:') throw new Error(`RABBITMQ_URL must be amqp:// or amqps://, got ${url}`);
  return { host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || (secure ? 5671 : 5672)), secure };
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function findServerBinary() {
  const which = spawnSync('sh', ['-c', 'command -v rabbitmq-server'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  return ['/usr/sbin/rabbitmq-server', '/usr/lib/rabbitmq/bin/rabbitmq-server'].find((p) => existsSync(p));
}

function run(cmd, args, log, timeoutMs) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args[0] ?? ''} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout || '').trim().slice(-400)}`,
    );
}

async function viaLocalServer({ timeoutMs, install, log }) {
  let bin = findServerBinary();
  if (!bin) {
    if (!install) throw new Error('rabbitmq-server is not installed');
    if (!isRoot()) throw new Error('rabbitmq-server is not installed (run as root to apt-get install it)');
    run('apt-get', ['update'], log, 10 * 60_000);
    run('apt-get', ['install', '-y', '-q', 'rabbitmq-server'], log, 10 * 60_000);
    bin = findServerBinary();
    if (!bin) throw new Error('apt-get installed rabbitmq-server but the binary is still missing');
  }
  // If a node is already booting this fails harmlessly ("already running"); we poll either way.
  try {
    run(bin, ['-detached'], log, 60_000);
  } catch (err) {
    log(String(err.message));
  }
  await waitForHandshake('127.0.0.1', 5672, timeoutMs);
  return { url: DEFAULT_URL, how: `started local ${bin}` };
}

async function viaTestcontainers({ log }) {
  // Script mode: the container must outlive this process, so no Ryuk reaper; fixed ports make the
  // next run find it at step (b). Stop it with `docker rm -f amqpts-rabbitmq`.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  let tc;
  try {
    tc = await import('testcontainers');
  } catch (err) {
    throw new Error(`testcontainers not installed (${err.message})`);
  }
  await tc.getContainerRuntimeClient(); // throws fast when no Docker engine answers
  log('starting rabbitmq:3.13-management via testcontainers ...');
  await new tc.GenericContainer('rabbitmq:3.13-management')
    .withName('amqpts-rabbitmq')
    .withExposedPorts({ container: 5672, host: 5672 }, { container: 15672, host: 15672 })
    .withEnvironment({ RABBITMQ_DEFAULT_USER: 'guest', RABBITMQ_DEFAULT_PASS: 'guest' })
    .withWaitStrategy(tc.Wait.forLogMessage('Server startup complete'))
    .withStartupTimeout(120_000)
    .withReuse()
    .start();
  await waitForHandshake('127.0.0.1', 5672, 30_000);
  return { url: DEFAULT_URL, how: 'testcontainers rabbitmq:3.13-management (container amqpts-rabbitmq)' };
}

/**
 * Finds or starts a broker. Options: timeoutMs (env BROKER_TIMEOUT_MS, default 60000),
 * start (try c and d; default true), install (apt-get when root; default true),
 * docker (try d; default true), log (progress lines; default stderr).
 * Resolves { url, how }; rejects with an Error listing everything tried.
 */
export async function locateBroker(opts = {}) {
  const timeoutMs = opts.timeoutMs ?? (Number(process.env.BROKER_TIMEOUT_MS) || 60_000);
  const { start = true, install = true, docker = true } = opts;
  const log = opts.log ?? ((m) => process.stderr.write(`ensure-broker: ${m}\n`));
  const tried = [];

  const envUrl = process.env.RABBITMQ_URL;
  if (envUrl) {
    const { host, port, secure } = endpointOf(envUrl);
    try {
      await waitForHandshake(host, port, timeoutMs, { secure });
      return { url: envUrl, how: 'RABBITMQ_URL' };
    } catch (err) {
      throw brokerError([`RABBITMQ_URL=${envUrl.replace(/\/\/[^@/]*@/, '//***@')}: ${err.message}`]);
    }
  }
  tried.push('RABBITMQ_URL: not set');

  try {
    await waitForHandshake('127.0.0.1', 5672, start ? 3000 : timeoutMs);
    return { url: DEFAULT_URL, how: 'already running on 127.0.0.1:5672' };
  } catch (err) {
    tried.push(`127.0.0.1:5672: ${err.message}`);
  }

  if (start) {
    try {
      return await viaLocalServer({ timeoutMs, install, log });
    } catch (err) {
      tried.push(`local rabbitmq-server: ${err.message}`);
    }
    if (docker) {
      try {
        return await viaTestcontainers({ log });
      } catch (err) {
        tried.push(`testcontainers: ${err.message}`);
      }
    } else tried.push('testcontainers: not tried');
  } else tried.push('starting a broker: not attempted (start: false)');
  throw brokerError(tried);
}

function brokerError(tried) {
  return new Error(
    [
      'no RabbitMQ broker reachable (AMQP handshake to connection.start). Tried:',
      ...tried.map((t) => `  - ${t}`),
      'Start one with any of:',
      '  rabbitmq-server -detached        (Debian/Ubuntu: apt-get install rabbitmq-server)',
      '  docker compose up -d             (uses docker-compose.yml, rabbitmq:3.13-management)',
      '  RABBITMQ_URL=amqp://user:pass@host:5672/ npm test   (use an existing broker)',
    ].join('\n'),
  );
}

/** Resolves the broker URL (see locateBroker for options). */
export async function ensureBroker(opts = {}) {
  return (await locateBroker(opts)).url;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { url, how } = await locateBroker();
    console.log(`broker: ${url} (${how})`);
  } catch (err) {
    console.error(`ensure-broker: ${err.message}`);
    process.exit(1);
  }
}
