/**
 * AmqptsInstrumentation: OpenTelemetry tracing for amqpts, built on the core's public
 * `instrument()` hooks only.
 *
 * - Publish: a PRODUCER span `publish <destination>` around each basicPublish. Its context goes
 *   into a copy of the message's headers (`traceparent`, `tracestate`); the user's Message is not
 *   changed. The span ends when the publish resolves (in confirm mode: when the broker confirms
 *   it) and records the error (nack, return, timeout, close) with ERROR status when it rejects.
 * - Process: a CONSUMER span `process <destination>` around each consumer callback, the child of
 *   the producer's context found in the headers (and linked to it), active while the callback runs
 *   (sync or async): what the callback publishes joins the same trace. A throw or rejection is
 *   recorded as an exception with ERROR status.
 *
 * Spans follow the OpenTelemetry messaging semantic conventions (see attributes.ts).
 */
import {
  type Attributes,
  context,
  type Link,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { type ConsumeHookInfo, instrument, type PublishHookInfo, VERSION, type BasicProperties } from '../core.js';
import { ATTR, messageAttributes, spanDestination } from './attributes.js';
import { extractHeaders, injectHeaders } from './propagation.js';

/** Options of {@link AmqptsInstrumentation}. */
export interface AmqptsInstrumentationOptions {
  /** Where spans go; default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
}

/** The instrumentation's name, as its tracer is named. */
export const INSTRUMENTATION_NAME = 'amqpts/otel';

function fail(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  span.setAttribute(ATTR.errorType, e.name || 'Error');
}

/**
 * OpenTelemetry tracing for every amqpts connection of the process:
 * `const inst = new AmqptsInstrumentation({ tracerProvider }); inst.enable();`.
 */
export class AmqptsInstrumentation {
  private readonly provider: TracerProvider | undefined;
  private tracerCache: Tracer | null = null;
  private unregister: (() => void) | null = null;

  constructor(options: AmqptsInstrumentationOptions = {}) {
    this.provider = options.tracerProvider;
  }

  /** True between enable() and disable(). */
  get enabled(): boolean {
    return this.unregister !== null;
  }

  /** Starts tracing publishes and consumer callbacks (calling it twice does nothing). @throws nothing. */
  enable(): void {
    if (this.unregister !== null) return;
    this.unregister = instrument({
      publish: (info, send) => this.publish(info, send),
      consume: (info, run) => this.consume(info, run),
    });
  }

  /** Stops tracing; spans already started still end. @throws nothing. */
  disable(): void {
    this.unregister?.();
    this.unregister = null;
  }

  private get tracer(): Tracer {
    return (this.tracerCache ??= (this.provider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, VERSION));
  }

  private publish(info: PublishHookInfo, send: (p: BasicProperties) => Promise<void>): Promise<void> {
    const attributes = messageAttributes(
      'send',
      info.exchange,
      info.routingKey,
      info.properties,
      info.bodySize,
      info.serverAddress,
      info.serverPort,
    );
    const parent = context.active();
    const span = this.tracer.startSpan(
      `publish ${spanDestination(info.exchange, info.routingKey)}`,
      { kind: SpanKind.PRODUCER, attributes },
      parent,
    );
    const headers = { ...info.properties.applicationHeaders };
    injectHeaders(trace.setSpan(parent, span), headers);
    let sent: Promise<void>;
    try {
      sent = send({ ...info.properties, applicationHeaders: headers });
    } catch (err) {
      fail(span, err);
      span.end();
      throw err;
    }
    return sent.then(
      () => span.end(),
      (err: unknown) => {
        fail(span, err);
        span.end();
        throw err;
      },
    );
  }

  private consume(info: ConsumeHookInfo, run: () => void | Promise<void>): void | Promise<void> {
    const msg = info.message;
    const d = msg.deliveryInfo;
    const attributes: Attributes = messageAttributes(
      'process',
      d.exchange,
      d.routingKey,
      msg.properties,
      Buffer.isBuffer(msg.body) ? msg.body.length : msg.bodyBuffer.length,
      info.serverAddress,
      info.serverPort,
    );
    attributes[ATTR.deliveryTag] = d.deliveryTag;
    attributes[ATTR.subscription] = info.queue;
    const parent = extractHeaders(context.active(), msg.properties.applicationHeaders);
    const producer = trace.getSpanContext(parent);
    const links: Link[] = producer ? [{ context: producer }] : [];
    const span = this.tracer.startSpan(
      `process ${spanDestination(d.exchange, d.routingKey)}`,
      { kind: SpanKind.CONSUMER, attributes, links },
      parent,
    );
    let r: void | Promise<void>;
    try {
      r = context.with(trace.setSpan(parent, span), run);
    } catch (err) {
      fail(span, err);
      span.end();
      throw err;
    }
    if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
      return (r as Promise<void>).then(
        () => span.end(),
        (err: unknown) => {
          fail(span, err);
          span.end();
          throw err;
        },
      );
    }
    span.end();
    return r;
  }
}
