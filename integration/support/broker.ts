// Helpers for integration tests that talk to / poke the local RabbitMQ broker.
// rabbitmqctl-based helpers need the broker on this machine (not a remote RABBITMQ_URL).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const DEFAULT_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672/';

/** URL of the broker under test (set by the integration globalSetup). */
export function brokerUrl(): string {
  return process.env['RABBITMQ_URL'] || DEFAULT_BROKER_URL;
}

/** Runs `rabbitmqctl -q ...args` (30 s timeout); resolves stdout, rejects with stderr. */
export function rabbitmqctl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('rabbitmqctl', ['-q', ...args], { timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr || stdout).trim() || err.message;
        reject(new Error(`rabbitmqctl ${args.join(' ')} failed: ${detail}`));
      } else resolve(String(stdout));
    });
  });
}

/** A name unlikely to collide across parallel jest workers and re-runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface BrokerConnection {
  /** rabbitmqctl's connection name, e.g. "127.0.0.1:56130 -> 127.0.0.1:5672". */
  name: string;
  /** The client's local (ephemeral) port, as the broker sees it. */
  port?: number;
  user?: string;
  /** JSON of the decoded client properties, handy for `.includes(...)`. */
  clientProperties?: string;
  /** Decoded client properties (nested tables become objects). */
  properties?: Record<string, unknown>;
  /** client_properties.connection_name, if the client sent one. */
  connectionName?: string;
}

type Triple = [string, string, unknown];

// rabbitmqctl --formatter json renders tables as [[key, type, value], ...].
function decodeTable(triples: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(triples)) return out;
  for (const t of triples as Triple[]) {
    if (!Array.isArray(t) || t.length < 3) continue;
    out[t[0]] = t[1] === 'table' ? decodeTable(t[2]) : t[2];
  }
  return out;
}

/** Connections the broker currently knows about (3.10: list_connections --formatter json). */
export async function listConnections(): Promise<BrokerConnection[]> {
  const raw = await rabbitmqctl('list_connections', 'name', 'peer_port', 'user', 'client_properties', '--formatter', 'json');
  const rows = JSON.parse(raw.trim() || '[]') as Array<Record<string, unknown>>;
  return rows.map((row) => {
    const c: BrokerConnection = { name: String(row['name']) };
    if (typeof row['peer_port'] === 'number') c.port = row['peer_port'];
    if (typeof row['user'] === 'string') c.user = row['user'];
    if (Array.isArray(row['client_properties'])) {
      c.properties = decodeTable(row['client_properties']);
      c.clientProperties = JSON.stringify(c.properties);
      const cn = c.properties['connection_name'];
      if (typeof cn === 'string') c.connectionName = cn;
    }
    return c;
  });
}

/** Polls listConnections until at least `count` match (default 1); resolves the matches. */
export async function waitForConnections(
  pred: (c: BrokerConnection) => boolean,
  { count = 1, timeoutMs = 10_000 }: { count?: number; timeoutMs?: number } = {},
): Promise<BrokerConnection[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await listConnections()).filter(pred);
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`expected ${count} matching connection(s), saw ${found.length} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Force-closes (connection.close 320 from the broker) every matching connection; resolves their names. */
export async function closeConnectionsWhere(pred: (c: BrokerConnection) => boolean, reason = 'closed by test'): Promise<string[]> {
  const victims = (await listConnections()).filter(pred);
  if (victims.length === 0) return [];
  // close_connection wants the Erlang pid, which only the table formatter prints usably.
  const pids = new Map<string, string>();
  for (const line of (await rabbitmqctl('list_connections', 'name', 'pid', '--no-table-headers')).split('\n')) {
    const [name, pid] = line.split('\t');
    if (name && pid) pids.set(name, pid.trim());
  }
  const closed: string[] = [];
  for (const c of victims) {
    const pid = pids.get(c.name);
    if (pid === undefined) continue; // went away meanwhile
    await rabbitmqctl('close_connection', pid, reason);
    closed.push(c.name);
  }
  return closed;
}
