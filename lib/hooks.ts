/**
 * @internal The instrumentation hooks in force, as the publish and dispatch paths read them. The
 * public side (what a hook sees, `instrument()`) is lib/instrumentation.ts; this leaf names the
 * connection and channel loosely so that the channel code importing it imports nothing above it.
 */
import type { BasicProperties } from './protocol/generated/properties.js';

/** @internal What the publish path hands a publish hook (lib/instrumentation.ts types it for users). */
export interface PublishInfo {
  readonly connection: unknown;
  readonly channel: unknown;
  readonly exchange: string;
  readonly routingKey: string;
  readonly properties: BasicProperties;
  readonly bodySize: number;
  readonly serverAddress: string;
  readonly serverPort: number;
}

/** @internal What the dispatch path hands a consume hook. */
export interface ConsumeInfo {
  readonly connection: unknown;
  readonly channel: unknown;
  readonly message: unknown;
  readonly queue: string;
  readonly consumerTag: string;
  readonly serverAddress: string;
  readonly serverPort: number;
}

/** @internal A composed publish hook. */
export type PublishHookFn = (info: PublishInfo, send: (properties: BasicProperties) => Promise<void>) => Promise<void>;
/** @internal A composed consume hook. */
export type ConsumeHookFn = (info: ConsumeInfo, run: () => void | Promise<void>) => void | Promise<void>;

/** @internal The hooks in force (composed by `instrument()`), read on the hot paths. */
export const hooks: { publish: PublishHookFn | null; consume: ConsumeHookFn | null } = { publish: null, consume: null };
