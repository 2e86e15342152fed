/**
 * Link options (Proton's `proton.reactor` LinkOption family), applied when a link is created:
 * each sets fields of the link or its terminus that the link reads when it attaches, so users
 * write their own by extending `LinkOption`, `SenderOption` or `ReceiverOption` (e.g. a consumer
 * priority through `receiver.consumerArguments`). `test(link)` decides whether an option applies.
 *
 * AMQP 0.9.1 meaning: AtMostOnce = no publisher confirms / noAck consumer; AtLeastOnce =
 * confirms / manual acks; Move = a competing consumer on the queue (the default); Copy = receive
 * without removing (a stream queue read from an offset, or a private queue bound to an exchange);
 * DurableSubscription = a durable queue named after the container and link, bound to the exchange;
 * Selector = a headers-exchange binding (`key = 'v' [AND ...]` only); Filter = binding arguments;
 * DynamicNodeProperties = queue arguments of the queue the link declares.
 */
import type { FieldTable, StreamOffset } from '../core.js';
import { LinkOptionError, SelectorError } from './errors.js';
import type { Link } from './link.js';
import type { Receiver } from './receiver.js';
import type { Sender } from './sender.js';

/** Base class of link options. */
export abstract class LinkOption {
  /** Applies the option to a link (called once, before the link attaches). */
  abstract apply(link: Link): void;

  /** Whether the option applies to `link` (default: always). */
  test(link: Link): boolean {
    void link;
    return true;
  }
}

/** Base class of options that apply to senders only. */
export abstract class SenderOption extends LinkOption {
  /** Applies the option to a sender (called once, before it attaches). */
  abstract override apply(sender: Sender): void;

  /** Applies to senders only. */
  override test(link: Link): boolean {
    return link.kind === 'sender';
  }
}

/** Base class of options that apply to receivers only. */
export abstract class ReceiverOption extends LinkOption {
  /** Applies the option to a receiver (called once, before it attaches). */
  abstract override apply(receiver: Receiver): void;

  /** Applies to receivers only. */
  override test(link: Link): boolean {
    return link.kind === 'receiver';
  }
}

/** At-most-once: a sender publishes without confirms (pre-settled); a receiver consumes with noAck. */
export class AtMostOnce extends LinkOption {
  /** Sets the sender settle mode to `settled`. */
  apply(link: Link): void {
    link.sndSettleMode = 'settled';
  }
}

/** At-least-once (the default): a sender uses publisher confirms; a receiver acks each message. */
export class AtLeastOnce extends LinkOption {
  /** Sets the settle modes to `unsettled` / `first`. */
  apply(link: Link): void {
    link.sndSettleMode = 'unsettled';
    link.rcvSettleMode = 'first';
  }
}

/** Move (the default): the receiver is a competing consumer; each message goes to one receiver. */
export class Move extends ReceiverOption {
  /** Sets the distribution mode to `move`. */
  apply(receiver: Receiver): void {
    receiver.source.distributionMode = 'move';
  }
}

/** Options of `Copy`. */
export interface CopyOptions {
  /** Where to start reading a stream queue (default `first`). */
  offset?: StreamOffset;
  /**
   * 0.9.1 never tells a stream consumer that it reached the end: the receiver counts as caught up
   * (`onDrained`) once no message arrived for this many ms (default 500).
   */
  drainTimeout?: number;
}

/**
 * Copy: receive without removing. On a stream queue: a consumer reading from `offset` (default
 * the first message), with `onDrained` once caught up. On an exchange: a private queue bound to
 * it. A classic or quorum queue cannot be browsed over 0.9.1: the link ends with LinkOptionError.
 */
export class Copy extends ReceiverOption {
  /** The stream offset to start from. */
  readonly offset: StreamOffset;
  /** Quiet time (ms) after which a stream counts as drained. */
  readonly drainTimeout: number;

  /** @throws LinkOptionError for a bad offset or drainTimeout. */
  constructor(options: CopyOptions = {}) {
    super();
    const o = options.offset ?? 'first';
    const okOffset =
      o === 'first' || o === 'last' || o === 'next' || (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) || o instanceof Date;
    if (!okOffset)
      throw new LinkOptionError(`Copy: offset must be 'first', 'last', 'next', a non-negative integer or a Date, got ${String(o)}`);
    const t = options.drainTimeout ?? 500;
    if (!(typeof t === 'number' && t > 0 && Number.isFinite(t)))
      throw new LinkOptionError(`Copy: drainTimeout must be a positive number of ms, got ${String(t)}`);
    this.offset = o;
    this.drainTimeout = t;
  }

  /** Sets the distribution mode to `copy` and the stream offset. */
  apply(receiver: Receiver): void {
    receiver.source.distributionMode = 'copy';
    receiver.streamOffset = this.offset;
    receiver.drainTimeout = this.drainTimeout;
  }
}

/**
 * DurableSubscription: on an exchange address, a durable queue named `<container id>:<link name>`,
 * bound to the exchange, kept while the receiver is away and reused when it comes back.
 * `receiver.detach()` keeps the queue, `receiver.close()` deletes it. Give the container an `id`
 * and the receiver a `name` that stay the same across runs.
 */
