/**
 * Proton's connect.json, read for the CLI: where it is looked for (MESSAGING_CONNECT_FILE, then
 * ./connect.json, ~/.config/messaging/connect.json, /etc/messaging/connect.json), its format (JSON
 * with JavaScript comments) and its keys: scheme, host, port, user, password, vhost, sasl.mechanisms,
 * sasl.allow_insecure, tls.ca, tls.cert, tls.key, tls.verify. Turned into core ConnectionOptions.
 * Every problem is a ConfigError naming the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions, LoginMethod, TlsOptions } from '../core.js';
import { ConfigError } from './errors.js';

/** Where connect.json is looked for, in order (first found wins). */
export function connectConfigCandidates(env: Readonly<Record<string, string | undefined>>, cwd: string, home: string): string[] {
  const explicit = env['MESSAGING_CONNECT_FILE'];
  if (explicit) return [explicit];
  return [join(cwd, 'connect.json'), join(home, '.config', 'messaging', 'connect.json'), '/etc/messaging/connect.json'];
}

/** Removes `//` and `/* *\/` comments outside JSON strings. */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The keys of a connect.json file this reader understands. */
export interface ConnectConfig {
  /** `amqp` or `amqps` (Proton's default: `amqps`). */
  scheme?: string;
  /** Host name or address (default `localhost`). */
  host?: string;
  /** Port number, or `amqp` / `amqps` for 5672 / 5671 (default: the scheme's). */
  port?: number | string;
  /** User name. */
  user?: string;
  /** Password. */
  password?: string;
  /** Virtual host (an amqpts addition; default `/`). */
  vhost?: string;
  /** SASL: `mechanisms` is a list or a space-separated string. */
  sasl?: { mechanisms?: string | string[]; allow_insecure?: boolean; enabled?: boolean };
  /** TLS: file names of the CA (file or directory), client certificate and key; `verify` (default true). */
  tls?: { ca?: string; cert?: string; key?: string; verify?: boolean };
}

const SUPPORTED: readonly LoginMethod[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

function str(o: Record<string, unknown>, key: string, file: string, where = ''): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`${file}: "${where}${key}" must be a string`);
  return v;
}

function table(o: Record<string, unknown>, key: string, file: string): Record<string, unknown> {
  const v = o[key];
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${file}: "${key}" must be an object`);
  return v as Record<string, unknown>;
}

function readPem(path: string, file: string, key: string): string | string[] {
  try {
    if (statSync(path).isDirectory()) {
      return readdirSync(path)
        .filter((f) => /\.(pem|crt)$/i.test(f))
        .sort()
        .map((f) => readFileSync(join(path, f), 'utf8'));
    }
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read tls.${key} '${path}': ${(err as Error).message}`);
  }
}

/**
 * Parses the text of a connect.json file into connection options.
 * @throws ConfigError for invalid JSON, wrongly typed keys, an unknown scheme, no supported SASL
 *   mechanism, or an unreadable TLS file.
 */
export function parseConnectConfig(text: string, file: string): ConnectionOptions {
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonComments(text));
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: must hold a JSON object`);
  const o = raw as Record<string, unknown>;
  const scheme = str(o, 'scheme', file) ?? 'amqps';
  if (scheme !== 'amqp' && scheme !== 'amqps') throw new ConfigError(`${file}: "scheme" must be amqp or amqps, got '${scheme}'`);
  const opts: ConnectionOptions = {};
  const host = str(o, 'host', file);
  if (host !== undefined) opts.host = host;
  const port = o['port'];
  if (port !== undefined) {
    const n = port === 'amqp' ? 5672 : port === 'amqps' ? 5671 : typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
      throw new ConfigError(`${file}: "port" must be a port number, amqp or amqps, got ${JSON.stringify(port)}`);
    opts.port = n;
  }
  const user = str(o, 'user', file);
  if (user !== undefined) opts.userid = user;
  const password = str(o, 'password', file);
  if (password !== undefined) opts.password = password;
  const vhost = str(o, 'vhost', file);
  if (vhost !== undefined) opts.virtualHost = vhost;
  const sasl = table(o, 'sasl', file);
  const mechs = sasl['mechanisms'];
  if (mechs !== undefined) {
    const list = typeof mechs === 'string' ? mechs.split(/\s+/) : Array.isArray(mechs) ? mechs : null;
    if (!list || list.some((m) => typeof m !== 'string'))
      throw new ConfigError(`${file}: "sasl.mechanisms" must be a string or a list of strings`);
    const pick = (list as string[]).map((m) => m.toUpperCase()).find((m): m is LoginMethod => SUPPORTED.includes(m as LoginMethod));
    if (!pick)
      throw new ConfigError(`${file}: none of sasl.mechanisms (${list.join(', ')}) is supported; amqpts speaks ${SUPPORTED.join(', ')}`);
    opts.loginMethod = pick;
  }
  for (const k of ['allow_insecure', 'enabled']) {
    if (sasl[k] !== undefined && typeof sasl[k] !== 'boolean') throw new ConfigError(`${file}: "sasl.${k}" must be true or false`);
  }
  const tls = table(o, 'tls', file);
  if (scheme === 'amqps') {
    const t: TlsOptions = {};
    for (const k of ['ca', 'cert', 'key'] as const) {
      const path = str(tls, k, file, 'tls.');
      if (path !== undefined) t[k] = readPem(path, file, k);
    }
    const verify = tls['verify'];
    if (verify !== undefined && typeof verify !== 'boolean') throw new ConfigError(`${file}: "tls.verify" must be true or false`);
    if (verify === false) t.rejectUnauthorized = false;
    opts.ssl = t;
  }
  return opts;
}

/** A connect.json found on disk: its path and the options it gives. */
export interface FoundConnectConfig {
  /** The file read. */
  path: string;
  /** The connection options it describes. */
  options: ConnectionOptions;
}

/**
 * Finds and reads connect.json (see {@link connectConfigCandidates}); undefined when there is none.
 * @throws ConfigError when MESSAGING_CONNECT_FILE names a missing file, or the file found is invalid.
 */
export function findConnectConfig(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  home: string,
): FoundConnectConfig | undefined {
  const candidates = connectConfigCandidates(env, cwd, home);
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    if (env['MESSAGING_CONNECT_FILE'])
      throw new ConfigError(`MESSAGING_CONNECT_FILE names '${env['MESSAGING_CONNECT_FILE']}', which does not exist`);
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return { path, options: parseConnectConfig(text, path) };
}
