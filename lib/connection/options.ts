/**
 * Connection options (amqpy's constructor keyword arguments as one typed object), their defaults,
 * and the URL form `amqp[s]://user:pass@host:port/vhost?heartbeat=&frame_max=&channel_max=
 * &connection_timeout=&auth_mechanism=` (RabbitMQ's URI spec: percent-decoding, IPv6 hosts in
 * brackets). One deliberate deviation: a path of exactly `/` means the default vhost `/`, as it
 * does in most clients, not the empty vhost.
 */
import { constants as bufferConstants } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { checkAckBatchDelay } from '../channel/options.js';
import { ArgumentError } from '../errors.js';
import type { FieldTable } from '../protocol/primitives.js';
import type { BackoffOptions, ReconnectStrategy } from '../recovery/backoff.js';
import type { TlsOptions } from '../transport/socket.js';
import { hidePassword, redactUrl, Secret } from '../util/secret.js';

/** SASL mechanisms amqpts can log in with. */
export type LoginMethod = 'PLAIN' | 'AMQPLAIN' | 'EXTERNAL';

/** Options of `Connection.connect()`. All times are milliseconds except `heartbeat` (seconds). */
export interface ConnectionOptions {
  /** A URL; explicit options given alongside it win. */
  url?: string;
  /** Host name or IP (default `localhost`); `host:port` is accepted as in amqpy. */
  host?: string;
  /** Port (default 5672, or 5671 with TLS). */
  port?: number;
  /** TLS: `true` for defaults, or TLS options (certificates verified unless rejectUnauthorized is false). */
  ssl?: boolean | TlsOptions;
  /** Milliseconds for TCP connect plus the AMQP handshake (default 30000). */
  connectTimeout?: number;
  /** User name (default `guest`). */
  userid?: string;
  /** Password (default `guest`). */
  password?: string;
  /** SASL mechanism (default `PLAIN`). EXTERNAL uses the TLS client certificate. */
  loginMethod?: LoginMethod;
  /** Virtual host (default `/`). */
  virtualHost?: string;
  /** Locale (default `en_US`). */
  locale?: string;
  /** Highest channel number to use (default 65535; the server's limit applies if lower). */
  channelMax?: number;
  /** Largest frame in bytes (default 131072, at least 8192; the server's limit applies if lower). */
  frameMax?: number;
  /**
   * Heartbeat interval in SECONDS, as the protocol and RabbitMQ's URI spec count it (the one
   * option not in milliseconds). Default: the server's proposal. 0 disables heartbeats.
   */
  heartbeat?: number;
  /** Extra client properties sent in connection.start-ok (merged over amqpts' own). */
  clientProperties?: FieldTable;
  /** Called when the broker blocks publishing (memory or disk alarm). */
  onBlocked?: (reason: string) => void;
  /** Called when the broker lifts the block. */
  onUnblocked?: () => void;
  /** TCP_NODELAY (default true). */
  noDelay?: boolean;
  /**
   * Up to this many ms of added latency on a busy stream, to batch socket reads (default 1; 0 turns
   * it off). What you get: much less client CPU per message. When one socket read brings a burst
   * of frames (a busy consumer, say), or while a channel has 512 or more publishes awaiting
   * confirms, reading pauses this long so that the next read takes a larger batch. Round-trip
   * replies, consumers with a prefetch under 100, and TLS or user-supplied streams are never delayed;
   * nor is a read that already half filled the 64 KiB read buffer (larger messages stream at full speed).
   */
  readBatchDelay?: number;
  /**
   * Ack coalescing window in ms for this connection's channels (default 0 = off; a channel can
   * override it). Single acks wait up to this long and go out together, contiguous ones as one
   * `multiple` ack, which saves the broker CPU; see ChannelOptions.ackBatchDelay.
   */
  ackBatchDelay?: number;
  /**
   * The largest message body the client accepts from the server, in bytes (default 128 MiB,
   * RabbitMQ's own default limit). A content header announcing more closes the connection with a
   * FrameError before anything is allocated.
   */
  maxMessageSize?: number;
  /** Default timeout (ms) of every channel call that waits for the broker (default 60000; Infinity for none). */
  callTimeout?: number;
  /** Decode text bodies to strings on receipt (default true, as amqpy); a channel can override it. */
  autoDecode?: boolean;
  /**
   * A connected duplex stream to speak AMQP over instead of opening a socket (tests, tunnels), or a
   * function returning one per connection attempt (which also allows reconnecting).
   */
  socket?: Duplex | (() => Duplex | Promise<Duplex>);
  /** Several broker URLs, tried in order on connect and round-robin on reconnect. */
  urls?: string[];
  /**
   * Reconnect after a lost connection (socket error or close, heartbeat silence, a recoverable
   * server close such as 320): `true` (default) uses a `Backoff`; pass Backoff options, your own
   * `{ next(), reset() }` object, or `false` to close for good on the first loss. Default false
   * when `socket` is a stream (it cannot be reopened).
   */
  reconnect?: boolean | ReconnectStrategy | BackoffOptions;
  /** Republish confirm-mode messages left unconfirmed by a lost connection (default true). */
  republish?: boolean;
  /** Bytes of publishes that may wait while the connection recovers (default 16 MiB). */
  publishBufferBytes?: number;
  /**
   * Publisher-confirm watchdog, in ms (default 0: off). When a confirm-mode channel has publishes
   * outstanding and none has been acked for this long (nacks do not count; nor does the time the
   * broker blocks publishing), the connection is treated as lost with ConnectionLost: it
   * reconnects (to the next URL) and publishes the unconfirmed messages again, or, without
   * `reconnect`, closes and rejects them. It frees publishers from a channel the broker stopped
   * serving, as RabbitMQ 3.10 can after a node crash (see docs/clusters.md). Set it well above the
   * longest confirm delay you expect, e.g. 15000; note that a queue refusing every publish
   * (overflow reject-publish) then makes the connection reconnect every `confirmTimeout`.
   */
  confirmTimeout?: number;
  /** Aborts the initial connect (not later reconnects: `close()` stops those). */
  signal?: AbortSignal;
}

