/**
 * Reconnecting a lost connection: the loop that tries the broker URLs round-robin under the
 * backoff strategy, and the restore that follows each successful connect (re-declare the recorded
 * topology on a temporary channel, then recover every channel with its id, prefetch, mode and
 * consumers). The connection drives both through the narrow interfaces below; nothing here knows
 * the connection's internals.
 *
 * Errors that retrying cannot fix (403 AccessRefused, 530 NotAllowed, 402 InvalidPath, a bad
 * argument) end the loop: the connection then closes for good with that error.
 */
import {
  AccessRefused,
  type AMQPError,
  ArgumentError,
  InternalError,
  InvalidPath,
  NotAllowed,
  RecoverableConnectionError,
} from '../errors.js';
import type { Channel } from '../channel/channel.js';
import type { ChannelPort, TopologyEntity } from '../channel/types.js';
import type { ReconnectStrategy } from './backoff.js';
import { restoreTopology } from './restore-topology.js';
import type { Topology } from './topology.js';

/**
 * Whether a connection that ended with `err` is worth reconnecting (when recovery is on): every
 * RecoverableConnectionError (a lost socket, 320 ConnectionForced, ...), and 541 InternalError,
 * which is how RabbitMQ closes connections when a node fails under them (for example a node
 * stopped while publishing to quorum queues): another node, or the same one once it is back, can
 * serve. InternalError stays an IrrecoverableConnectionError, as in amqpy, for code that catches
 * it; only this decision differs.
 */
export function startsRecovery(err: unknown): boolean {
  return err instanceof RecoverableConnectionError || err instanceof InternalError;
}

/** Whether reconnecting can never cure `err`. */
export function isFatal(err: unknown): boolean {
  return err instanceof AccessRefused || err instanceof NotAllowed || err instanceof InvalidPath || err instanceof ArgumentError;
}

/** What the loop needs from the connection it reconnects. */
export interface ReconnectTarget {
  /** True while the connection is recovering (false once `close()` was called, or it failed). */
  readonly recovering: boolean;
  /** The next broker to try: its description (no password) and how to connect to it. */
  nextEndpoint(): { url: string; connect(): Promise<void> };
  /** Restores topology and channels on the new transport; false if the transport died meanwhile. */
  restore(): Promise<boolean>;
  /** Waits `ms`, or less if the connection is closed meanwhile. */
  sleep(ms: number): Promise<void>;
  /** A reconnect attempt is about to start. */
  attempting(info: { attempt: number; delay: number; url: string }): void;
  /** Connected and restored. */
  recovered(info: { attempts: number; downtimeMs: number; url: string }): void;
  /** Connected while no longer recovering (`close()` won the race): drop the new transport. */
  abandon(): void;
  /** An error retrying cannot fix: recovery ends, the connection closes with it. */
  giveUp(err: AMQPError): void;
}

/** Runs reconnect attempts until one connects and restores, the connection closes, or an error is fatal. */
export async function reconnect(target: ReconnectTarget, strategy: ReconnectStrategy, since: number): Promise<void> {
  for (let attempt = 1; target.recovering; attempt++) {
    const delay = Math.max(0, strategy.next());
    const ep = target.nextEndpoint();
    target.attempting({ attempt, delay, url: ep.url });
    if (delay > 0) await target.sleep(delay);
    if (!target.recovering) return;
    try {
      await ep.connect();
      if (!target.recovering) {
        target.abandon();
        return;
      }
      if (!(await target.restore())) continue;
    } catch (err) {
      if (!target.recovering) return;
      if (isFatal(err)) {
        target.giveUp(err as AMQPError);
        return;
      }
      continue;
    }
    strategy.reset();
    target.recovered({ attempts: attempt, downtimeMs: Date.now() - since, url: ep.url });
    return;
  }
}

/** What restoring a reconnected connection needs. */
export interface RestoreTarget {
  readonly topology: Topology;
  /** Opens a temporary channel on the new transport (for re-declaring topology). */
  openChannel(): Promise<Channel>;
  /** The channels to recover, in id order. */
  ports(): ChannelPort[];
  /** Whether the new transport is still alive. */
  alive(): boolean;
  /** One recorded entity could not be re-declared; the rest goes on. */
  entityFailed(entity: TopologyEntity, error: AMQPError): void;
}

/** Re-declares the topology on a temporary channel, then recovers every channel. */
export async function restoreConnection(t: RestoreTarget): Promise<boolean> {
  if (t.topology.entities().length > 0) {
    const tmp = await t.openChannel();
    try {
      await restoreTopology(
        tmp,
        t.topology,
        (entity, error) => t.entityFailed(entity, error),
        (oldName, newName) => {
          for (const p of t.ports()) p.renameConsumerQueue(oldName, newName);
        },
      );
    } finally {
      await tmp.close().catch(() => undefined);
    }
  }
  for (const p of t.ports()) {
    if (!(await p.recover()) && !t.alive()) return false;
  }
  return t.alive();
}
