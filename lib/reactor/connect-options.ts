/**
 * Container.connect()'s options (Proton's keyword arguments, times in milliseconds) and their
 * translation into the core's ConnectionOptions. URLs are Proton's: the scheme may be left out
 * (`localhost:5672`), and a path names a node for links, not a virtual host (use `virtualHost`).
 * With no url, urls or address, the settings come from connect.json (connect-config.ts); as in
 * Proton its user, password and SASL mechanisms then win over the options given.
 */
import {
  ArgumentError,
  Backoff,
  type ConnectionOptions,
  type FieldTable,
  type LoginMethod,
  type ReconnectStrategy,
  type TlsOptions,
  parseAddress,
  parseUrl,
} from '../core.js';
import { loadConnectConfig } from './connect-config.js';
import type { Handler } from './handlers.js';

/** Options of `Container.connect()`. */
export interface ConnectOptions {
  /** The broker, `amqp[s]://[user:password@]host[:port][/node]` or `host[:port]`. */
  url?: string;
  /** Several brokers, tried in order on each (re)connect attempt. */
  urls?: string[];
  /** An address whose broker part is used (Proton's `address`), e.g. `amqp://host/queue`. */
  address?: string;
  /** The connection's handler, any object: it handles the connection's and its links' events. */
  handler?: Handler | object;
  /**
   * Reconnecting after a loss, and retrying the first connect: a `Backoff` (the default: 0, then
   * 100 ms doubling to 10 s), any `{ next(), reset() }` giving milliseconds, `true`, or `false`.
   */
  reconnect?: boolean | ReconnectStrategy;
  /** Heartbeat interval in ms (0 = none; sent to the broker rounded up to whole seconds). */
  heartbeat?: number;
  /** TLS: true, or TLS options (CA, client certificate...). `amqps://` turns it on too. */
  ssl?: boolean | TlsOptions;
  /** User name (default `guest`, or the URL's). */
  user?: string;
  /** Password (default `guest`, or the URL's). */
  password?: string;
  /** Virtual host (default `/`). */
  virtualHost?: string;
  /** Client properties sent to the broker (e.g. `{ connection_name: 'app' }`). */
  properties?: FieldTable;
  /** Largest frame in bytes (at least 8192). */
  maxFrameSize?: number;
  /** SASL mechanisms allowed, space-separated; the first amqpts speaks is used (PLAIN, AMQPLAIN, EXTERNAL). */
  allowedMechs?: string;
  /** Ms for the TCP connect plus the AMQP handshake of each attempt (default 30000). */
  connectTimeout?: number;
  /** Ms every broker round trip of the layer may take (declarations, consume, close...; default 30000). */
  callTimeout?: number;
  /** Speak AMQP over this stream (or a factory of streams) instead of a socket: tests and tunnels. */
  socket?: ConnectionOptions['socket'];
}

/** connect()'s options after checks: what the core needs, and the reconnect strategy. */
export interface ResolvedConnect {
  core: ConnectionOptions;
  strategy: ReconnectStrategy | null;
  /** The broker, for display (no password). */
  display: string;
  callTimeout: number;
}

