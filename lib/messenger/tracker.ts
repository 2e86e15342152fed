/**
 * Trackers (Proton's `pn_tracker_t`: which delivery a status belongs to) and Subscriptions (what
 * `subscribe()` returns). A tracker remembers the Messenger that made it, so another Messenger
 * refuses it.
 */
import type { AddressNode, Message } from '../core.js';

const owners = new WeakMap<Tracker, object>();

/** The Messenger that made `t` (undefined for a tracker made some other way). */
export function trackerOwner(t: Tracker): object | undefined {
  return owners.get(t);
}

/** Identifies one outgoing (`put`) or incoming (`get`) delivery of a Messenger. */
export class Tracker {
  /** `outgoing` for a tracker from `put()`, `incoming` for one from `get()`. */
  readonly direction: 'outgoing' | 'incoming';
  /** Its sequence number, counting from 0 per direction and Messenger. */
  readonly sequence: number;
  /** For an incoming tracker, the message `get()` filled in; undefined for outgoing trackers. */
  readonly message: Message | undefined;

  /** Trackers come from `Messenger.put()` and `Messenger.get()`. */
  constructor(owner: object, direction: 'outgoing' | 'incoming', sequence: number, message?: Message) {
    owners.set(this, owner);
    this.direction = direction;
    this.sequence = sequence;
    this.message = message;
  }
}

/** A source the Messenger receives from (`Messenger.subscribe()`). */
export class Subscription {
  /** The source address as given to `subscribe()`. */
  readonly address: string;
  /** The broker (after routing): `amqp[s]://[user[:password]@]host[:port]`. */
  readonly url: string;
  /** The node it consumes (an exchange gets a private queue bound to it). */
  readonly node: AddressNode;

  /** Subscriptions come from `Messenger.subscribe()`. */
  constructor(address: string, url: string, node: AddressNode) {
    this.address = address;
    this.url = url;
    this.node = node;
  }
}
