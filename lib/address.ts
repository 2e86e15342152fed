/**
 * Addresses of the higher layers (Proton reactor, Messenger, Session): how a name means a queue or
 * an exchange on AMQP 0.9.1, in RabbitMQ's AMQP 1.0 address forms, so a name means the same thing
 * in every layer.
 *
 * ```
 * /queues/:queue                      the queue :queue
 * /exchanges/:exchange                the exchange :exchange, routing key '' (or the message's subject)
 * /exchanges/:exchange/:routing-key   the exchange :exchange with that routing key
 * name                                the queue `name` (no leading slash)
 * amqp[s]://[user[:password]@]host[:port]/node    a broker, and a node in one of the forms above
 * ```
 *
 * Segments are percent-decoded (`/queues/a%2Fb` is the queue `a/b`). Anything else (an empty
 * name, `/topics/...`, a bare name holding `/`, a `~` listen address, a bad escape) is an
 * `AddressError`.
 */
import { ArgumentError } from './errors.js';

/** A malformed or unsupported address. */
export class AddressError extends ArgumentError {}

/** What an address names on the broker. */
export type AddressNode =
  | {
      /** A queue: messages go to (or come from) the queue `queue`. */
      readonly kind: 'queue';
      /** The queue name, percent-decoded. */
      readonly queue: string;
    }
  | {
      /** An exchange: messages are published to `exchange` with `routingKey`. */
      readonly kind: 'exchange';
      /** The exchange name, percent-decoded (`''` is the default exchange). */
      readonly exchange: string;
      /** The routing key from the address, or undefined when the address had none (the message's subject or `''` is used). */
      readonly routingKey: string | undefined;
    };

/** An address taken apart. */
export interface ParsedAddress {
  /** The broker part, `amqp[s]://user:pass@host:port` (no path), or undefined for a bare node. */
  readonly url: string | undefined;
  /** The domain (host or host:port, or a route name) when the address had one. */
  readonly domain: string | undefined;
  /** The node the address names, or null for an address with a broker part only. */
  readonly node: AddressNode | null;
}

function decode(segment: string, address: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AddressError(`address ${JSON.stringify(address)}: bad percent-encoding in ${JSON.stringify(segment)}`);
  }
}

/**
 * The node a name designates: `/queues/q`, `/exchanges/x`, `/exchanges/x/key`, or a bare queue name.
 * @throws AddressError for an empty name, an unknown `/...` form, extra segments or a bad escape.
 */
export function parseNode(name: string): AddressNode {
  if (typeof name !== 'string') throw new AddressError(`an address must be a string, got ${typeof name}`);
  if (name.startsWith('~')) {
    throw new AddressError(`address ${JSON.stringify(name)}: '~' listen addresses are not supported (a broker client does not listen)`);
  }
  if (!name.startsWith('/')) {
    if (name === '') throw new AddressError('an address cannot be empty');
    if (name.includes('/')) {
      throw new AddressError(
        `address ${JSON.stringify(name)}: a bare queue name cannot contain '/' (percent-encode it, or write /queues/... or /exchanges/...)`,
      );
    }
    return { kind: 'queue', queue: decode(name, name) };
  }
  const parts = name.slice(1).split('/');
  const [kind, first, second, ...rest] = parts;
  if (kind === 'queues' && first !== undefined && first !== '' && second === undefined) {
    return { kind: 'queue', queue: decode(first, name) };
  }
  if (kind === 'exchanges' && first !== undefined && first !== '' && rest.length === 0) {
    return { kind: 'exchange', exchange: decode(first, name), routingKey: second === undefined ? undefined : decode(second, name) };
  }
  throw new AddressError(
    `address ${JSON.stringify(name)} is not one of /queues/:queue, /exchanges/:exchange, /exchanges/:exchange/:routing-key or a bare queue name`,
  );
}

/**
 * Takes apart `[amqp[s]://][user[:password]@]domain[/node]` or a bare node (`/queues/q`, `q`).
 * Without a scheme, a first segment holding `@`, `:` or `.`, or `localhost`, followed by `/`, is
 * read as a domain (Proton's Messenger form `host/queue`); otherwise the whole string is a node.
 * @throws AddressError for a malformed address.
 */
export function parseAddress(address: string): ParsedAddress {
  if (typeof address !== 'string') throw new AddressError(`an address must be a string, got ${typeof address}`);
  const scheme = /^(amqps?):\/\//i.exec(address);
  let rest = address;
  let prefix = 'amqp';
  if (scheme) {
    prefix = (scheme[1] as string).toLowerCase();
    rest = address.slice(scheme[0].length);
  } else if (address.startsWith('/') || address.startsWith('~') || !/^[^/]*[@:.][^/]*\/|^localhost\//i.test(address)) {
    return { url: undefined, domain: undefined, node: parseNode(address) };
  }
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  if (authority.startsWith('~') || path.startsWith('~')) {
    throw new AddressError(`address ${JSON.stringify(address)}: '~' listen addresses are not supported (a broker client does not listen)`);
  }
  const at = authority.lastIndexOf('@');
  const domain = at < 0 ? authority : authority.slice(at + 1);
  if (domain === '') throw new AddressError(`address ${JSON.stringify(address)} has no host`);
  let url: string;
  try {
    url = new URL(`${prefix}://${authority}`).href.replace(/\/$/, '');
  } catch {
    throw new AddressError(`address ${JSON.stringify(address)}: ${JSON.stringify(authority)} is not a valid host part`);
  }
  const node = path === '' ? null : parseNode(path.startsWith('queues/') || path.startsWith('exchanges/') ? `/${path}` : path);
  return { url, domain, node };
}

/** The canonical address of a node: `/queues/q`, `/exchanges/x` or `/exchanges/x/key`. */
export function formatNode(node: AddressNode): string {
  if (node.kind === 'queue') return `/queues/${encodeURIComponent(node.queue)}`;
  const base = `/exchanges/${encodeURIComponent(node.exchange)}`;
  return node.routingKey === undefined ? base : `${base}/${encodeURIComponent(node.routingKey)}`;
}
