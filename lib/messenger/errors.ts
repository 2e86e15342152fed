/**
 * Errors of the Messenger layer: a blocking call ended by `interrupt()` or `stop()`, a call the
 * Messenger's state does not allow, and a tracker it does not own.
 */
import { AMQPError, ArgumentError } from '../core.js';

/** A blocking call (`send`, `recv`, `work`) was ended by `interrupt()` or by `stop()`. */
export class MessengerInterrupted extends AMQPError {}

/** The call is not allowed in the Messenger's state (e.g. `send()` before `start()`, `recv()` without subscriptions); nothing was sent. */
export class MessengerStateError extends ArgumentError {}

/** A tracker from another Messenger, or of the wrong direction for the call (e.g. `accept()` of an outgoing tracker). */
export class TrackerError extends ArgumentError {}
