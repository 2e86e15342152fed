/**
 * amqpts/otel: OpenTelemetry tracing for amqpts (needs the optional peer dependency
 * `@opentelemetry/api`; the package root never imports it).
 *
 * ```ts
 * import { AmqptsInstrumentation } from 'amqpts/otel';
 * const inst = new AmqptsInstrumentation(); // the global tracer provider, or { tracerProvider }
 * inst.enable();
 * ```
 * @module amqpts/otel
 */
export { AmqptsInstrumentation, type AmqptsInstrumentationOptions, INSTRUMENTATION_NAME } from './instrumentation.js';