const MECHANISMS: readonly LoginMethod[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

/** The broker part of a Proton URL, as `amqp[s]://user:pass@host:port`. @throws AddressError, ArgumentError. */
export function brokerUrl(url: string): string {
  if (typeof url !== 'string' || url === '') throw new ArgumentError(`a broker URL must be a non-empty string, got ${JSON.stringify(url)}`);
  const parsed = parseAddress(/^amqps?:\/\//i.test(url) ? url : `amqp://${url}`);
  const broker = parsed.url as string;
  parseUrl(broker); // the core's checks (port range...)
  return broker;
}

function display(url: string, user: string | undefined): string {
  const u = new URL(url);
  u.password = '';
  if (user !== undefined) u.username = encodeURIComponent(user);
  return u.href.replace(/\/$/, '');
}

function strategyOf(r: ConnectOptions['reconnect']): ReconnectStrategy | null {
  if (r === undefined || r === true) return new Backoff();
  if (r === false) return null;
  if (r !== null && typeof r === 'object' && typeof r.next === 'function' && typeof r.reset === 'function') return r;
  throw new ArgumentError('connect: reconnect must be a Backoff, an object with next() and reset(), true or false');
}

function nonNegative(v: number | undefined, what: string): void {
  if (v !== undefined && !(typeof v === 'number' && v >= 0 && !Number.isNaN(v))) {
    throw new ArgumentError(`connect: ${what} must be a non-negative number of ms, got ${String(v)}`);
  }
}

/** Checks connect()'s options and builds the core's. @throws ArgumentError, AddressError, ConfigError. */
export function resolveConnect(input: ConnectOptions): ResolvedConnect {
  const o: ConnectOptions = { ...input };
  const core: ConnectionOptions = { reconnect: false };
  let urls: string[];
  if (o.url !== undefined || o.urls !== undefined || o.address !== undefined) {
    if (o.urls !== undefined && (!Array.isArray(o.urls) || o.urls.length === 0))
      throw new ArgumentError('connect: urls must be a non-empty array');
    urls = o.urls !== undefined ? o.urls.map(brokerUrl) : [brokerUrl((o.url ?? o.address) as string)];
  } else {
    const cfg = loadConnectConfig();
    urls = [cfg.url];
    if (cfg.user !== undefined) o.user = cfg.user;
    if (cfg.password !== undefined) o.password = cfg.password;
    if (cfg.loginMethod !== undefined) core.loginMethod = cfg.loginMethod;
    if (cfg.tls !== undefined && o.ssl === undefined) o.ssl = cfg.tls;
  }
  if (urls.length === 1) core.url = urls[0] as string;
  else core.urls = urls;
  nonNegative(o.heartbeat, 'heartbeat');
  nonNegative(o.connectTimeout, 'connectTimeout');
  nonNegative(o.callTimeout, 'callTimeout');
  if (o.heartbeat !== undefined) {
    const s = Math.ceil(o.heartbeat / 1000);
    if (s > 65535) throw new ArgumentError(`connect: heartbeat must be at most 65535000 ms, got ${o.heartbeat}`);
    core.heartbeat = s;
  }
  if (o.allowedMechs !== undefined) {
    if (typeof o.allowedMechs !== 'string') throw new ArgumentError('connect: allowedMechs must be a space-separated string');
    const listed = o.allowedMechs
      .trim()
      .split(/\s+/)
      .map((m) => m.toUpperCase());
    const m = listed.find((x): x is LoginMethod => (MECHANISMS as readonly string[]).includes(x));
    if (!m) throw new ArgumentError(`connect: allowedMechs ${JSON.stringify(o.allowedMechs)} names none of ${MECHANISMS.join(', ')}`);
    core.loginMethod = m;
  }
  if (o.user !== undefined) core.userid = o.user;
  if (o.password !== undefined) core.password = o.password;
  if (o.virtualHost !== undefined) core.virtualHost = o.virtualHost;
  if (o.ssl !== undefined) core.ssl = o.ssl;
  if (o.properties !== undefined) core.clientProperties = o.properties;
  if (o.maxFrameSize !== undefined) core.frameMax = o.maxFrameSize;
  if (o.connectTimeout !== undefined) core.connectTimeout = o.connectTimeout;
  const callTimeout = o.callTimeout ?? 30_000;
  core.callTimeout = callTimeout;
  if (o.socket !== undefined) core.socket = o.socket;
  if (core.frameMax !== undefined && !(Number.isInteger(core.frameMax) && core.frameMax >= 8192)) {
    throw new ArgumentError(`connect: maxFrameSize must be an integer >= 8192, got ${String(core.frameMax)}`);
  }
  return { core, strategy: strategyOf(o.reconnect), display: display(urls[0] as string, o.user), callTimeout };
}
