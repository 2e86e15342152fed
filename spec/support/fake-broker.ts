/**
 * FakeBroker: a scripted AMQP 0-9-1 server over an in-memory socket pair, for unit tests (in the
 * style of amqp091-go's client_test and amqplib's test util):
 *   const broker = new FakeBroker(); const connecting = Connection.connect({ socket: broker.clientSocket });
 *   await broker.handshake({ frameMax: 8192 }); const conn = await connecting;
 *   const m = await broker.expect('queue.declare', 1); broker.send(1, 'queue.declare-ok', {...});
 * Client bytes are parsed with our FrameParser + decodeMethod (a publish's content frames are
 * assembled into one `Received`); server frames are encoded with our codec. Writes reach the other
 * end asynchronously, one 'data' chunk per write, as on a socket. `silent = true` drops everything
 * the broker would send (client frames are still parsed, heartbeats counted).
 */
import { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, expect as jestExpect } from '@jest/globals';

import { Connection } from '../../lib/connection/connection.js';
import type { ConnectionOptions } from '../../lib/connection/options.js';
import { encodeMethodFrame } from '../../lib/protocol/encode.js';
import { FrameParser } from '../../lib/protocol/frame-parser.js';
import { encodeFrame, FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../../lib/protocol/frame.js';
import { decodeMethod, HAS_CONTENT, type MethodArgs, type MethodInit, type MethodName } from '../../lib/protocol/generated/methods.js';
import { decodeProperties, encodeProperties, type BasicProperties } from '../../lib/protocol/generated/properties.js';
import { Reader, Writer, type FieldTable } from '../../lib/protocol/primitives.js';

/** One end of an in-memory socket. A write is accepted at once and reaches the peer on setImmediate. */
class Pipe extends Duplex {
  peer!: Pipe;
  eof = false;
  constructor() {
    super({ allowHalfOpen: false });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.later((p) => p.push(chunk));
    cb();
  }
  override _final(cb: () => void): void {
    this.later((p) => {
      p.eof = true;
      p.push(null);
    });
    cb();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const p = this.peer;
    setImmediate(() => p.destroy());
    cb(err);
  }
  private later(f: (peer: Pipe) => void): void {
    const p = this.peer;
    setImmediate(() => {
      if (!p.destroyed && !p.eof) f(p);
    });
  }
}

/** A method the client sent, with `properties`, `body` and `bodyFrames` (sizes) for a publish. */
export type Received<N extends MethodName = MethodName> = {
  channel: number;
  name: N;
  args: MethodArgs[N];
  properties?: BasicProperties;
  body?: Buffer;
  bodyFrames?: number[];
};
export type AnyReceived = { [N in MethodName]: Received<N> }[MethodName];
export type ReceivedContent = Received<'basic.publish'> & { properties: BasicProperties; body: Buffer; bodyFrames: number[] };

/** What the broker proposes in connection.start and connection.tune. */
export interface HandshakeOptions {
  frameMax?: number;
  channelMax?: number;
  heartbeat?: number;
  serverProperties?: FieldTable;
  mechanisms?: string;
  locales?: string;
}
/** What the client answered during the handshake. */
export interface HandshakeResult {
  startOk: MethodArgs['connection.start-ok'];
  tuneOk: MethodArgs['connection.tune-ok'];
  open: MethodArgs['connection.open'];
}

const SERVER_PROPERTIES: FieldTable = {
  product: 'FakeBroker',
  version: '0.0.1',
  capabilities: { publisher_confirms: true, 'basic.nack': true, consumer_cancel_notify: true, 'connection.blocked': true },
};

function describe(m: AnyReceived): string {
  return `${m.name} on channel ${m.channel} ${JSON.stringify(m.args, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`;
}

type Waiter = { resolve: (m: AnyReceived) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class FakeBroker {
  /** Brokers not yet destroyed; `installGuards()` destroys them after each test. */
  static readonly live = new Set<FakeBroker>();
  readonly clientSocket: Duplex; // give this to Connection.connect({ socket })
  /** Every method the client sent, in order (heartbeats excluded; see `heartbeats`). */
  readonly received: AnyReceived[] = [];
  heartbeats = 0; // heartbeat frames received from the client
  silent = false; // drop everything the broker would send
  /** frame_max used to split bodies in sendContent (set by the handshake). */
  frameMax = 131072;
  /** The client's protocol header, once received. */
  header: Buffer | null = null;
  /** Resolves when the broker's end of the socket has closed. */
  readonly closed: Promise<void>;
  private readonly server: Pipe;
  private readonly parser: FrameParser;
  private queue: AnyReceived[] = [];
  private waiters: Waiter[] = [];
  private headerWaiters: Array<() => void> = [];
  private pendingHeader = Buffer.alloc(0);
  private content: { r: AnyReceived; size: number; got: number; chunks: Buffer[] } | null = null;
  private failure: Error | null = null;

  constructor() {
    const client = new Pipe(),
      server = new Pipe();
    client.peer = server;
    server.peer = client;
    this.clientSocket = client;
    this.server = server;
    this.parser = new FrameParser((t, c, b, s, e) => this.onFrame(t, c, b.subarray(s, e)), 0);
    server.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) =>
      server.on('close', () => {
        this.fail(new Error('FakeBroker: the connection is closed'));
        resolve();
      }),
    );
    FakeBroker.live.add(this);
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    try {
      if (!this.header) {
        this.pendingHeader = Buffer.concat([this.pendingHeader, chunk]);
        if (this.pendingHeader.length < 8) return;
        this.header = this.pendingHeader.subarray(0, 8);
        chunk = this.pendingHeader.subarray(8);
        for (const w of this.headerWaiters.splice(0)) w();
      }
      if (chunk.length > 0) this.parser.push(chunk);
    } catch (err) {
      this.fail(new Error(`FakeBroker: bad bytes from the client: ${String(err)}`));
    }
  }

  private onFrame(type: number, channel: number, view: Buffer): void {
    const payload = Buffer.from(view);
    const c = this.content;
    if (type === FRAME_HEARTBEAT) {
      this.heartbeats++;
      return;
    }
    if (type === FRAME_METHOD) {
      if (c) throw new Error(`method frame on channel ${channel} in the middle of ${describe(c.r)}'s content`);
      const m = decodeMethod(new Reader(payload));
      const r = { channel, name: m.name, args: m.args } as AnyReceived;
      if (HAS_CONTENT.has(m.name)) this.content = { r, size: -1, got: 0, chunks: [] };
      else this.arrived(r);
      return;
    }
    if (!c || c.r.channel !== channel) throw new Error(`content frame (type ${type}) on channel ${channel} without a content method`);
    if (type === FRAME_HEADER) {
      if (c.size >= 0) throw new Error(`second content header for ${describe(c.r)}`);
      const rd = new Reader(payload, 4); // skip class id and weight
      c.size = rd.u64();
      c.r.properties = decodeProperties(rd);
      c.r.bodyFrames = [];
    } else if (type === FRAME_BODY) {
      if (c.size < 0) throw new Error('body frame before the content header');
      c.chunks.push(payload);
      c.got += payload.length;
      c.r.bodyFrames?.push(payload.length);
      if (c.got > c.size) throw new Error(`body of ${c.got} bytes exceeds the announced ${c.size}`);
    } else throw new Error(`unknown frame type ${type}`);
    if (c.size >= 0 && c.got === c.size) {
      c.r.body = Buffer.concat(c.chunks);
      this.content = null;
      this.arrived(c.r);
    }
  }

  private arrived(r: AnyReceived): void {
    this.received.push(r);
    const w = this.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(r);
    } else this.queue.push(r);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  /** Resolves with the client's protocol header. */
  protocolHeader(timeoutMs = 2000): Promise<Buffer> {
    return this.header
      ? Promise.resolve(this.header)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`FakeBroker: no protocol header within ${timeoutMs} ms`)), timeoutMs);
          this.headerWaiters.push(() => {
            clearTimeout(timer);
            resolve(this.header as Buffer);
          });
        });
  }

  /** The next client method not yet taken by next()/expect(). */
  next(timeoutMs = 2000): Promise<AnyReceived> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(
            new Error(
              `FakeBroker: no client method within ${timeoutMs} ms; received so far: ${this.received.map((m) => m.name).join(', ') || 'nothing'}`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** The next client method, which must be `name` (on `channel` if given). */
  async expect<N extends MethodName>(name: N, channel?: number, timeoutMs = 2000): Promise<Received<N>> {
    const m = await this.next(timeoutMs);
    if (m.name !== name || (channel !== undefined && m.channel !== channel)) {
      throw new Error(`FakeBroker: expected ${name}${channel === undefined ? '' : ` on channel ${channel}`}, got ${describe(m)}`);
    }
    return m as Received<N>;
  }

  /** The next client method, which must be a basic.publish with its content. */
  async expectContent(channel?: number, timeoutMs = 2000): Promise<ReceivedContent> {
    return (await this.expect('basic.publish', channel, timeoutMs)) as ReceivedContent;
  }

  /** Fails if any client method arrives (or is waiting unread) within `ms`. */
  async expectNothing(ms = 50): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.queue.length > 0) throw new Error(`FakeBroker: expected nothing, got ${this.queue.map(describe).join('; ')}`);
  }

  /** Encodes one method frame. */
  encode<N extends MethodName>(channel: number, name: N, args: MethodInit[N]): Buffer {
    const w = new Writer(256);
    encodeMethodFrame(w, channel, name, args, 0);
    return Buffer.from(w.result());
  }
  /** Encodes a content method + header + body frames (body split by `frameMax`). */
  encodeContent<N extends 'basic.deliver' | 'basic.get-ok' | 'basic.return'>(
    channel: number,
    name: N,
    args: MethodInit[N],
    properties: BasicProperties,
    body: Buffer | string,
    frameMax = this.frameMax,
  ): Buffer {
    const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const w = new Writer(256);
    w.u32(60 << 16); // class id 60 (basic), weight 0
    w.u64(b.length);
    encodeProperties(w, properties);
    const parts = [this.encode(channel, name, args), encodeFrame(FRAME_HEADER, channel, w.result())];
    const max = frameMax > 0 ? frameMax - 8 : Math.max(b.length, 1);
    for (let off = 0; off < b.length; off += max) parts.push(encodeFrame(FRAME_BODY, channel, b.subarray(off, off + max)));
    return Buffer.concat(parts);
  }

  /** Sends one method frame. */
  send<N extends MethodName>(channel: number, name: N, args: MethodInit[N]): void {
    this.sendRaw(this.encode(channel, name, args));
  }
  /** Sends a content-bearing method with its header and body frames. */
  sendContent<N extends 'basic.deliver' | 'basic.get-ok' | 'basic.return'>(
    channel: number,
    name: N,
    args: MethodInit[N],
    properties: BasicProperties,
    body: Buffer | string,
    opts: { frameMax?: number } = {},
  ): void {
    this.sendRaw(this.encodeContent(channel, name, args, properties, body, opts.frameMax ?? this.frameMax));
  }

  /** Writes raw bytes (one socket chunk). */
  sendRaw(buf: Buffer): void {
    if (!this.silent && !this.server.destroyed && !this.server.writableEnded) this.server.write(buf);
  }

  /** Writes `buf` as separate chunks of `size` bytes (or of the given sizes, then the rest). */
  sendChunks(buf: Buffer, size: number | number[]): void {
    for (let off = 0, i = 0; off < buf.length; i++) {
      const n = Math.max(1, typeof size === 'number' ? size : (size[i] ?? buf.length - off));
      this.sendRaw(buf.subarray(off, off + n));
      off += n;
    }
  }

  /** Ends the broker's side cleanly (FIN). */
  end(): void {
    this.server.end();
  }
  /** Drops the connection abruptly. */
  destroy(): void {
    FakeBroker.live.delete(this);
    this.server.destroy();
  }

  /** Sends connection.start. */
  sendStart(o: HandshakeOptions = {}): void {
    this.send(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: o.serverProperties ?? SERVER_PROPERTIES,
      mechanisms: o.mechanisms ?? 'PLAIN AMQPLAIN',
      locales: o.locales ?? 'en_US',
    });
  }

  /** Plays the server side of start / tune / open; returns what the client sent. */
  async handshake(o: HandshakeOptions = {}): Promise<HandshakeResult> {
    await this.protocolHeader();
    this.sendStart(o);
    const startOk = (await this.expect('connection.start-ok', 0)).args;
    this.send(0, 'connection.tune', { channelMax: o.channelMax ?? 2047, frameMax: o.frameMax ?? 131072, heartbeat: o.heartbeat ?? 0 });
    const tuneOk = (await this.expect('connection.tune-ok', 0)).args;
    this.frameMax = tuneOk.frameMax;
    this.parser.frameMax = tuneOk.frameMax;
    const open = (await this.expect('connection.open', 0)).args;
    this.send(0, 'connection.open-ok', {});
    return { startOk, tuneOk, open };
  }

  /** Accepts the next channel.open (on `channel` if given); returns its id. */
  async openChannel(channel?: number): Promise<number> {
    const m = await this.expect('channel.open', channel);
    this.send(m.channel, 'channel.open-ok', {});
    return m.channel;
  }
}

/** A fake broker and a connection to it, handshake done (callTimeout 2000 ms unless given). */
export async function connectFake(
  options: ConnectionOptions = {},
  hs: HandshakeOptions = {},
): Promise<{ broker: FakeBroker; conn: Connection; hs: HandshakeResult }> {
  const broker = new FakeBroker();
  const [conn, res] = await Promise.all([
    Connection.connect({ callTimeout: 2000, ...options, socket: broker.clientSocket }),
    broker.handshake(hs),
  ]);
  return { broker, conn, hs: res };
}

/**
 * Fails a test on any unhandled rejection, and destroys every FakeBroker (hence its client
 * connection) after each test. Call once at the top of a spec file.
 */
export function installGuards(): void {
  // Jest hands test code a copy of `process` whose events never fire: listen on the real one.
  const real = (process.on.constructor as FunctionConstructor)('return process')() as NodeJS.Process;
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  beforeAll(() => {
    real.on('unhandledRejection', onRejection);
  });
  afterAll(() => {
    real.off('unhandledRejection', onRejection);
  });
  afterEach(async () => {
    for (const b of [...FakeBroker.live]) b.destroy();
    await new Promise((r) => setTimeout(r, 20));
    jestExpect(seen.splice(0)).toEqual([]);
  });
}
