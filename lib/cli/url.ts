/**
 * Which broker the CLI talks to: `--url`, else AMQP_URL, else RABBITMQ_URL, else connect.json
 * (connect-config.ts), else amqp://guest:guest@localhost:5672/. The result carries the connection
 * options, where they came from, a display form with the password masked, and the secrets every
 * printed line is scrubbed of.
 */
import { type ConnectionOptions, parseUrl } from '../core.js';
import { findConnectConfig } from './connect-config.js';
import { redact } from './exit-codes.js';

/** The default broker when nothing else names one. */
export const DEFAULT_URL = 'amqp://guest:guest@localhost:5672/';

/** A resolved broker target. */
export interface Target {
  /** Options for `Connection.connect()`. */
  options: ConnectionOptions;
  /** Where they came from: `--url`, `AMQP_URL`, `RABBITMQ_URL`, `connect.json (<path>)` or `default`. */
  source: string;
  /** The broker as a URL with the password masked, e.g. `amqp://guest:***@localhost:5672/`. */
  display: string;
  /** Strings never to print (the password, raw and percent-encoded). */
  secrets: string[];
}

/** Masks the password of an AMQP URL: `amqp://user:***@host/`. */
export function maskUrl(url: string): string {
  return redact(url);
}

function fromUrl(url: string, source: string): Target {
  const options = parseUrl(url); // ArgumentError for a malformed URL
  const raw = /^[a-z]+:\/\/[^:/@]*:([^@/]*)@/i.exec(url)?.[1];
  const secrets = [options.password, raw].filter((s): s is string => typeof s === 'string' && s.length > 0);
  return { options: { url }, source, display: redact(url, secrets), secrets };
}

/** The display URL of connection options (password masked). */
export function describeOptions(o: ConnectionOptions): string {
  const tls = o.ssl !== undefined && o.ssl !== false;
  const host = o.host ?? 'localhost';
  const port = o.port ?? (tls ? 5671 : 5672);
  const user = o.userid ?? 'guest';
  const vhost = o.virtualHost ?? '/';
  const h = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'amqps' : 'amqp'}://${encodeURIComponent(user)}:***@${h}:${port}/${vhost === '/' ? '' : encodeURIComponent(vhost)}`;
}

/**
 * Resolves the broker target.
 * @throws ArgumentError for a malformed URL (from --url or the environment); ConfigError for a
 *   broken connect.json or a MESSAGING_CONNECT_FILE that does not exist.
 */
export function resolveTarget(input: {
  url?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  home: string;
}): Target {
  if (input.url !== undefined) return fromUrl(input.url, '--url');
  for (const name of ['AMQP_URL', 'RABBITMQ_URL']) {
    const v = input.env[name];
    if (v) return fromUrl(v, name);
  }
  const found = findConnectConfig(input.env, input.cwd, input.home);
  if (found) {
    const secrets = found.options.password ? [found.options.password] : [];
    return { options: found.options, source: `connect.json (${found.path})`, display: describeOptions(found.options), secrets };
  }
  return fromUrl(DEFAULT_URL, 'default');
}
