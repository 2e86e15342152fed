// amqpts/otel against the fake broker, spans in sdk-trace-base's in-memory exporter: producer and
// consumer spans with the messaging semantic-convention attributes, W3C trace context written into
// a copy of the headers and read back on delivery, the consumer span active during the callback,
// errors recorded, publish spans ending on the broker's confirm, and disable().
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
  ATTR_MESSAGING_SYSTEM,
  ATTR_MESSAGING_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from '@opentelemetry/semantic-conventions/incubating';

import type { Channel } from '../../lib/channel/channel.js';
import type { Connection } from '../../lib/connection/connection.js';
import { PublishNacked } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import { AmqptsInstrumentation } from '../../lib/otel/index.js';
import type { FakeBroker } from '../support/fake-broker.js';
import { openChannel, rpc, setup, tick } from '../support/recovery-harness.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const inst = new AmqptsInstrumentation({ tracerProvider: provider });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  inst.enable();
});
afterAll(() => {
  inst.disable();
  context.disable();
});
afterEach(() => exporter.reset());

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const parentId = (s: ReadableSpan | undefined): string | undefined => s?.parentSpanContext?.spanId;

async function consumer(
  callback: (m: Message) => void | Promise<void>,
): Promise<{ conn: Connection; ch: Channel; b1: FakeBroker; send: (headers: Record<string, string>, id?: string) => void }> {
  const { conn, b1 } = await setup();
  const ch = await openChannel(conn, b1, 1);
  await rpc(b1, 1, ch.basicConsume('q', { consumerTag: 'c', callback }), 'basic.consume', 'basic.consume-ok', { consumerTag: 'c' });
  let tag = 0;
  const send = (headers: Record<string, string>, id = 'm'): void =>
    b1.sendContent(
      1,
      'basic.deliver',
      { consumerTag: 'c', deliveryTag: ++tag, redelivered: false, exchange: 'orders', routingKey: 'new' },
      { messageId: id, applicationHeaders: headers },
      Buffer.from('hello'),
    );
  return { conn, ch, b1, send };
}

