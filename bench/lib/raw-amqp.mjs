// The bench's limit client: a minimal AMQP 0.9.1 connection over net.Socket that does the
// handshake, a handful of synchronous methods, and otherwise as little work as a client can do.
// Publishing writes pre-encoded frames; receiving reads deliveries' method and header frames and
// skips body bytes without copying them. One connection, a few channels, no recovery, no
// heartbeats (negotiated off), TCP_NODELAY on. It is a measuring tool, not a client to use.
//
// Frame layout (AMQP 0.9.1 section 4.2.3):
//   type u8 | channel u16 | size u32 | payload (size bytes) | 0xCE
// Method payload: class u16 | method u16 | arguments. Content header payload: class u16 |
// weight u16 | body size u64 | property flags u16 | properties.

import { once } from 'node:events';
import net from 'node:net';

const METHOD = 1;
const HEADER = 2;
const BODY = 3;
const FRAME_END = 0xce;
/** Bytes a publisher may queue in user space before write() asks it to wait. */
const WRITE_AHEAD = 4 * 1024 * 1024;
/** Size of the one buffer every socket read goes into. */
const READ_BUFFER = 256 * 1024;

/** class << 16 | method, for the methods this client sends or reads. */
const id = (c, m) => (c << 16) | m;
export const M = {
  START: id(10, 10),
  START_OK: id(10, 11),
  TUNE: id(10, 30),
  TUNE_OK: id(10, 31),
  OPEN: id(10, 40),
  OPEN_OK: id(10, 41),
  CLOSE: id(10, 50),
  CLOSE_OK: id(10, 51),
  CHANNEL_OPEN: id(20, 10),
  CHANNEL_OPEN_OK: id(20, 11),
  CHANNEL_CLOSE: id(20, 40),
  CHANNEL_CLOSE_OK: id(20, 41),
  QUEUE_DECLARE: id(50, 10),
  QUEUE_DECLARE_OK: id(50, 11),
  QUEUE_DELETE: id(50, 40),
  QUEUE_DELETE_OK: id(50, 41),
  QOS: id(60, 10),
  QOS_OK: id(60, 11),
  CONSUME: id(60, 20),
  CONSUME_OK: id(60, 21),
  CANCEL: id(60, 30),
  CANCEL_OK: id(60, 31),
  PUBLISH: id(60, 40),
  DELIVER: id(60, 60),
  ACK: id(60, 80),
  NACK: id(60, 120),
  SELECT: id(85, 10),
  SELECT_OK: id(85, 11),
};

// ------------------------------------------------------------------ encoding

const u8 = (v) => Buffer.from([v]);
const u16 = (v) => Buffer.from([v >> 8, v & 0xff]);
const u32 = (v) => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v);
  return b;
};
const u64 = (v) => {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};
const shortstr = (s) => {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 255) throw new RangeError(`shortstr of ${b.length} bytes`);
  return Buffer.concat([u8(b.length), b]);
};
const longstr = (s) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u32(b.length), b]);
};
const EMPTY_TABLE = u32(0);

/** One frame around `payload`. */
export function frame(type, channel, payload) {
  const f = Buffer.allocUnsafe(8 + payload.length);
  f[0] = type;
  f.writeUInt16BE(channel, 1);
  f.writeUInt32BE(payload.length, 3);
  payload.copy(f, 7);
  f[7 + payload.length] = FRAME_END;
  return f;
}

/** A method frame: `args` is a list of already encoded fields. */
export function methodFrame(channel, method, args = []) {
  return frame(METHOD, channel, Buffer.concat([u32(method >>> 0), ...args]));
}

/**
 * One complete message: basic.publish to the default exchange, its content header (only
 * correlation-id and reply-to among the properties) and the body split into frames.
 */
export function encodePublish(channel, routingKey, body, frameMax, props = {}) {
  const parts = [methodFrame(channel, M.PUBLISH, [u16(0), shortstr(''), shortstr(routingKey), u8(0)])];
  let flags = 0;
  const fields = [];
  if (props.correlationId !== undefined) {
    flags |= 1 << 10;
    fields.push(shortstr(props.correlationId));
  }
  if (props.replyTo !== undefined) {
    flags |= 1 << 9;
    fields.push(shortstr(props.replyTo));
  }
  parts.push(frame(HEADER, channel, Buffer.concat([u16(60), u16(0), u64(body.length), u16(flags), ...fields])));
  const step = frameMax - 8;
  for (let at = 0; at < body.length; at += step) parts.push(frame(BODY, channel, body.subarray(at, at + step)));
  return Buffer.concat(parts);
}

const ACK_FRAME_SIZE = 21; // 7 header + 4 class/method + 8 tag + 1 multiple + 1 end

/**
 * Pre-encoded basic.ack frames: `encode(tags, multiple)` copies the template once per tag and
 * patches the tag in, so one write carries every ack of a socket chunk.
 */
