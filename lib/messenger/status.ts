/**
 * Tracker statuses: Proton's `pn_status_t` as string constants, with what each means on AMQP
 * 0.9.1 (publisher confirms, nacks, returns; acks and rejects of deliveries).
 */

/** The status of a delivery, as `Messenger.status(tracker)` reports it. */
export const TrackerStatus = {
  /** Not tracked: outside the tracking window, settled with `settle()`, or never tracked. */
  UNKNOWN: 'UNKNOWN',
  /** Outgoing: queued or published, no confirm yet. Incoming: taken with `get()`, not yet accepted or rejected. */
  PENDING: 'PENDING',
  /** Outgoing: the broker confirmed it (basic.ack). Incoming: accepted (basic.ack sent). */
  ACCEPTED: 'ACCEPTED',
  /**
   * Outgoing: the broker nacked it (basic.nack, e.g. a full queue with `x-overflow: reject-publish`),
   * or refused it before publishing (its exchange does not exist). Incoming: rejected (basic.reject
   * without requeue: dropped or dead-lettered).
   */
  REJECTED: 'REJECTED',
  /**
   * Outgoing: a mandatory message the broker returned as unroutable (basic.return; RabbitMQ acks a
   * returned message after the return, and RELEASED wins). Incoming: its channel or connection
   * closed before it was settled, so the broker took it back and will deliver it again.
   */
  RELEASED: 'RELEASED',
  /** Proton's MODIFIED outcome. AMQP 0.9.1 has no such outcome: amqpts never reports it. */
  MODIFIED: 'MODIFIED',
  /** Proton's ABORTED (a message dropped from the outgoing queue unsent). amqpts never reports it on 0.9.1: unsent messages stay queued. */
  ABORTED: 'ABORTED',
  /**
   * Outgoing: settled without a known outcome: its connection closed for good (or the Messenger
   * stopped) before the broker's confirm came; the message may or may not have arrived.
   */
  SETTLED: 'SETTLED',
} as const;

/** One of the `TrackerStatus` values. */
export type TrackerStatus = (typeof TrackerStatus)[keyof typeof TrackerStatus];
