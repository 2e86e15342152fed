/**
 * What a link's address means on AMQP 0.9.1, and the checks that hold a link to "an address names
 * what exists": passive declares of the queue or exchange (404 becomes NodeNotFound with a clear
 * message), the declare a DynamicNodeProperties option asks for, where a message goes (exchange +
 * routing key), and whether a queue is a stream (for Copy), found by re-declaring it as one.
 */
import {
  type AddressNode,
  ArgumentError,
  type Channel,
  type Connection,
  type FieldTable,
  type FieldValue,
  NotFound,
  PreconditionFailed,
  Typed,
  parseNode,
} from '../core.js';
import { LinkOptionError, NodeNotFound, messageOf } from './errors.js';

/** Where a message is published: exchange and routing key (undefined: take the message's subject). */
export interface Route {
  readonly exchange: string;
  readonly routingKey: string | undefined;
}

/** The node of a source or target address (`/exchanges/amq.default` is the default exchange ''). */
export function nodeOf(address: string): AddressNode {
  const node = parseNode(address);
  if (node.kind === 'exchange' && node.exchange === 'amq.default') return { ...node, exchange: '' };
  return node;
}

/** The route of messages sent to `node`. */
export function routeTo(node: AddressNode): Route {
  return node.kind === 'queue' ? { exchange: '', routingKey: node.queue } : { exchange: node.exchange, routingKey: node.routingKey };
}

/** A short description of a node for messages: `queue 'q'`, `exchange 'x'`. */
export function describeNode(node: AddressNode): string {
  return node.kind === 'queue' ? `queue '${node.queue}'` : `exchange '${node.exchange}'`;
}

function notFound(err: unknown, what: string, hint: string): unknown {
  if (!(err instanceof NotFound)) return err;
  return new NodeNotFound(`the ${what} does not exist: an address names what exists (${hint})`, {
    replyCode: 404,
    replyText: err.replyText,
    channelId: err.channelId,
    methodName: err.methodName,
    cause: err,
  });
}

/**
 * Checks that queue `queue` exists (passive declare), or declares it durable with `properties`
 * (DynamicNodeProperties) when given.
 * @throws NodeNotFound when it does not exist; the broker's error otherwise (405, 406...).
 */
export async function checkQueue(ch: Channel, queue: string, properties: FieldTable | undefined): Promise<void> {
  try {
    if (properties) await ch.queueDeclare(queue, { durable: true, arguments: properties });
    else await ch.queueDeclare(queue, { passive: true });
  } catch (err) {
    throw notFound(err, `queue '${queue}'`, 'declare it first, or pass DynamicNodeProperties to have the link declare it');
  }
}

/**
 * Checks that exchange `exchange` exists (passive declare; the default exchange always does).
 * @throws NodeNotFound when it does not exist.
 */
export async function checkExchange(ch: Channel, exchange: string): Promise<void> {
  if (exchange === '') return;
  try {
    await ch.exchangeDeclare(exchange, 'direct', { passive: true });
  } catch (err) {
    throw notFound(err, `exchange '${exchange}'`, 'declare it first');
  }
}

// RabbitMQ's 406 text for an inequivalent queue argument, e.g. "inequivalent arg 'x-max-age' for
// queue 'q' in vhost '/': received none but current is the value '1D' of type 'longstr'".
const INEQUIVALENT = /inequivalent arg '([^']+)'[^:]*: received (.*) but current is (.*)$/;
const VALUE = /^the value '(.*)' of type '([a-z]+)'$/;

function typedValue(raw: string, type: string): FieldValue | undefined {
  switch (type) {
    case 'longstr':
      return raw;
    case 'bool':
      return raw === 'true';
    case 'signedint':
      return new Typed('I', Number(raw));
    case 'long':
      return new Typed('l', Number(raw));
    case 'short':
      return new Typed('s', Number(raw));
    case 'byte':
      return new Typed('b', Number(raw));
    case 'double':
      return new Typed('d', Number(raw));
    case 'float':
      return new Typed('f', Number(raw));
    default:
      return undefined;
  }
}

/**
 * Finds out whether `queue` (which exists) is a stream. 0.9.1 cannot ask a queue's type, so this
 * re-declares it, durable, as `x-queue-type: stream` on a channel of its own: the broker accepts
 * that only for a stream with exactly those arguments, and otherwise names the first argument
 * that differs and its current value. A different `x-queue-type` (or durability) settles it;
 * another argument is adopted and the declare retried. Nothing is created or changed.
 * @throws LinkOptionError when the queue is not a stream (naming its type), or cannot be told apart.
 */
export async function requireStream(conn: Connection, queue: string, timeout: number): Promise<void> {
  const ch = await conn.channel(undefined, { timeout });
  const args: FieldTable = { 'x-queue-type': 'stream' };
  const notStream = (what: string): LinkOptionError =>
    new LinkOptionError(
      `Copy on queue '${queue}': ${what}, and AMQP 0.9.1 has no way to browse a classic or quorum queue; Copy needs a stream queue (or an exchange address)`,
    );
  let adopted: string | undefined;
  try {
    for (let i = 0; i < 12; i++) {
      try {
        await ch.queueDeclare(queue, { durable: true, arguments: args, timeout });
        return;
      } catch (err) {
        // the core refuses, before sending, a stream declared with an argument streams do not take
        if (err instanceof ArgumentError && adopted !== undefined)
          throw notStream(`it has the argument '${adopted}', which a stream queue does not take`);
        if (!(err instanceof PreconditionFailed)) throw err;
        const m = INEQUIVALENT.exec(err.replyText);
        if (!m) throw notStream(`the broker refused to confirm it is a stream (${messageOf(err)})`);
        const [, key, , current] = m as unknown as [string, string, string, string];
        if (key === 'x-queue-type') {
          const v = VALUE.exec(current) ?? /^'(.*)'$/.exec(current);
          throw notStream(`it is a ${v?.[1] ?? 'classic'} queue`);
        }
        if (key === 'durable' || key === 'exclusive' || key === 'auto_delete')
          throw notStream(`it is a classic queue (a stream is durable, never exclusive or auto-delete; ${key} differs)`);
        const v = VALUE.exec(current);
        const value = v ? typedValue(v[1] as string, v[2] as string) : undefined;
        if (value === undefined) throw notStream(`its argument '${key}' (${current}) cannot be matched to tell its type`);
        args[key] = value;
        adopted = key;
      }
    }
    throw notStream('its arguments could not be matched to tell its type');
  } finally {
    await ch.close({ timeout }).catch(() => undefined);
  }
}
