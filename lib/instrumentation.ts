/**
 * Instrumentation hooks: the core's public API for tracing libraries (amqpts/otel is built on it).
 * Diagnostics channels only observe; a tracer must also run code *around* a consumer callback (so
 * its span is the active context while the callback runs, and publishes made from the callback
 * become its children) and *change* what a publish sends (trace context headers). `instrument()`
 * registers such hooks process-wide. With none registered, the publish and dispatch paths test one
 * variable and allocate nothing.
 *
 * Hooks run on every publish and delivery: they must call their continuation exactly once and
 * return what it returns (or a promise that settles like it).
 */
import type { Channel } from './channel/channel.js';
import type { ReceivedMessage } from './channel/types.js';
import type { Connection } from './connection/connection.js';
import type { BasicProperties } from './protocol/generated/properties.js';
import { type ConsumeHookFn, hooks, type PublishHookFn } from './hooks.js';

/** What a publish hook sees of a publish. */
export interface PublishHookInfo {
  /** The connection. */
  readonly connection: Connection;
  /** The channel published on. */
  readonly channel: Channel;
  /** The exchange (`''`: the default exchange). */
  readonly exchange: string;
  /** The routing key. */
  readonly routingKey: string;
  /** The user's properties: never modify them; pass changed copies to `send`. */
  readonly properties: BasicProperties;
  /** The body's size in bytes. */
  readonly bodySize: number;
  /** The host of the broker the connection is on. */
  readonly serverAddress: string;
  /** The port of the broker the connection is on. */
  readonly serverPort: number;
}

/** What a consume hook sees of a delivery to a consumer. */
export interface ConsumeHookInfo {
  /** The connection. */
  readonly connection: Connection;
  /** The channel it arrived on. */
  readonly channel: Channel;
  /** The message handed to the callback. */
  readonly message: ReceivedMessage;
  /** The queue the consumer consumes. */
  readonly queue: string;
  /** The consumer's tag. */
  readonly consumerTag: string;
  /** The host of the broker the connection is on. */
  readonly serverAddress: string;
  /** The port of the broker the connection is on. */
  readonly serverPort: number;
}

/** Hooks a tracing library registers with `instrument()`. */
export interface InstrumentationHooks {
  /**
   * Runs around every basicPublish: call `send(properties)` once, with `info.properties` or a
   * copy with changed headers, and return its promise (or one that settles like it). Whatever
   * it returns is what basicPublish returns.
   */
  publish?(info: PublishHookInfo, send: (properties: BasicProperties) => Promise<void>): Promise<void>;
  /**
   * Runs around every consumer callback: call `run()` once and return what it returns (a
   * promise for an async callback: return one that settles like it). A throw or rejection is the
   * callback's failure ('callbackError').
   */
  consume?(info: ConsumeHookInfo, run: () => void | Promise<void>): void | Promise<void>;
}

type PublishHook = NonNullable<InstrumentationHooks['publish']>;
type ConsumeHook = NonNullable<InstrumentationHooks['consume']>;

const registered: InstrumentationHooks[] = [];

function wrapPublish(h: InstrumentationHooks, p: PublishHook, inner: PublishHook | null): PublishHook {
  if (inner === null) return (info, send) => p.call(h, info, send);
  return (info, send) => p.call(h, info, (props) => inner({ ...info, properties: props }, send));
}

function wrapConsume(h: InstrumentationHooks, c: ConsumeHook, inner: ConsumeHook | null): ConsumeHook {
  if (inner === null) return (info, run) => c.call(h, info, run);
  return (info, run) => c.call(h, info, () => inner(info, run));
}

function compose(): void {
  let publish: PublishHook | null = null;
  let consume: ConsumeHook | null = null;
  for (let i = registered.length - 1; i >= 0; i--) {
    const h = registered[i] as InstrumentationHooks;
    if (h.publish) publish = wrapPublish(h, h.publish, publish);
    if (h.consume) consume = wrapConsume(h, h.consume, consume);
  }
  // the hot paths see the connection and channel as `unknown` (lib/hooks.ts); they are these types
  hooks.publish = publish as PublishHookFn | null;
  hooks.consume = consume as ConsumeHookFn | null;
}

/**
 * Registers instrumentation hooks for every connection of this process (see
 * {@link InstrumentationHooks}). Hooks registered first run outermost.
 * @returns a function that unregisters them (calling it again does nothing).
 * @throws nothing; a hook that throws makes that publish reject, or that callback fail.
 */
export function instrument(h: InstrumentationHooks): () => void {
  registered.push(h);
  compose();
  return () => {
    const i = registered.indexOf(h);
    if (i < 0) return;
    registered.splice(i, 1);
    compose();
  };
}
