/**
 * @internal Publishing on amqpts' diagnostics channels: the channel names, the channel objects and
 * the helpers the channel and connection code calls (after testing `hasSubscribers`). The payload
 * types users see are in lib/diagnostics.ts; this leaf names the connection and channel loosely so
 * that the code calling it imports nothing above it.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { AMQPError } from './errors.js';
import type { BasicProperties } from './protocol/generated/properties.js';

/** The names of amqpts' diagnostics channels: subscribe with `diagnostics_channel.subscribe(name, fn)`. */
export const DIAGNOSTICS_CHANNELS = {
  /** Payload: {@link PublishDiagnostic}. */
  publish: 'amqpts:publish',
  /** Payload: {@link ConfirmDiagnostic}. */
  confirm: 'amqpts:confirm',
  /** Payload: {@link ReturnDiagnostic}. */
  return: 'amqpts:return',
  /** Payload: {@link DeliverDiagnostic}. */
  deliver: 'amqpts:deliver',
  /** Payload: {@link SettleDiagnostic}. */
  settle: 'amqpts:settle',
  /** Payload: {@link ConnectionDiagnostic}. */
  connection: 'amqpts:connection',
  /** Payload: {@link RecoveryDiagnostic}. */
  recovery: 'amqpts:recovery',
} as const;

/** @internal `amqpts:connection` states: the same list as the public ConnectionDiagnosticState (diagnostics.ts). */
export type ConnectionState = 'open' | 'blocked' | 'unblocked' | 'lost' | 'recovering' | 'recovered' | 'closed';
/** @internal `amqpts:recovery` phases: the same list as RecoveryDiagnostic['phase'] (diagnostics.ts). */
export type RecoveryPhase = 'attempt' | 'entityFailed' | 'recovered' | 'failed';

/** @internal The channel objects: call sites test `hasSubscribers` before calling a helper below. */
export const diag = {
  publish: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.publish),
  confirm: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.confirm),
  return: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.return),
  deliver: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.deliver),
  settle: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.settle),
  connection: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.connection),
  recovery: diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.recovery),
};

/** @internal What a channel part knows of its owners (a ChannelLink): enough to name them in a payload. */
export interface DiagSource {
  readonly publicChannel: unknown;
  readonly host: { readonly connection: unknown };
}

const SETTLE_OPS = ['ack', 'nack', 'reject'] as const;

/** @internal Publishes on `amqpts:publish`. */
export function diagPublish(
  src: DiagSource,
  exchange: string,
  routingKey: string,
  mandatory: boolean,
  properties: BasicProperties,
  bodySize: number,
): void {
  const d = {
    connection: src.host.connection,
    channel: src.publicChannel,
    exchange,
    routingKey,
    mandatory,
    properties,
    bodySize,
  };
  diag.publish.publish(d);
}

/** @internal Publishes on `amqpts:confirm`. */
export function diagConfirm(src: DiagSource, deliveryTag: number, multiple: boolean, nack: boolean): void {
  const d = {
    connection: src.host.connection,
    channel: src.publicChannel,
    ack: !nack,
    deliveryTag,
    multiple,
  };
  diag.confirm.publish(d);
}

/** @internal Publishes on `amqpts:return`. */
export function diagReturn(src: DiagSource, message: unknown): void {
  const d = { connection: src.host.connection, channel: src.publicChannel, message };
  diag.return.publish(d);
}

/** @internal Publishes on `amqpts:deliver`. */
export function diagDeliver(src: DiagSource, message: unknown, queue: string | undefined, consumerTag: string | undefined): void {
  const d = {
    connection: src.host.connection,
    channel: src.publicChannel,
    message,
    queue,
    consumerTag,
  };
  diag.deliver.publish(d);
}

/** @internal Publishes on `amqpts:settle`; `methodIndex` 0 ack, 1 nack, 2 reject. */
export function diagSettle(src: DiagSource, methodIndex: 0 | 1 | 2, deliveryTag: number, multiple: boolean, requeue: boolean): void {
  const d = {
    connection: src.host.connection,
    channel: src.publicChannel,
    operation: SETTLE_OPS[methodIndex],
    deliveryTag,
    multiple,
    requeue,
  };
  diag.settle.publish(d);
}

/** @internal Publishes on `amqpts:connection` if anyone listens (state changes are no hot path). */
export function diagConnection(connection: unknown, state: ConnectionState, error?: AMQPError, reason?: string): void {
  if (!diag.connection.hasSubscribers) return;
  const d = { connection, state, error, reason };
  diag.connection.publish(d);
}

/** @internal Publishes on `amqpts:recovery` if anyone listens (recovery is no hot path). */
export function diagRecovery(
  connection: unknown,
  phase: RecoveryPhase,
  fields: { attempt?: number; url?: string; ms?: number; entity?: unknown; error?: AMQPError },
): void {
  if (!diag.recovery.hasSubscribers) return;
  const d = {
    connection,
    phase,
    attempt: fields.attempt ?? 0,
    url: fields.url ?? '',
    ms: fields.ms ?? 0,
    entity: fields.entity,
    error: fields.error,
  };
  diag.recovery.publish(d);
}
