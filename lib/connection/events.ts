/** The connection's public state and the events it emits (see connection.ts). */
import type { AMQPError } from '../errors.js';
import type { TopologyEntity } from '../recovery/topology.js';

/** The connection's lifecycle state. */
export type ConnectionState = 'connecting' | 'open' | 'recovering' | 'closing' | 'closed';

/** Events a connection emits. It never emits 'error'. */
export interface ConnectionEvents {
  /** Closed for good: `err` is undefined after a clean `close()`, else the typed cause. */
  close: [err: AMQPError | undefined];
  /** The broker blocked publishing (memory or disk alarm). */
  blocked: [reason: string];
  /** The broker unblocked publishing. */
  unblocked: [];
  /** The connection was lost and is recovering; `err` is the typed cause. */
  disconnected: [err: AMQPError];
  /** A reconnect attempt is about to start after `delay` ms, to `url` (password hidden). */
  reconnecting: [
    info: {
      /** 1 for the first attempt of this recovery, then 2, 3... */
      attempt: number;
      /** Milliseconds the connection waits before this attempt (from the reconnect strategy). */
      delay: number;
      /** The broker this attempt goes to, without the password. */
      url: string;
    },
  ];
  /** Recovery completed: topology, channels and consumers are back. */
  recovered: [
    info: {
      /** Reconnect attempts this recovery took. */
      attempts: number;
      /** Milliseconds from the loss to the end of the recovery. */
      downtimeMs: number;
      /** The broker the connection is now on, without the password. */
      url: string;
    },
  ];
  /** Recovery gave up (an error retrying cannot fix); 'close' follows with the same error. */
  recoveryFailed: [err: AMQPError];
  /** One recorded entity could not be re-declared during recovery; the rest went on. */
  recoveryError: [
    info: {
      /** The exchange, queue or binding that could not be re-declared. */
      entity: TopologyEntity;
      /** The broker's error for it (e.g. PreconditionFailed, AccessRefused). */
      error: AMQPError;
    },
  ];
}
