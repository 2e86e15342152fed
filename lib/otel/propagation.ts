/**
 * W3C trace context in AMQP headers. Injection and extraction go through the global propagator
 * when one is registered (the OpenTelemetry SDK registers W3C trace context and baggage by
 * default); when none is (`propagation.fields()` is empty: the API's no-op), this module writes and
 * reads `traceparent` and `tracestate` itself, so a trace crosses services either way.
 *
 * Header values arrive decoded from a field table: a string, or bytes for a byte-array value.
 */
import {
  type Context,
  createTraceState,
  isSpanContextValid,
  propagation,
  type TextMapGetter,
  type TextMapSetter,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import type { FieldTable } from '../core.js';

const headerSetter: TextMapSetter<FieldTable> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/** A header as text (a string, or bytes read as Latin-1), or undefined. */
function headerText(headers: FieldTable, key: string): string | undefined {
  const v = headers[key];
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  return undefined;
}

const headerGetter: TextMapGetter<FieldTable> = {
  keys: (carrier) => Object.keys(carrier),
  get: headerText,
};

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Writes the trace context of `ctx` into `headers` (a copy the caller owns). */
export function injectHeaders(ctx: Context, headers: FieldTable): void {
  if (propagation.fields().length > 0) {
    propagation.inject(ctx, headers, headerSetter);
    return;
  }
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return;
  headers['traceparent'] = `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
  const state = sc.traceState?.serialize();
  if (state) headers['tracestate'] = state;
}

/** The context `headers` carry (on top of `base`), or `base` when they carry none. */
export function extractHeaders(base: Context, headers: FieldTable | undefined): Context {
  if (headers === undefined) return base;
  if (propagation.fields().length > 0) return propagation.extract(base, headers, headerGetter);
  const m = TRACEPARENT.exec(headerText(headers, 'traceparent')?.trim().toLowerCase() ?? '');
  if (!m) return base;
  const state = headerText(headers, 'tracestate');
  const sc = {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(state ? { traceState: createTraceState(state) } : {}),
  };
  return isSpanContextValid(sc) ? trace.setSpanContext(base, sc) : base;
}
