// Tracing with OpenTelemetry (amqpts/otel), a diagnostics channel and conn.stats(): a message
// published on one connection and processed on another forms one trace; the consumer's span is
// active while its callback runs.
// Needs @opentelemetry/api, and an SDK (here sdk-trace-base and context-async-hooks).
// Run: npm run build && npm run build:examples && node build/examples/tracing.js
import diagnosticsChannel from 'node:diagnostics_channel';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Connection, DIAGNOSTICS_CHANNELS, Message, type SettleDiagnostic } from 'amqpts';
import { AmqptsInstrumentation } from 'amqpts/otel';

// An SDK: a context manager (so the consumer's span is active in its callback) and a provider.
// A real program exports spans with an OTLP exporter instead of keeping them in memory.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const instrumentation = new AmqptsInstrumentation({ tracerProvider: provider });
instrumentation.enable();

// A diagnostics channel: costs nothing until someone subscribes.
const settled: string[] = [];
const onSettle = (d: unknown): void => void settled.push((d as SettleDiagnostic).operation);
diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNELS.settle, onSettle);

await using producer = await Connection.connect(process.env['RABBITMQ_URL']);
await using consumer = await Connection.connect(process.env['RABBITMQ_URL']);
const pch = await producer.channel();
const cch = await consumer.channel();
const { queue } = await cch.queueDeclare('', { exclusive: true });

const done = new Promise<void>((resolve) => {
  void cch.basicConsume(queue, {
    callback: (msg) => {
      // the process span is the active span here: work done now joins the producer's trace
      const traceId = trace.getActiveSpan()?.spanContext().traceId;
      const traceparent = String(msg.properties.applicationHeaders?.['traceparent']); // 00-<trace id>-<span id>-01
      console.log(`processing ${String(msg.body)}, active span in the publisher's trace: ${traceparent.split('-')[1] === traceId}`);
      msg.ack();
      resolve();
    },
  });
});

await pch.confirmSelect();
await pch.basicPublish(new Message('order 42', { messageId: 'order-42' }), { routingKey: queue });
await done;

function traceOf(kind: 'publish' | 'process'): string | undefined {
  return exporter
    .getFinishedSpans()
    .find((s) => s.name.startsWith(kind))
    ?.spanContext().traceId;
}

await new Promise((r) => setTimeout(r, 10)); // the process span ends right after the callback
for (const s of [...exporter.getFinishedSpans()].sort((a, b) => a.name.localeCompare(b.name))) {
  console.log(
    `${s.name.replace(queue, '<queue>')}: ${s.attributes['messaging.operation.type']}, id ${s.attributes['messaging.message.id']}`,
  );
}
console.log(`one trace: ${traceOf('publish') === traceOf('process')}`);
console.log(`settled: ${settled.join(', ')}`);
const p = producer.stats();
const c = consumer.stats();
console.log(`producer published ${p.published}, confirmed ${p.confirmed}; consumer delivered ${c.delivered}, acked ${c.acked}`);

diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNELS.settle, onSettle);
instrumentation.disable();
