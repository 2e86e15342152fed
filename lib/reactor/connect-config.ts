/**
 * Proton's `connect.json` discovery, used by `Container.connect()` when it is given no url, urls
 * or address. The first file found wins: the file named by `MESSAGING_CONNECT_FILE`,
 * `./connect.json`, `~/.config/messaging/connect.json`, `/etc/messaging/connect.json`.
 *
 * ```json
 * { "scheme": "amqps", "host": "broker", "port": 5671, "user": "app", "password": "secret",
 *   "sasl": { "mechanisms": "PLAIN", "allow_insecure": false },
 *   "tls": { "ca": "/path/ca.pem", "cert": "/path/cert.pem", "key": "/path/key.pem", "verify": true } }
 * ```
 *
 * As in Proton, `//` and `/* *\/` comments are allowed, `scheme` defaults to `amqps`, `host` to
 * `localhost`, `port` to 5671 (amqps) or 5672 (amqp), and with no file at all those defaults
 * apply. Unknown keys are ignored; a known key of the wrong type, JSON that does not parse, or a
 * TLS file that cannot be read is a ConfigError naming the file and the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LoginMethod, TlsOptions } from '../core.js';
import { ConfigError, messageOf } from './errors.js';

/** Where to look for connect.json (tests pass their own). */
export interface ConfigSearch {
  /** Environment (default process.env). */
  env?: Record<string, string | undefined>;
  /** Directory of `./connect.json` (default process.cwd()). */
  cwd?: string;
  /** Home directory (default os.homedir()). */
  home?: string;
  /** Directory of the system-wide file (default /etc/messaging). */
  etc?: string;
}

/** What connect.json yields, ready for the core's connection options. */
export interface ConnectConfig {
  /** The file read, or undefined when none was found. */
  readonly file: string | undefined;
  /** `amqp[s]://host:port` (no credentials). */
  readonly url: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** The first mechanism of `sasl.mechanisms` that amqpts speaks. */
  readonly loginMethod: LoginMethod | undefined;
  readonly tls: TlsOptions | undefined;
}

const MECHANISMS: readonly LoginMethod[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

/** The config file to read, or undefined. @throws ConfigError when MESSAGING_CONNECT_FILE names a missing file. */
export function findConnectFile(search: ConfigSearch = {}): string | undefined {
  const env = search.env ?? process.env;
  const named = env['MESSAGING_CONNECT_FILE'];
  if (named) {
    if (!existsSync(named)) throw new ConfigError(`MESSAGING_CONNECT_FILE names ${named}, which does not exist`, named, '');
    return named;
  }
  const candidates = [
    join(search.cwd ?? process.cwd(), 'connect.json'),
    join(search.home ?? homedir(), '.config', 'messaging', 'connect.json'),
    join(search.etc ?? '/etc/messaging', 'connect.json'),
  ];
  return candidates.find((f) => existsSync(f));
}

/** Removes `//` and `/* *\/` comments outside strings (as Proton does). */
export function stripComments(text: string): string {
  return text.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:\\.|[^\\"])*"/g, (m) => (m.startsWith('/') ? ' ' : m));
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses and validates the text of a connect.json; `file` is only used in messages and for relative TLS paths. */
export function parseConnectConfig(text: string, file: string): ConnectConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stripComments(text));
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${messageOf(err)}`, file, '', { cause: err });
  }
  if (!isObj(raw)) throw new ConfigError(`${file}: the top level must be an object`, file, '');
  const bad = (key: string, want: string, v: unknown): ConfigError =>
    new ConfigError(`${file}: key "${key}" must be ${want}, got ${JSON.stringify(v) ?? typeof v}`, file, key);
  const str = (o: Obj, key: string, path: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw bad(path, 'a string', v);
    return v;
  };
  const bool = (o: Obj, key: string, path: string): boolean | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw bad(path, 'true or false', v);
    return v;
  };
  const section = (key: string): Obj => {
    const v = raw[key];
    if (v === undefined || v === null) return {};
    if (!isObj(v)) throw bad(key, 'an object', v);
    return v;
  };

  const scheme = str(raw, 'scheme', 'scheme') ?? 'amqps';
  if (scheme !== 'amqp' && scheme !== 'amqps') throw bad('scheme', '"amqp" or "amqps"', scheme);
  const host = str(raw, 'host', 'host') ?? 'localhost';
  if (host === '' || /[/@\s]/.test(host)) throw bad('host', 'a host name or address', host);
  const p = raw['port'];
  const port =
    p === undefined || p === null ? (scheme === 'amqps' ? 5671 : 5672) : typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw bad('port', 'a port number (1-65535)', p);

  const sasl = section('sasl');
  const mechs = str(sasl, 'mechanisms', 'sasl.mechanisms');
  let loginMethod: LoginMethod | undefined;
  if (mechs !== undefined) {
    const listed = mechs
      .trim()
      .split(/\s+/)
      .map((m) => m.toUpperCase());
    loginMethod = listed.find((m): m is LoginMethod => (MECHANISMS as readonly string[]).includes(m));
    if (!loginMethod) throw bad('sasl.mechanisms', `a list naming one of ${MECHANISMS.join(', ')}`, mechs);
  }
  const allowInsecure = bool(sasl, 'allow_insecure', 'sasl.allow_insecure');
  bool(sasl, 'enabled', 'sasl.enabled');
  const user = str(raw, 'user', 'user');
  const password = str(raw, 'password', 'password');
  if (allowInsecure === false && scheme === 'amqp') {
    throw new ConfigError(
      `${file}: key "sasl.allow_insecure" is false, so SASL credentials cannot travel over plain "amqp": use scheme "amqps" or allow it`,
      file,
      'sasl.allow_insecure',
    );
  }

  const t = section('tls');
  const readPem = (key: string): Buffer | undefined => {
    const path = str(t, key, `tls.${key}`);
    if (path === undefined) return undefined;
    const full = resolve(join(file, '..'), path);
    try {
      return readFileSync(full);
    } catch (err) {
      throw new ConfigError(`${file}: key "tls.${key}": cannot read ${full}: ${messageOf(err)}`, file, `tls.${key}`, { cause: err });
    }
  };
  const ca = readPem('ca');
  const cert = readPem('cert');
  const key = readPem('key');
  const verify = bool(t, 'verify', 'tls.verify');
  let tls: TlsOptions | undefined;
  if (scheme === 'amqps') {
    tls = { rejectUnauthorized: verify ?? true };
    if (ca) tls.ca = ca;
    if (cert && key) {
      tls.cert = cert;
      tls.key = key;
    }
  }
  const h = host.includes(':') ? `[${host}]` : host;
  return { file, url: `${scheme}://${h}:${port}`, user, password, loginMethod, tls };
}

/** Finds and reads connect.json; with no file, Proton's defaults (`amqps://localhost:5671`). @throws ConfigError. */
export function loadConnectConfig(search: ConfigSearch = {}): ConnectConfig {
  const file = findConnectFile(search);
  if (file === undefined)
    return {
      file: undefined,
      url: 'amqps://localhost:5671',
      user: undefined,
      password: undefined,
      loginMethod: undefined,
      tls: { rejectUnauthorized: true },
    };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read it: ${messageOf(err)}`, file, '', { cause: err });
  }
  return parseConnectConfig(text, file);
}
