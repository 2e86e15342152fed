// What every throwaway RabbitMQ node of this repository needs (the integration tests' second node,
// the scale bench's private node): folders of its own under /tmp owned by user rabbitmq when we are
// root, an empty plugin list, a private config (the Debian package's /etc/rabbitmq/rabbitmq.conf
// pins the shared node's listener to 5672), and the RABBITMQ_* environment that points a
// `rabbitmq-server` / `rabbitmqctl` at them.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

/** uid/gid of user `rabbitmq` when we are root (a node runs as that user and must own its folders). */
export function rabbitUser() {
  if (userInfo().uid !== 0) return undefined;
  try {
    const id = (flag) => Number(execFileSync('id', [flag, 'rabbitmq'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/**
 * Creates a node's folders under `/tmp/<prefix>XXXXXX` for AMQP port `port` (Erlang distribution
 * port `port + 20000`) and returns them with the RABBITMQ_* variables that use them (node name
 * not included).
 * @param {string} prefix
 * @param {number} port
 * @returns {{ base: string, mnesia: string, logs: string, vars: Record<string, string> }}
 */
export function nodeFolders(prefix, port) {
  const base = mkdtempSync(join('/tmp', prefix));
  const mnesia = join(base, 'mnesia');
  const logs = join(base, 'log');
  mkdirSync(mnesia);
  mkdirSync(logs);
  const plugins = join(base, 'enabled_plugins');
  const config = join(base, 'rabbitmq.conf');
  writeFileSync(plugins, '[].\n');
  writeFileSync(config, `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users.guest = true\n`);
  const owner = rabbitUser();
  if (owner) for (const p of [base, mnesia, logs, plugins, config]) chownSync(p, owner.uid, owner.gid);
  const vars = {
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(port + 20000),
    RABBITMQ_MNESIA_BASE: mnesia,
    RABBITMQ_LOG_BASE: logs,
    RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
    RABBITMQ_CONFIG_FILE: config,
    RABBITMQ_ADVANCED_CONFIG_FILE: join(base, 'advanced.config'),
  };
  return { base, mnesia, logs, vars };
}
