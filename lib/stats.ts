/**
 * Connection statistics: the counters `conn.stats()` snapshots. They are plain numbers kept on
 * the paths that already run (a publish, a confirm, a delivery, a settle, a socket read or write),
 * per Connection object for its whole lifetime: a recovery does not reset them.
 */

/** A snapshot of a connection's counters (`conn.stats()`), counted since it was created. */
export interface ConnectionStats {
  /** Messages handed to the socket by basicPublish (republishing after a recovery not included). */
  readonly published: number;
  /** Publishes the broker acked (confirm mode; a returned mandatory message is acked too). */
  readonly confirmed: number;
  /** Publishes the broker nacked (confirm mode). */
  readonly nacked: number;
  /** Messages the broker returned as unroutable (basic.return). */
  readonly returned: number;
  /** Messages received: deliveries to consumers and messages got with basicGet. */
  readonly delivered: number;
  /** Acks the user gave (by message or by tag; a `multiple` ack counts once). */
  readonly acked: number;
  /** Nacks and rejects the user gave (a `multiple` nack counts once). */
  readonly rejected: number;
  /** Bytes read from the broker (frames, heartbeats and the handshake included). */
  readonly bytesIn: number;
  /** Bytes written to the broker. */
  readonly bytesOut: number;
  /** Completed recoveries after a lost connection. */
  readonly recoveries: number;
  /** Channels open now. */
  readonly channelsOpen: number;
}

/** @internal The live counters of one connection (bytes live in the transport's hints). */
export class StatsCounters {
  published = 0;
  confirmed = 0;
  nacked = 0;
  returned = 0;
  delivered = 0;
  acked = 0;
  rejected = 0;
  recoveries = 0;

  /** A frozen snapshot, with the byte counters and open channels the connection adds. */
  snapshot(bytesIn: number, bytesOut: number, channelsOpen: number): ConnectionStats {
    return Object.freeze({
      published: this.published,
      confirmed: this.confirmed,
      nacked: this.nacked,
      returned: this.returned,
      delivered: this.delivered,
      acked: this.acked,
      rejected: this.rejected,
      bytesIn,
      bytesOut,
      recoveries: this.recoveries,
      channelsOpen,
    });
  }
}
