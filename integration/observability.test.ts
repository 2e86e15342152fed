// Observability against the real broker: one trace across two connections (publish on A, consume
// on B, a reply published from the callback), the semantic-convention attributes, an error thrown
// in a consumer callback recorded on its span; conn.stats() counted exactly on a real exchange of
// confirms, a return, deliveries and settlements.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Message, PublishReturned, type ReceivedMessage } from '../lib/index.js';
import { AmqptsInstrumentation } from '../lib/otel/index.js';
import { eventually, suite } from './harness.js';

const s = suite();

describe('amqpts/otel against RabbitMQ', () => {
  const exporter = new InMemorySpanExporter();
  const inst = new AmqptsInstrumentation({
    tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  });
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    inst.enable();
  });
  afterAll(() => {
    inst.disable();
    context.disable();
  });
  afterEach(() => exporter.reset());

  test('publish on connection A, consume on B: one trace; the reply published in the callback is the consumer span child', async () => {
    const a = await s.open();
    const b = await s.open();
    const q = s.queue(s.name('otel-q'));
    const replies = s.queue(s.name('otel-replies'));
    await a.ch.queueDeclare(q);
    await a.ch.queueDeclare(replies);
    await a.ch.confirmSelect();
    const seen: ReceivedMessage[] = [];
    await b.ch.basicConsume(q, {
      callback: async (m) => {
        seen.push(m);
        await b.ch.basicPublish(new Message('pong'), { routingKey: replies });
        m.ack();
      },
    });
    await a.ch.basicPublish(new Message('ping', { messageId: 'trace-1' }), { routingKey: q });
    await eventually(() => exporter.getFinishedSpans().length === 3, { what: 'three spans' });
    const spans = exporter.getFinishedSpans();
    const pub = spans.find((x) => x.name === `publish ${q}`);
    const proc = spans.find((x) => x.name === `process ${q}`);
    const reply = spans.find((x) => x.name === `publish ${replies}`);
    expect(pub?.kind).toBe(SpanKind.PRODUCER);
    expect(proc?.kind).toBe(SpanKind.CONSUMER);
    const traceId = pub?.spanContext().traceId;
    expect(proc?.spanContext().traceId).toBe(traceId);
    expect(reply?.spanContext().traceId).toBe(traceId);
    expect(proc?.parentSpanContext?.spanId).toBe(pub?.spanContext().spanId);
    expect(reply?.parentSpanContext?.spanId).toBe(proc?.spanContext().spanId);
    for (const span of [pub, proc]) {
      expect(span?.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': '',
        'messaging.rabbitmq.destination.routing_key': q,
        'messaging.message.id': 'trace-1',
        'messaging.message.body.size': 4,
        'server.port': 5672,
      });
    }
    expect(pub?.attributes['messaging.operation.type']).toBe('send');
    expect(proc?.attributes['messaging.operation.type']).toBe('process');
    expect(String(seen[0]?.properties.applicationHeaders?.['traceparent'])).toBe(`00-${traceId}-${pub?.spanContext().spanId}-01`);
  });

  test('an error thrown in a consumer callback is recorded on its span', async () => {
    const a = await s.open();
    const b = await s.open();
    const q = s.queue(s.name('otel-err'));
    await a.ch.queueDeclare(q);
    const errors: unknown[] = [];
    b.ch.on('callbackError', (err, m) => {
      errors.push(err);
      m.nack({ requeue: false });
    });
    await b.ch.basicConsume(q, {
      callback: async () => {
        throw new Error('cannot process this');
      },
    });
    await a.ch.basicPublish(new Message('bad'), { routingKey: q });
    await eventually(() => exporter.getFinishedSpans().some((x) => x.name === `process ${q}`), { what: 'the process span' });
    const proc = exporter.getFinishedSpans().find((x) => x.name === `process ${q}`);
    const pub = exporter.getFinishedSpans().find((x) => x.name === `publish ${q}`);
    expect(errors).toHaveLength(1);
    expect(proc?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'cannot process this' });
    expect(proc?.events[0]?.attributes?.['exception.message']).toBe('cannot process this');
    expect(proc?.spanContext().traceId).toBe(pub?.spanContext().traceId);
  });
});

describe('conn.stats() against RabbitMQ', () => {
  test('exact counts of publishes, confirms, a return, deliveries and settlements; bytes both ways', async () => {
    const { conn, ch } = await s.open();
    const q = s.queue(s.name('stats-q'));
    await ch.queueDeclare(q);
    await ch.confirmSelect();
    for (let i = 0; i < 5; i++) await ch.basicPublish(new Message(`m${i}`), { routingKey: q });
    const returned = ch.basicPublish(new Message('lost'), { exchange: 'amq.direct', routingKey: s.name('nowhere'), mandatory: true });
    await expect(returned).rejects.toBeInstanceOf(PublishReturned);
    const got: ReceivedMessage[] = [];
    const ch2 = await conn.channel();
    await ch2.basicQos({ prefetchCount: 10 });
    await ch2.basicConsume(q, { callback: (m) => void got.push(m) });
    await eventually(() => got.length === 5, { what: 'five deliveries' });
    got[0]?.ack();
    ch2.basicAck(got[2]?.deliveryTag ?? 0, { multiple: true });
    got[3]?.nack({ requeue: false });
    got[4]?.reject({ requeue: false });
    await ch2.close(); // flushes the settlements before the close
    const st = conn.stats();
    expect(st).toMatchObject({
      published: 6,
      confirmed: 6, // the returned message is acked too
      nacked: 0,
      returned: 1,
      delivered: 5,
      acked: 2,
      rejected: 2,
      recoveries: 0,
      channelsOpen: 1,
    });
    expect(st.bytesOut).toBeGreaterThan(6 * 8);
    expect(st.bytesIn).toBeGreaterThan(5 * 8);
  });
});
