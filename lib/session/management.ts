/**
 * mgmtRequest's options (uamqp's keyword arguments in camelCase), their checks, and reading the
 * status of a management response from its application headers.
 */
import { ArgumentError, type FieldValue, type Message } from '../core.js';
import { checkMillis, checkSignal } from '../rpc/deadline.js';
import { ManagementError } from './errors.js';

/** Options of `Session.mgmtRequest`. */
export interface MgmtRequestOptions {
  /** The entity type the operation is on; sent as the application header `type`. */
  opType?: string;
  /** The target node: a queue name (default `$management`), `/queues/q` or `/exchanges/x/key`. */
  node?: string;
  /** Milliseconds to wait for the response (default: the session's timeout, the connection's callTimeout). */
  timeout?: number;
  /** Ends the request with `Timeout` when it aborts. */
  signal?: AbortSignal;
  /** Application header of the response that holds the status code (default `statusCode`). */
  statusCodeField?: string;
  /** Application header(s) of the response that may hold the description, first present wins (default `statusDescription`). */
  descriptionFields?: string | readonly string[];
  /**
   * Encoding of `operation` and `opType` (default `utf-8`, sent as strings); another Node encoding
   * (`latin1`, `utf16le`...) sends them as bytes in it, and decodes a description sent as bytes.
   */
  encoding?: string;
}

/** Checked mgmtRequest options. */
export interface MgmtSettings {
  node: string;
  statusCodeField: string;
  descriptionFields: readonly string[];
  encoding: BufferEncoding;
  /** A header value for `s` in the chosen encoding. */
  encode(s: string): FieldValue;
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** @throws ArgumentError for any bad option. */
export function checkMgmtOptions(opts: MgmtRequestOptions): MgmtSettings {
  if (opts.opType !== undefined && typeof opts.opType !== 'string') throw new ArgumentError('mgmtRequest: opType must be a string');
  const node = opts.node ?? '$management';
  if (!nonEmpty(node)) throw new ArgumentError('mgmtRequest: node must be a non-empty string');
  checkMillis(opts.timeout, 'mgmtRequest: timeout');
  checkSignal(opts.signal, 'mgmtRequest: signal');
  const statusCodeField = opts.statusCodeField ?? 'statusCode';
  if (!nonEmpty(statusCodeField)) throw new ArgumentError('mgmtRequest: statusCodeField must be a non-empty string');
  const d = opts.descriptionFields ?? 'statusDescription';
  const descriptionFields = typeof d === 'string' ? [d] : Array.isArray(d) ? [...(d as readonly unknown[])] : [];
  if (descriptionFields.length === 0 || !descriptionFields.every(nonEmpty)) {
    throw new ArgumentError('mgmtRequest: descriptionFields must be a non-empty string or array of them');
  }
  const label = opts.encoding ?? 'utf-8';
  if (typeof label !== 'string' || !Buffer.isEncoding(label)) throw new ArgumentError(`mgmtRequest: unknown encoding ${String(label)}`);
  const encoding = label.toLowerCase().replace('-', '') as BufferEncoding;
  const utf8 = encoding === 'utf8';
  return {
    node,
    statusCodeField,
    descriptionFields: descriptionFields as string[],
    encoding,
    encode: (s) => (utf8 ? s : Buffer.from(s, encoding)),
  };
}

function text(v: unknown, encoding: BufferEncoding): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString(encoding);
  if (v instanceof Uint8Array) return Buffer.from(v).toString(encoding);
  return undefined;
}

/**
 * Reads the response's status: a response without a status code is a success; a code outside
 * 2xx (or one that is not a number) throws.
 * @throws ManagementError with the code (0 when unreadable) and the description.
 */
export function readStatus(reply: Message, o: MgmtSettings): void {
  const headers = reply.properties.applicationHeaders ?? {};
  const raw = headers[o.statusCodeField];
  if (raw === undefined || raw === null) return;
  const code = typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : Number(text(raw, o.encoding) ?? Number.NaN);
  let description = '';
  for (const f of o.descriptionFields) {
    const t = text(headers[f], o.encoding);
    if (t !== undefined) {
      description = t;
      break;
    }
  }
  if (!Number.isInteger(code)) {
    throw new ManagementError(
      0,
      `the response's ${o.statusCodeField} header is not a number (${String(raw)})${description ? `: ${description}` : ''}`,
      reply,
    );
  }
  if (code < 200 || code >= 300) throw new ManagementError(code, description, reply);
}