describe('amqpts/otel: publish', () => {
  it('a PRODUCER span "publish <exchange>" with the semantic-convention attributes; traceparent in a copy of the headers', async () => {
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const msg = new Message('hello', { messageId: 'id-1', applicationHeaders: { app: 'x' } });
    await ch.basicPublish(msg, { exchange: 'orders', routingKey: 'new' });
    const sent = await b1.expectContent(1);
    const [span] = spans();
    expect(span?.name).toBe('publish orders');
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.attributes).toMatchObject({
      [ATTR_MESSAGING_SYSTEM]: 'rabbitmq',
      [ATTR_MESSAGING_SYSTEM_NAME]: 'rabbitmq',
      [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
      [ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY]: 'new',
      [ATTR_MESSAGING_MESSAGE_ID]: 'id-1',
      [ATTR_MESSAGING_MESSAGE_BODY_SIZE]: 5,
      [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [ATTR_MESSAGING_OPERATION_NAME]: 'publish',
      [ATTR_SERVER_ADDRESS]: 'localhost',
      [ATTR_SERVER_PORT]: 5672,
    });
    const sc = span?.spanContext();
    expect(sent.properties.applicationHeaders).toEqual({ app: 'x', traceparent: `00-${sc?.traceId}-${sc?.spanId}-01` });
    expect(msg.properties.applicationHeaders).toEqual({ app: 'x' }); // the user's message is untouched
  });

  it('the default exchange: destination.name is empty, the span is named after the routing key (the queue)', async () => {
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await ch.basicPublish(new Message('x'), { routingKey: 'jobs' });
    await b1.expectContent(1);
    expect(spans()[0]?.name).toBe('publish jobs');
    expect(spans()[0]?.attributes[ATTR_MESSAGING_DESTINATION_NAME]).toBe('');
  });

  it('in confirm mode the span ends on the ack; a nack ends it with the error recorded', async () => {
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const p1 = ch.basicPublish(new Message('a'), { routingKey: 'q' });
    const p2 = ch.basicPublish(new Message('b'), { routingKey: 'q' });
    await b1.expectContent(1);
    await b1.expectContent(1);
    await tick();
    expect(spans()).toHaveLength(0); // nothing confirmed yet
    b1.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await p1;
    expect(spans()).toHaveLength(1);
    expect(spans()[0]?.status.code).toBe(SpanStatusCode.UNSET);
    b1.send(1, 'basic.nack', { deliveryTag: 2, multiple: false, requeue: false });
    await expect(p2).rejects.toBeInstanceOf(PublishNacked);
    const nacked = spans()[1];
    expect(nacked?.status.code).toBe(SpanStatusCode.ERROR);
    expect(nacked?.events.map((e) => e.name)).toEqual(['exception']);
    expect(nacked?.attributes['error.type']).toBe('PublishNacked');
  });

  it('a publish inside an active span is its child', async () => {
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const outer = provider.getTracer('test').startSpan('outer');
    await context.with(trace.setSpan(context.active(), outer), () => ch.basicPublish(new Message('x'), { routingKey: 'q' }));
    outer.end();
    await b1.expectContent(1);
    const pub = spans().find((s) => s.name === 'publish q');
    expect(pub?.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(parentId(pub)).toBe(outer.spanContext().spanId);
  });
});

describe('amqpts/otel: process', () => {
  const remote = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
  const traceparent = `00-${remote.traceId}-${remote.spanId}-01`;

  it('a CONSUMER span "process <exchange>", child of (and linked to) the producer context in the headers', async () => {
    const { send } = await consumer(() => undefined);
    send({ traceparent, tracestate: 'vendor=1' }, 'id-7');
    await tick();
    const [span] = spans();
    expect(span?.name).toBe('process orders');
    expect(span?.kind).toBe(SpanKind.CONSUMER);
    expect(span?.spanContext().traceId).toBe(remote.traceId);
    expect(parentId(span)).toBe(remote.spanId);
    expect(span?.links.map((l) => l.context.spanId)).toEqual([remote.spanId]);
    expect(span?.attributes).toMatchObject({
      [ATTR_MESSAGING_SYSTEM]: 'rabbitmq',
      [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
      [ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY]: 'new',
      [ATTR_MESSAGING_MESSAGE_ID]: 'id-7',
      [ATTR_MESSAGING_MESSAGE_BODY_SIZE]: 5,
      [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [ATTR_MESSAGING_OPERATION_NAME]: 'process',
      'messaging.rabbitmq.message.delivery_tag': 1,
      'messaging.destination.subscription.name': 'q',
    });
    expect(span?.spanContext().traceState?.get('vendor')).toBe('1');
  });

  it('without trace headers the span is a root span with no link', async () => {
    const { send } = await consumer(() => undefined);
    send({});
    await tick();
    const [span] = spans();
    expect(parentId(span)).toBeUndefined();
    expect(span?.links).toEqual([]);
  });

  it('is active during an async callback: a publish after an await is its child, and the span ends after the callback', async () => {
    let chRef: Channel | undefined;
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { ch, b1, send } = await consumer(async () => {
      await gate;
      await chRef?.basicPublish(new Message('reply'), { routingKey: 'replies' });
    });
    chRef = ch;
    send({ traceparent });
    await tick();
    expect(spans()).toHaveLength(0); // the callback is still running
    release();
    await b1.expectContent(1);
    await tick();
    const proc = spans().find((s) => s.name === 'process orders');
    const pub = spans().find((s) => s.name === 'publish replies');
    expect(pub?.spanContext().traceId).toBe(remote.traceId);
    expect(parentId(pub)).toBe(proc?.spanContext().spanId);
  });

  it('a callback that throws or rejects: exception event and ERROR status on its span', async () => {
    let n = 0;
    const { ch, send } = await consumer(async () => {
      n++;
      if (n === 1) throw new TypeError('sync-looking failure');
      await tick(1);
      throw new RangeError('async failure');
    });
    const reported: unknown[] = [];
    ch.on('callbackError', (err) => reported.push(err));
    send({ traceparent });
    send({ traceparent });
    await tick(30);
    expect(reported.map((e) => (e as Error).message)).toEqual(['sync-looking failure', 'async failure']);
    const failed = spans();
    expect(failed).toHaveLength(2);
    for (const s of failed) {
      expect(s.status.code).toBe(SpanStatusCode.ERROR);
      expect(s.events[0]?.name).toBe('exception');
    }
    expect(failed.map((s) => s.events[0]?.attributes?.['exception.message']).sort()).toEqual(['async failure', 'sync-looking failure']);
  });

  it('a synchronous callback that throws is recorded too', async () => {
    const { send } = await consumer(() => {
      throw new Error('boom');
    });
    send({});
    await tick();
    expect(spans()[0]?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'boom' });
  });
});

describe('amqpts/otel: disable()', () => {
  it('stops spans and headers; enable() again resumes them', async () => {
    inst.disable();
    expect(inst.enabled).toBe(false);
    try {
      const { conn, b1 } = await setup();
      const ch = await openChannel(conn, b1, 1);
      await ch.basicPublish(new Message('x', { applicationHeaders: { a: 1 } }), { routingKey: 'q' });
      expect((await b1.expectContent(1)).properties.applicationHeaders).toEqual({ a: 1 });
      expect(spans()).toHaveLength(0);
    } finally {
      inst.enable();
    }
    expect(inst.enabled).toBe(true);
  });
});