export class DurableSubscription extends ReceiverOption {
  /** Sets the source durability to `deliveries` and its expiry policy to `never`. */
  apply(receiver: Receiver): void {
    receiver.source.durable = 'deliveries';
    receiver.source.expiryPolicy = 'never';
  }
}

/** Filter: binding arguments for the queue a receiver binds to its exchange address. */
export class Filter extends ReceiverOption {
  /** The binding arguments. */
  readonly filterSet: FieldTable;

  /** @param filterSet - binding arguments, e.g. `{ 'x-match': 'any', colour: 'red' }` for a headers exchange. */
  constructor(filterSet: FieldTable = {}) {
    super();
    if (filterSet === null || typeof filterSet !== 'object' || Array.isArray(filterSet)) {
      throw new LinkOptionError('Filter: the filter set must be an object of binding arguments');
    }
    this.filterSet = { ...filterSet };
  }

  /** Merges the filter set into the source's filter (binding arguments). */
  apply(receiver: Receiver): void {
    receiver.source.filter = { ...receiver.source.filter, ...this.filterSet };
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$.-]*/;

/**
 * Parses the supported selector subset, `key = 'value' [AND key = 'value' ...]` (AND in any case,
 * `''` inside a value for a quote), into headers-binding arguments with `x-match: all`.
 * @throws SelectorError for anything else, naming what was expected where.
 */
export function parseSelector(text: string): FieldTable {
  if (typeof text !== 'string') throw new SelectorError(`a selector must be a string, got ${typeof text}`);
  const out: FieldTable = { 'x-match': 'all' };
  let rest = text.trim();
  const fail = (what: string): never => {
    throw new SelectorError(
      `unsupported selector ${JSON.stringify(text)}: expected ${what} at ${JSON.stringify(rest.slice(0, 20) || '<end>')}; ` +
        `only key = 'value' [AND key = 'value' ...] is supported (a headers-exchange binding)`,
    );
  };
  if (rest === '') fail('a key');
  for (;;) {
    const key = IDENT.exec(rest)?.[0];
    if (key === undefined || /^(and|or|not|like|in|is|between)$/i.test(key)) return fail('a key');
    if (key.toLowerCase().startsWith('x-')) fail(`a key not starting with 'x-' (reserved by RabbitMQ)`);
    rest = rest.slice(key.length).trimStart();
    if (!rest.startsWith('=') || rest.startsWith('==')) fail(`'='`);
    rest = rest.slice(1).trimStart();
    const lit = /^'((?:[^']|'')*)'/.exec(rest);
    if (!lit) return fail('a quoted string value');
    const value = (lit[1] as string).replace(/''/g, "'");
    if (key in out && out[key] !== value) fail(`one value per key ('${key}' is already '${String(out[key])}')`);
    out[key] = value;
    rest = rest.slice(lit[0].length).trimStart();
    if (rest === '') return out;
    const and = /^and\s+/i.exec(rest);
    if (!and) return fail(`AND or the end`);
    rest = rest.slice(and[0].length);
  }
}

/**
 * Selector: Proton's message selector, supported as `key = 'value' [AND key = 'value' ...]` on
 * the message's application headers, carried out by binding the receiver's private queue to a
 * headers exchange (the address must name one) with `x-match: all`.
 */
export class Selector extends Filter {
  /** The selector text. */
  readonly value: string;
  /** The filter name (Proton's; informational). */
  readonly name: string;

  /** @throws SelectorError when `value` is outside the supported subset. */
  constructor(value: string, name = 'selector') {
    super(parseSelector(value));
    this.value = value;
    this.name = name;
  }

  /** Sets the source's selector and merges its binding arguments into the filter. */
  override apply(receiver: Receiver): void {
    super.apply(receiver);
    receiver.source.selector = this.value;
  }
}

/**
 * DynamicNodeProperties: arguments of the queue the link declares. On a dynamic receiver, its
 * server-named queue; with Copy, DurableSubscription or a Selector on an exchange, the queue bound
 * to it; on a plain queue address, the queue is declared (durable) with these arguments instead
 * of only being checked, so it is created when missing.
 */
export class DynamicNodeProperties extends LinkOption {
  /** The queue arguments. */
  readonly properties: FieldTable;

  /** @param props - queue arguments, e.g. `{ 'x-queue-type': 'quorum' }`. */
  constructor(props: FieldTable = {}) {
    super();
    if (props === null || typeof props !== 'object' || Array.isArray(props)) {
      throw new LinkOptionError('DynamicNodeProperties: the properties must be an object of queue arguments');
    }
    this.properties = { ...props };
  }

  /** Sets the node properties of the receiver's source or the sender's target. */
  apply(link: Link): void {
    const t = link.kind === 'receiver' ? link.source : link.target;
    t.properties = { ...t.properties, ...this.properties };
  }
}

/** Applies `options` (one or a list) to `link`, each only if its `test()` passes. */
export function applyOptions(link: Link, options: LinkOption | readonly LinkOption[] | undefined): void {
  if (options === undefined) return;
  const list = Array.isArray(options) ? options : [options as LinkOption];
  for (const o of list) {
    if (!(o instanceof LinkOption)) throw new LinkOptionError(`link options must be LinkOption instances, got ${typeof o}`);
    if (o.test(link)) o.apply(link);
  }
}
