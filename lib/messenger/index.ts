/**
 * Qpid Proton's Messenger on AMQP 0.9.1: one outgoing and one incoming queue of addressed
 * messages, trackers and their statuses, tracking windows, route and rewrite rules.
 */
export { ADDRESS_HEADER } from './copy.js';
export { MessengerInterrupted, MessengerStateError, TrackerError } from './errors.js';
export { AUTO_CREDIT, Messenger, type MessengerOptions } from './messenger.js';
export { TrackerStatus } from './status.js';
export { Subscription, Tracker } from './tracker.js';
