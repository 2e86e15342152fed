/**
 * What a connection's parts share: its lifecycle state, negotiated values, live transport, read
 * hints, channel table, recorded topology and outage publish buffer. The channels see it as their
 * ChannelHost, channel 0 reads it, and the Connection (the public object) writes it. One plain
 * object per connection, with its methods on the prototype: an idle connection holds no closures.
 */
import type { ChannelHost } from '../channel/types.js';
import type { AMQPError } from '../errors.js';
import type { FieldTable } from '../protocol/primitives.js';
import { Topology } from '../recovery/topology.js';
import { StatsCounters } from '../stats.js';
import type { ReadHints, Transport } from '../transport/transport.js';
import type { Deferred } from '../util/wait.js';
import { ChannelTable } from './channel-table.js';
import type { ConnectionState } from './events.js';
import type { ResolvedOptions } from './options.js';

/** See the file header. */
export class SharedState implements ChannelHost {
  /** The lifecycle state. */
  state: ConnectionState = 'connecting';
  /** The live transport, or null while disconnected. */
  transport: Transport | null = null;
  /** The endpoint of the current (or last) transport. */
  current: ResolvedOptions;
  /** Negotiated values (0 until the handshake). */
  frameMax = 0;
  channelMax = 0;
  heartbeat = 0;
  /** The server's connection.start properties. */
  serverProperties: FieldTable = {};
  /** True while the broker blocks publishing. */
  blocked = false;
  blockedReason = '';
  /** The error the connection died of, once it is closed. */
  closeError: AMQPError | null = null;
  readonly hints: ReadHints = { streaming: 0, latencyBound: 0, bytesIn: 0, bytesOut: 0 };
  /** The counters `conn.stats()` reads (bytes are in `hints`, kept by the transport). */
  readonly stats = new StatsCounters();
  readonly topology = new Topology();
  readonly channels = new ChannelTable();
  /** Callers of `drainEvents()` waiting for the next inbound event (null: none). */
  eventWaiters: Deferred<void>[] | null = null;
  private outageBytes = 0;

  constructor(
    /** The public Connection (diagnostics payloads, instrumentation hooks). */
    readonly connection: object,
    current: ResolvedOptions,
    readonly callTimeout: number,
    readonly republish: boolean,
    private readonly outageLimit: number,
  ) {
    this.current = current;
  }

  /** True while the connection is reconnecting after a loss. */
  get recovering(): boolean {
    return this.state === 'recovering';
  }

  /** The broker the connection is on. */
  get endpoint(): { readonly host: string; readonly port: number } {
    return this.current;
  }

  /** The largest body the server may announce. */
  get maxMessageSize(): number {
    return this.current.maxMessageSize;
  }

  /** A channel closed for good: its id is free. */
  releaseChannel(id: number): void {
    this.channels.release(id);
  }

  /** An inbound event was dispatched: wake `drainEvents()` callers. */
  eventDispatched(): void {
    const ws = this.eventWaiters;
    if (ws === null) return;
    this.eventWaiters = null;
    for (const d of ws) d.resolve();
  }

  /** Settles every `drainEvents()` caller with `err`. */
  failEventWaiters(err: AMQPError): void {
    const ws = this.eventWaiters;
    this.eventWaiters = null;
    if (ws !== null) for (const d of ws) d.reject(err);
  }

  /** Consumers on `queue` across all channels. */
  consumerCount(queue: string): number {
    return this.channels.consumersOn(queue);
  }

  /** Takes `bytes` of the outage publish buffer; false when it is full. */
  reserveOutage(bytes: number): boolean {
    if (this.outageBytes + bytes > this.outageLimit) return false;
    this.outageBytes += bytes;
    return true;
  }

  /** Gives back what reserveOutage took. */
  releaseOutage(bytes: number): void {
    this.outageBytes -= bytes;
  }
}