export function ackEncoder(channel) {
  const template = methodFrame(channel, M.ACK, [u64(0), u8(0)]);
  return (tags, count, multiple) => {
    const out = Buffer.allocUnsafe(count * ACK_FRAME_SIZE);
    for (let i = 0; i < count; i++) {
      const at = i * ACK_FRAME_SIZE;
      template.copy(out, at);
      const tag = tags[i];
      out.writeUInt32BE(Math.floor(tag / 2 ** 32), at + 11);
      out.writeUInt32BE(tag >>> 0, at + 15);
      out[at + 19] = multiple ? 1 : 0;
    }
    return out;
  };
}

// ------------------------------------------------------------------ decoding

const u64At = (b, at) => b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);

/** Body size, correlation-id and reply-to of a content header payload. */
export function parseHeader(p) {
  const bodySize = u64At(p, 4);
  const flags = p.readUInt16BE(12);
  let at = 14;
  const str = () => {
    const s = p.toString('latin1', at + 1, at + 1 + p[at]);
    at += 1 + p[at];
    return s;
  };
  if (flags & (1 << 15)) str(); // content-type
  if (flags & (1 << 14)) str(); // content-encoding
  if (flags & (1 << 13)) at += 4 + p.readUInt32BE(at); // headers (a table: skipped whole)
  if (flags & (1 << 12)) at += 1; // delivery-mode
  if (flags & (1 << 11)) at += 1; // priority
  const correlationId = flags & (1 << 10) ? str() : undefined;
  const replyTo = flags & (1 << 9) ? str() : undefined;
  return { bodySize, correlationId, replyTo };
}

/** Delivery tag of a basic.deliver's arguments (after the consumer tag). */
export const deliveryTag = (args) => u64At(args, 1 + args[0]);

// ------------------------------------------------------------------ the connection

/**
 * Channel handlers: onHeader(payload), onBody(size) once per body frame, onAck(tag, multiple),
 * onDeliver(tag), onError(err). `afterChunk` callbacks run once per socket chunk (to flush acks).
 */
export class RawConnection {
  frameMax = 131072;
  closed = false;
  handlers = new Map();
  afterChunk = new Set();
  waiters = new Map(); // channel -> [{ method, resolve, reject }]
  nextChannel = 1;
  partial = null;
  skip = 0; // body bytes (and the frame end) still to skip
  skipFor = null;
  skipSize = 0;
  paused = null; // { resolve, reject } of a writer waiting for the socket
  onWritten = () => this.written();

  static async connect(url, { frameMax = 131072 } = {}) {
    const u = new URL(url);
    const c = new RawConnection();
    // Reads land in one reused buffer: the client keeps nothing past onData but a copied remainder.
    const sock = net.connect({
      host: u.hostname || '127.0.0.1',
      port: Number(u.port) || 5672,
      noDelay: true,
      onread: { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: (n, buf) => c.onData(buf.subarray(0, n)) },
    });
    c.sock = sock;
    sock.on('error', (e) => c.fail(e));
    sock.on('close', () => c.fail(new Error('raw: socket closed')));
    await once(sock, 'connect');
    sock.setNoDelay(true);
    const start = c.expect(0, M.START);
    sock.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await start;
    const tune = c.expect(0, M.TUNE);
    const auth = `\0${decodeURIComponent(u.username || 'guest')}\0${decodeURIComponent(u.password || 'guest')}`;
    sock.write(methodFrame(0, M.START_OK, [EMPTY_TABLE, shortstr('PLAIN'), longstr(auth), shortstr('en_US')]));
    const t = await tune; // channel-max u16, frame-max u32, heartbeat u16
    const offered = t.readUInt32BE(2);
    c.frameMax = offered === 0 ? frameMax : Math.min(offered, frameMax);
    sock.write(methodFrame(0, M.TUNE_OK, [u16(2047), u32(c.frameMax), u16(0)]));
    const vhost = decodeURIComponent(u.pathname.slice(1)) || '/';
    await c.call(0, M.OPEN, [shortstr(vhost), shortstr(''), u8(0)], M.OPEN_OK);
    return c;
  }

  fail(err) {
    if (this.closed) return;
    this.closed = true;
    this.paused?.reject(err);
    this.paused = null;
    for (const list of this.waiters.values()) for (const w of list) w.reject(err);
    this.waiters.clear();
    for (const h of this.handlers.values()) h.onError?.(err);
  }

