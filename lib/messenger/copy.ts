/**
 * Messages as the Messenger stores them: `put()` keeps a deep copy (the caller may change its
 * message at once), `get()` copies a received message into the caller's. The address travels in
 * the application header `x-amqpts-address` (ADDRESS_HEADER); Proton's subject is the core's
 * `subject` header.
 */
import {
  type AddressNode,
  type BasicProperties,
  type DeliveryInfo,
  type FieldTable,
  type FieldValue,
  formatNode,
  Message,
} from '../core.js';

/** Application header that carries a Messenger message's address (after rewriting). */
export const ADDRESS_HEADER = 'x-amqpts-address';

function copyValue(v: FieldValue): FieldValue {
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (v instanceof Date) return new Date(v.getTime());
  if (Array.isArray(v)) return copyArray(v);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return copyTable(v as FieldTable);
  return v; // primitives, and Decimal / Typed, which are immutable
}

function copyArray(a: FieldValue[]): FieldValue[] {
  const out = a.map(copyValue);
  for (const s of Object.getOwnPropertySymbols(a))
    (out as unknown as Record<symbol, unknown>)[s] = (a as unknown as Record<symbol, unknown>)[s];
  return out;
}

/** A deep copy of a table; symbol-keyed bookkeeping (remembered wire types) is carried over. */
export function copyTable(t: FieldTable): FieldTable {
  const out: FieldTable = {};
  for (const [k, v] of Object.entries(t)) out[k] = copyValue(v);
  for (const s of Object.getOwnPropertySymbols(t)) {
    const d = Object.getOwnPropertyDescriptor(t, s);
    if (d) Object.defineProperty(out, s, d);
  }
  return out;
}

/**
 * The message `put()` queues: its body as bytes (a copy), its properties with copied headers,
 * and the address header set to `address`.
 * @throws ArgumentError for a body that cannot be encoded.
 */
export function outgoingCopy(msg: Message<unknown>, address: string): Message<unknown> {
  const body = Buffer.from(msg.bodyBuffer);
  const headers = copyTable(msg.properties.applicationHeaders ?? {});
  headers[ADDRESS_HEADER] = address;
  const props: BasicProperties = { ...msg.properties, applicationHeaders: headers };
  if (props.timestamp) props.timestamp = new Date(props.timestamp.getTime());
  return new Message<unknown>(body, props);
}

/** The address a received message was sent to: its address header, else one made from where it came from. */
export function receivedAddress(msg: Message, url: string): string | undefined {
  const h = msg.properties.applicationHeaders?.[ADDRESS_HEADER];
  if (typeof h === 'string') return h;
  if (Buffer.isBuffer(h)) return h.toString('utf8');
  const info: DeliveryInfo | undefined = msg.deliveryInfo;
  if (!info) return undefined;
  const node =
    info.exchange === ''
      ? formatNode({ kind: 'queue', queue: info.routingKey })
      : formatNode({ kind: 'exchange', exchange: info.exchange, routingKey: info.routingKey });
  return `${withoutCredentials(url)}${node}`;
}

/** Copies a received message into `target` (body, properties, delivery info, address). */
export function copyInto(target: Message, src: Message): Message {
  target.body = src.body;
  target.properties = src.properties;
  target.deliveryInfo = src.deliveryInfo;
  target.address = src.address;
  return target;
}

/** Proton's default rewrite: the address without `user[:password]@`. */
export function withoutCredentials(address: string): string {
  return address.replace(/^((?:amqps?:\/\/)?)[^@/]*@/i, '$1');
}

/** Where a message to `node` is published: a queue through the default exchange; an exchange with its key, or the subject, or ''. */
export function publishTarget(node: AddressNode, subject: string | undefined): { exchange: string; routingKey: string } {
  if (node.kind === 'queue') return { exchange: '', routingKey: node.queue };
  return { exchange: node.exchange, routingKey: node.routingKey ?? subject ?? '' };
}