/** @internal Options after defaults. */
export interface ResolvedOptions {
  host: string;
  port: number;
  tls: TlsOptions | undefined;
  connectTimeout: number;
  userid: string;
  /** The password, shown as `***` everywhere but in the SASL response. */
  password: Secret;
  loginMethod: LoginMethod;
  virtualHost: string;
  locale: string;
  channelMax: number;
  frameMax: number;
  heartbeat: number | undefined;
  clientProperties: FieldTable;
  noDelay: boolean;
  readBatchDelay: number;
  ackBatchDelay: number;
  maxMessageSize: number;
  callTimeout: number;
  autoDecode: boolean;
}

/** The largest Buffer this Node.js can allocate: no body can be larger. */
const BUFFER_MAX = bufferConstants.MAX_LENGTH;

const LOGIN_METHODS: readonly LoginMethod[] = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];

function intParam(v: string | null, name: string, min: number, max: number): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ArgumentError(`URL parameter ${name}=${v} must be an integer in [${min}, ${max}]`);
  return n;
}

/**
 * Parses an `amqp://` or `amqps://` URL into options (which show the password as `***` in
 * util.inspect and JSON).
 * @throws ArgumentError for a malformed URL (its password masked in the message).
 */
export function parseUrl(url: string): ConnectionOptions {
  if (typeof url !== 'string') throw new ArgumentError(`an AMQP URL must be a string, got ${typeof url}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ArgumentError(`invalid AMQP URL: ${JSON.stringify(redactUrl(url))}`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'amqp' && scheme !== 'amqps') throw new ArgumentError(`AMQP URL scheme must be amqp or amqps, got ${scheme}`);
  const o: ConnectionOptions = hidePassword({});
  if (scheme === 'amqps') o.ssl = true;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host) o.host = decodeURIComponent(host);
  if (u.port) o.port = Number(u.port);
  if (u.username) o.userid = decodeURIComponent(u.username);
  if (u.password) o.password = decodeURIComponent(u.password);
  if (u.pathname && u.pathname !== '/') o.virtualHost = decodeURIComponent(u.pathname.slice(1));
  const q = u.searchParams;
  const heartbeat = intParam(q.get('heartbeat'), 'heartbeat', 0, 65535);
  if (heartbeat !== undefined) o.heartbeat = heartbeat;
  const frameMax = intParam(q.get('frame_max'), 'frame_max', 8192, 0xffffffff);
  if (frameMax !== undefined) o.frameMax = frameMax;
  const channelMax = intParam(q.get('channel_max'), 'channel_max', 1, 65535);
  if (channelMax !== undefined) o.channelMax = channelMax;
  const timeout = intParam(q.get('connection_timeout'), 'connection_timeout', 0, 2 ** 31 - 1);
  if (timeout !== undefined) o.connectTimeout = timeout;
  const mech = q.get('auth_mechanism');
  if (mech !== null) {
    const m = mech.toUpperCase() as LoginMethod;
    if (!LOGIN_METHODS.includes(m)) throw new ArgumentError(`URL auth_mechanism=${mech} is not one of ${LOGIN_METHODS.join(', ')}`);
    o.loginMethod = m;
  }
  return o;
}

function checkInt(v: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new ArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
}

/** @internal Merges URL and explicit options, applies defaults and validates. */
export function resolveOptions(input: ConnectionOptions): ResolvedOptions {
  const o: ConnectionOptions = { ...(input.url !== undefined ? parseUrl(input.url) : {}) };
  for (const [k, v] of Object.entries(input)) if (v !== undefined && k !== 'url' && k !== 'urls') (o as Record<string, unknown>)[k] = v;
  let host = o.host ?? 'localhost';
  let port = o.port;
  const hp = /^([^:[\]]+):(\d+)$/.exec(host);
  if (hp && port === undefined) {
    host = hp[1] ?? host;
    port = Number(hp[2]);
  }
  const tls = o.ssl === true ? {} : o.ssl === false || o.ssl === undefined ? undefined : o.ssl;
  port ??= tls ? 5671 : 5672;
  checkInt(port, 'port', 1, 65535);
  const frameMax = o.frameMax ?? 131072;
  checkInt(frameMax, 'frameMax', 8192, 0xffffffff);
  const channelMax = o.channelMax ?? 65535;
  checkInt(channelMax, 'channelMax', 1, 65535);
  if (o.heartbeat !== undefined) checkInt(o.heartbeat, 'heartbeat (seconds)', 0, 65535);
  const connectTimeout = o.connectTimeout ?? 30000;
  if (!(connectTimeout >= 0)) throw new ArgumentError(`connectTimeout must be >= 0 ms, got ${String(connectTimeout)}`);
  const callTimeout = o.callTimeout ?? 60000;
  if (!(callTimeout >= 0)) throw new ArgumentError(`callTimeout must be >= 0 ms, got ${String(callTimeout)}`);
  const readBatchDelay = o.readBatchDelay ?? 1;
  if (!(readBatchDelay >= 0 && readBatchDelay <= 1000)) {
    throw new ArgumentError(`readBatchDelay must be from 0 to 1000 ms, got ${String(readBatchDelay)}`);
  }
  const maxMessageSize = o.maxMessageSize ?? 128 * 1024 * 1024;
  if (!Number.isSafeInteger(maxMessageSize) || maxMessageSize < 0 || maxMessageSize > BUFFER_MAX) {
    throw new ArgumentError(
      `maxMessageSize must be an integer number of bytes from 0 to ${BUFFER_MAX} (the largest Buffer), got ${String(maxMessageSize)}`,
    );
  }
  const loginMethod = o.loginMethod ?? 'PLAIN';
  if (!LOGIN_METHODS.includes(loginMethod)) throw new ArgumentError(`loginMethod must be one of ${LOGIN_METHODS.join(', ')}`);
  return {
    host,
    port,
    tls,
    connectTimeout,
    loginMethod,
    frameMax,
    channelMax,
    callTimeout,
    readBatchDelay,
    ackBatchDelay: checkAckBatchDelay(o.ackBatchDelay ?? 0),
    maxMessageSize,
    userid: o.userid ?? 'guest',
    password: new Secret(o.password ?? 'guest'),
    virtualHost: o.virtualHost ?? '/',
    locale: o.locale ?? 'en_US',
    heartbeat: o.heartbeat,
    clientProperties: o.clientProperties ?? {},
    noDelay: o.noDelay ?? true,
    autoDecode: o.autoDecode ?? true,
  };
}

/** An endpoint as a person reads it: scheme, user, host, port, vhost; never the password. */
export function describeEndpoint(o: ResolvedOptions): string {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return `${o.tls ? 'amqps' : 'amqp'}://${encodeURIComponent(o.userid)}@${host}:${o.port}/${encodeURIComponent(o.virtualHost)}`;
}