  expect(channel, method) {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('raw: connection closed'));
      if (!this.waiters.has(channel)) this.waiters.set(channel, []);
      this.waiters.get(channel).push({ method, resolve, reject });
    });
  }

  /** Sends a synchronous method and resolves with the reply's arguments. */
  call(channel, method, args, reply) {
    const p = this.expect(channel, reply);
    this.sock.write(methodFrame(channel, method, args));
    return p;
  }

  /**
   * Writes `buf`; returns null while less than WRITE_AHEAD bytes wait in user space, else a
   * promise that resolves once the socket has handed enough of them to the kernel. (Waiting for
   * 'drain' instead would empty the queue before every large message and idle the link.)
   */
  write(buf) {
    if (this.closed) throw new Error('raw: connection closed');
    this.sock.write(buf, this.onWritten);
    if (this.sock.writableLength < WRITE_AHEAD) return null;
    return new Promise((resolve, reject) => {
      this.paused = { resolve, reject };
    });
  }

  /** Called on each socket write completion: lets a paused writer go on. */
  written() {
    if (this.paused && this.sock.writableLength < WRITE_AHEAD) {
      const p = this.paused;
      this.paused = null;
      p.resolve();
    }
  }

  /** Writes `buf` without waiting for the socket (small frames: acks, requests). */
  send(buf) {
    if (!this.closed) this.sock.write(buf);
  }

  onData(chunk) {
    if (this.partial) {
      chunk = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        if (this.skip === 0) this.skipFor?.onBody?.(this.skipSize);
        continue;
      }
      if (chunk.length - at < 7) break;
      const type = chunk[at];
      const channel = chunk.readUInt16BE(at + 1);
      const size = chunk.readUInt32BE(at + 3);
      if (type === BODY) {
        this.skipFor = this.handlers.get(channel);
        this.skipSize = size;
        this.skip = size + 1;
        at += 7;
        continue;
      }
      if (chunk.length - at < 8 + size) break;
      const payload = chunk.subarray(at + 7, at + 7 + size);
      at += 8 + size;
      if (type === METHOD) this.onMethod(channel, payload);
      else if (type === HEADER) this.handlers.get(channel)?.onHeader?.(payload);
    }
    if (at < chunk.length) this.partial = Buffer.from(chunk.subarray(at));
    for (const f of this.afterChunk) f();
  }

  onMethod(channel, p) {
    const method = p.readUInt32BE(0);
    const args = p.subarray(4);
    const h = this.handlers.get(channel);
    if (method === M.DELIVER) return h?.onDeliver?.(deliveryTag(args));
    if (method === M.ACK) return h?.onAck?.(u64At(args, 0), (args[8] & 1) === 1);
    if (method === M.NACK) return h?.onError?.(new Error(`raw: publish ${u64At(args, 0)} nacked`));
    if (method === M.CLOSE || method === M.CHANNEL_CLOSE) {
      const err = new Error(
        `raw: ${channel ? `channel ${channel}` : 'connection'} closed by the broker: ${args.readUInt16BE(0)} ${args.toString('utf8', 3, 3 + args[2])}`,
      );
      this.sock.write(methodFrame(channel, method === M.CLOSE ? M.CLOSE_OK : M.CHANNEL_CLOSE_OK));
      if (method === M.CLOSE) return this.fail(err);
      for (const w of this.waiters.get(channel)?.splice(0) ?? []) w.reject(err);
      return h?.onError?.(err);
    }
    const w = this.waiters.get(channel)?.shift();
    if (!w) return;
    if (w.method === method) w.resolve(args);
    else w.reject(new Error(`raw: unexpected method ${method >>> 16}.${method & 0xffff} on channel ${channel}`));
  }

  async openChannel(handlers = {}) {
    const ch = this.nextChannel++;
    this.handlers.set(ch, handlers);
    await this.call(ch, M.CHANNEL_OPEN, [shortstr('')], M.CHANNEL_OPEN_OK);
    return ch;
  }

  async closeChannel(ch) {
    await this.call(ch, M.CHANNEL_CLOSE, [u16(200), shortstr('bye'), u16(0), u16(0)], M.CHANNEL_CLOSE_OK);
    this.handlers.delete(ch);
  }

  async queueDeclare(ch, name, { passive = false } = {}) {
    const a = await this.call(ch, M.QUEUE_DECLARE, [u16(0), shortstr(name), u8(passive ? 1 : 0), EMPTY_TABLE], M.QUEUE_DECLARE_OK);
    return { messageCount: a.readUInt32BE(1 + a[0]) };
  }

  async queueDelete(ch, name) {
    await this.call(ch, M.QUEUE_DELETE, [u16(0), shortstr(name), u8(0)], M.QUEUE_DELETE_OK);
  }

  async basicQos(ch, prefetchCount) {
    await this.call(ch, M.QOS, [u32(0), u16(prefetchCount), u8(0)], M.QOS_OK);
  }

  async confirmSelect(ch) {
    await this.call(ch, M.SELECT, [u8(0)], M.SELECT_OK);
  }

  /** basic.consume; resolves with the consumer tag. */
  async basicConsume(ch, queue, { noAck }) {
    const a = await this.call(ch, M.CONSUME, [u16(0), shortstr(queue), shortstr(''), u8(noAck ? 2 : 0), EMPTY_TABLE], M.CONSUME_OK);
    return a.toString('utf8', 1, 1 + a[0]);
  }

  async basicCancel(ch, tag) {
    await this.call(ch, M.CANCEL, [shortstr(tag), u8(0)], M.CANCEL_OK);
  }

  async close() {
    if (this.closed) return;
    await this.call(0, M.CLOSE, [u16(200), shortstr('bye'), u16(0), u16(0)], M.CLOSE_OK).catch(() => {});
    this.closed = true;
    this.sock.destroy();
  }
}
