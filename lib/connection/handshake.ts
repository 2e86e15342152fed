/**
 * The client side of the AMQP handshake, over channel 0:
 * protocol header -> start / start-ok (SASL PLAIN, AMQPLAIN or EXTERNAL; client properties with
 * our capabilities) -> [secure / secure-ok] -> tune / tune-ok (channel_max and frame_max: the
 * lower non-zero value; heartbeat: ours if set, else the server's) -> open / open-ok.
 */
import { ConnectionLost, FrameError, IrrecoverableConnectionError } from '../errors.js';
import { FRAME_MIN_SIZE } from '../protocol/generated/constants.js';
import type { Method, MethodInit, MethodName } from '../protocol/generated/methods.js';
import { Writer, type FieldTable } from '../protocol/primitives.js';
import { VERSION } from '../version.js';
import type { ResolvedOptions } from './options.js';

/** The capabilities amqpts implements and advertises in connection.start-ok. */
export const CLIENT_CAPABILITIES: FieldTable = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
};

/** @internal What the handshake needs from the connection. */
export interface HandshakeIO {
  expect(...names: MethodName[]): Promise<Method>;
  send<N extends MethodName>(name: N, args: MethodInit[N]): void;
}

/** @internal The negotiated outcome. */
export interface Negotiated {
  serverProperties: FieldTable;
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

function saslResponse(o: ResolvedOptions): Buffer {
  if (o.loginMethod === 'PLAIN') return Buffer.from(`\0${o.userid}\0${o.password.reveal()}`, 'utf8');
  if (o.loginMethod === 'EXTERNAL') return Buffer.alloc(0);
  const w = new Writer(128);
  w.table({ LOGIN: o.userid, PASSWORD: o.password.reveal() });
  return Buffer.from(w.result().subarray(4));
}

/** The last server-properties table seen, shared (frozen) by every connection that gets the same one. */
let sharedServerProperties: FieldTable | null = null;

/** Whether `a` and `b` are equal tables of primitives and nested plain tables (anything else: not shared). */
function sameTable(a: FieldTable, b: FieldTable): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x === y && (x === null || typeof x !== 'object')) continue;
    if (!plainTable(x) || !plainTable(y) || !sameTable(x, y)) return false;
  }
  return true;
}

const plainTable = (v: unknown): v is FieldTable => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Freezes a table of primitives and plain tables; false (and nothing frozen) when it holds anything else. */
function freezable(t: FieldTable): boolean {
  for (const v of Object.values(t)) if (typeof v === 'object' && v !== null && !(plainTable(v) && freezable(v))) return false;
  return true;
}

function deepFreeze(t: FieldTable): FieldTable {
  for (const v of Object.values(t)) if (plainTable(v)) deepFreeze(v);
  return Object.freeze(t);
}

/**
 * Many connections to one broker get the same server properties: they share one frozen copy
 * instead of holding a table and a dozen strings each (a table with byte arrays or other objects is
 * kept as it came).
 */
export function shareServerProperties(t: FieldTable): FieldTable {
  const last = sharedServerProperties;
  if (last !== null && sameTable(last, t)) return last;
  if (!freezable(t)) return t;
  sharedServerProperties = deepFreeze(t);
  return t;
}

/**
 * @internal Runs start..tune-ok; calls `tuned` (to apply frame_max and start heartbeats) before
 * sending connection.open, then waits for open-ok.
 */
export async function handshake(io: HandshakeIO, o: ResolvedOptions, tuned: (n: Negotiated) => void): Promise<Negotiated> {
  const start = await io.expect('connection.start');
  if (start.name !== 'connection.start') throw new ConnectionLost('handshake: expected connection.start');
  const serverProperties = shareServerProperties(start.args.serverProperties);
  const offered = start.args.mechanisms.toString().split(' ');
  if (!offered.includes(o.loginMethod)) {
    throw new IrrecoverableConnectionError(`the server does not offer login method ${o.loginMethod} (it offers: ${offered.join(', ')})`);
  }
  const clientProperties: FieldTable = {
    product: 'amqpts',
    version: VERSION,
    platform: `Node.js ${process.version}`,
    information: 'https://www.npmjs.com/package/amqpts',
    capabilities: CLIENT_CAPABILITIES,
    ...o.clientProperties,
  };
  io.send('connection.start-ok', { clientProperties, mechanism: o.loginMethod, response: saslResponse(o), locale: o.locale });
  let tune = await io.expect('connection.tune', 'connection.secure');
  while (tune.name === 'connection.secure') {
    io.send('connection.secure-ok', { response: saslResponse(o) });
    tune = await io.expect('connection.tune', 'connection.secure');
  }
  if (tune.name !== 'connection.tune') throw new ConnectionLost('handshake: expected connection.tune');
  const t = tune.args;
  if (t.frameMax !== 0 && t.frameMax < FRAME_MIN_SIZE) {
    throw new FrameError(`the server proposed frame_max ${t.frameMax}, below the protocol's minimum of ${FRAME_MIN_SIZE} bytes`, {
      replyCode: 501,
      methodName: 'connection.tune',
    });
  }
  const lower = (a: number, b: number): number => (a === 0 ? b : b === 0 ? a : Math.min(a, b));
  const n: Negotiated = {
    serverProperties,
    channelMax: Math.min(lower(o.channelMax, tune.args.channelMax), 65535),
    frameMax: lower(o.frameMax, tune.args.frameMax),
    heartbeat: o.heartbeat ?? tune.args.heartbeat,
  };
  io.send('connection.tune-ok', { channelMax: n.channelMax, frameMax: n.frameMax, heartbeat: n.heartbeat });
  tuned(n);
  io.send('connection.open', { virtualHost: o.virtualHost });
  await io.expect('connection.open-ok');
  return n;
}
