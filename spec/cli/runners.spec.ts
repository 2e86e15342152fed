// The commands' runners against the scripted fake broker: what consume, get and publish send (qos,
// acks, rejects, nacks, cancels, confirms) for --count, --requeue, --no-ack, --json, --confirm,
// Ctrl-C and an idle timeout, and what they print.
import { describe, expect, it } from '@jest/globals';
import { ConsumerCancelled, type BasicProperties, NotFound, PublishNacked } from '../../lib/core.js';
import { runConsume } from '../../lib/cli/consume.js';
import { CliContext } from '../../lib/cli/context.js';
import { runGet } from '../../lib/cli/get.js';
import { runPublish } from '../../lib/cli/publish.js';
import { type AnyReceived, FakeBroker, installGuards } from '../support/fake-broker.js';
import { type MemoryIo, memoryIo } from './memory-io.js';

installGuards();

interface Script {
  /** Messages for basic.get, in order (then get-empty). */
  gets?: Array<{ body: string; properties?: BasicProperties }>;
  /** Called once the consumer is registered (send deliveries from here). */
  onConsume?: (broker: FakeBroker) => void;
  /** How to answer each publish in confirm mode (default ack). */
  confirm?: (tag: number) => 'ack' | 'nack';
  /** Reply to queue.purge etc. with a channel close instead. */
  closeWith404?: string;
}

/** Plays a broker that answers every synchronous method, until the client closes the connection. */
async function autoBroker(broker: FakeBroker, s: Script = {}): Promise<AnyReceived[]> {
  await broker.handshake();
  let published = 0;
  let confirming = false;
  const gets = [...(s.gets ?? [])];
  for (;;) {
    const m = await broker.next(5000);
    const ch = m.channel;
    switch (m.name) {
      case 'channel.open':
        broker.send(ch, 'channel.open-ok', {});
        break;
      case 'basic.qos':
        broker.send(ch, 'basic.qos-ok', {});
        break;
      case 'basic.consume':
        broker.send(ch, 'basic.consume-ok', { consumerTag: 'ct' });
        s.onConsume?.(broker);
        break;
      case 'basic.cancel':
        broker.send(ch, 'basic.cancel-ok', { consumerTag: m.args.consumerTag });
        break;
      case 'basic.get': {
        const g = gets.shift();
        if (s.closeWith404) {
          broker.send(ch, 'channel.close', { replyCode: 404, replyText: s.closeWith404, classId: 60, methodId: 70 });
        } else if (g) {
          const args = {
            deliveryTag: s.gets!.length - gets.length,
            redelivered: false,
            exchange: '',
            routingKey: 'q',
            messageCount: gets.length,
          };
          broker.sendContent(ch, 'basic.get-ok', args, g.properties ?? {}, g.body);
        } else broker.send(ch, 'basic.get-empty', { clusterId: '' });
        break;
      }
      case 'channel.close-ok':
        break;
      case 'confirm.select':
        confirming = true;
        broker.send(ch, 'confirm.select-ok', {});
        break;
      case 'basic.publish':
        published++;
        if (confirming)
          broker.send(ch, (s.confirm?.(published) ?? 'ack') === 'ack' ? 'basic.ack' : 'basic.nack', {
            deliveryTag: published,
            multiple: false,
            requeue: false,
          } as never);
        break;
      case 'connection.close':
        broker.send(0, 'connection.close-ok', {});
        return broker.received;
      default:
        break; // acks, nacks, rejects: recorded in broker.received
    }
  }
}

function context(m: MemoryIo, broker: FakeBroker, command: string): CliContext {
  return new CliContext(
    m.io,
    { options: { socket: broker.clientSocket }, source: 'test', display: 'fake', secrets: [] },
    { timeout: 2000, verbose: false, quiet: false },
    command,
  );
}

const deliver = (tag: number) => ({ consumerTag: 'ct', deliveryTag: tag, redelivered: false, exchange: 'ex', routingKey: 'rk' });
const names = (frames: AnyReceived[]): string[] => frames.filter((f) => f.channel !== 0).map((f) => f.name);
const plan = {
  queue: 'q',
  count: undefined,
  prefetch: 100,
  noAck: false,
  requeue: false,
  json: false,
  offset: undefined,
  idleTimeout: undefined,
};

describe('consume', () => {
  it('--count 2: prints two bodies, acks each after printing, requeues a third that came too late, cancels', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, {
      onConsume: (b) => {
        for (const i of [1, 2, 3]) b.sendContent(1, 'basic.deliver', deliver(i), {}, `m${i}`);
      },
    });
    expect(await runConsume(context(m, broker, 'consume'), { ...plan, count: 2 })).toBe(0);
    const got = await frames;
    expect(m.out.text).toBe('m1\nm2\n');
    expect(got.find((f) => f.name === 'basic.qos')?.args).toMatchObject({ prefetchCount: 2 });
    expect(got.find((f) => f.name === 'basic.consume')?.args).toMatchObject({ queue: 'q', noAck: false });
    const acks = got.filter((f) => f.name === 'basic.ack').map((f) => f.args);
    expect(acks).toEqual([
      { deliveryTag: 1, multiple: false },
      { deliveryTag: 2, multiple: false },
    ]);
    expect(got.filter((f) => f.name === 'basic.reject').map((f) => f.args)).toEqual([{ deliveryTag: 3, requeue: true }]);
    expect(names(got)).toContain('basic.cancel');
    expect(m.err.text).toBe("consumed 2 messages from 'q'\n");
  });

  it('--requeue: holds every message unacked (prefetch = count) and puts them all back with one nack', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, {
      onConsume: (b) => {
        for (const i of [1, 2, 3]) b.sendContent(1, 'basic.deliver', deliver(i), {}, `m${i}`);
      },
    });
    expect(await runConsume(context(m, broker, 'consume'), { ...plan, count: 3, requeue: true })).toBe(0);
    const got = await frames;
    expect(m.out.text).toBe('m1\nm2\nm3\n');
    expect(got.find((f) => f.name === 'basic.qos')?.args).toMatchObject({ prefetchCount: 3 });
    expect(got.filter((f) => f.name === 'basic.ack')).toEqual([]);
    const nacks = got.filter((f) => f.name === 'basic.nack');
    expect(nacks.map((f) => f.args)).toEqual([{ deliveryTag: 3, multiple: true, requeue: true }]);
    // the nack goes after the cancel, so nothing is redelivered to this consumer
    expect(names(got).indexOf('basic.nack')).toBeGreaterThan(names(got).indexOf('basic.cancel'));
    expect(m.err.text).toBe("consumed 3 messages from 'q', 3 put back\n");
  });

  it('--no-ack without --count: the broker auto-acks (no qos, no acks)', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, { onConsume: (b) => b.sendContent(1, 'basic.deliver', deliver(1), {}, 'x') });
    const running = runConsume(context(m, broker, 'consume'), { ...plan, noAck: true, idleTimeout: 150 });
    expect(await running).toBe(0);
    const got = await frames;
    expect(got.find((f) => f.name === 'basic.consume')?.args).toMatchObject({ noAck: true });
    expect(names(got)).not.toContain('basic.qos');
    expect(names(got)).not.toContain('basic.ack');
    expect(m.out.text).toBe('x\n');
  });

  it('--no-ack with --count: emulated with acks, so a delivery beyond the count is requeued, not lost', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, {
      onConsume: (b) => {
        for (const i of [1, 2]) b.sendContent(1, 'basic.deliver', deliver(i), {}, `m${i}`);
      },
    });
    expect(await runConsume(context(m, broker, 'consume'), { ...plan, noAck: true, count: 1 })).toBe(0);
    const got = await frames;
    expect(got.find((f) => f.name === 'basic.consume')?.args).toMatchObject({ noAck: false });
    expect(got.find((f) => f.name === 'basic.qos')?.args).toMatchObject({ prefetchCount: 1 });
    expect(got.filter((f) => f.name === 'basic.ack').map((f) => f.args)).toEqual([{ deliveryTag: 1, multiple: false }]);
    expect(got.filter((f) => f.name === 'basic.reject').map((f) => f.args)).toEqual([{ deliveryTag: 2, requeue: true }]);
    expect(m.out.text).toBe('m1\n');
  });

  it('--json: one line per message with where it came from, properties, headers, and the body', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const props: BasicProperties = {
      contentType: 'application/octet-stream',
      timestamp: new Date('2024-01-01T00:00:00Z'),
      applicationHeaders: { a: 1, raw: Buffer.from([0xff]) },
    };
    const frames = autoBroker(broker, {
      onConsume: (b) => b.sendContent(1, 'basic.deliver', deliver(7), props, Buffer.from([0xff, 0x00])),
    });
    await runConsume(context(m, broker, 'consume'), { ...plan, count: 1, json: true });
    await frames;
    expect(JSON.parse(m.out.text)).toEqual({
      queue: 'q',
      exchange: 'ex',
      routingKey: 'rk',
      deliveryTag: 7,
      redelivered: false,
      properties: { contentType: 'application/octet-stream', timestamp: '2024-01-01T00:00:00.000Z' },
      headers: { a: 1, raw: { base64: '/w==' } },
      bodySize: 2,
      bodyEncoding: 'base64',
      body: '/wA=',
    });
  });

  it('--offset sets x-stream-offset on the consumer', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, { onConsume: (b) => b.sendContent(1, 'basic.deliver', deliver(1), {}, 'x') });
    await runConsume(context(m, broker, 'consume'), { ...plan, count: 1, offset: 'first' });
    expect((await frames).find((f) => f.name === 'basic.consume')?.args).toMatchObject({ arguments: { 'x-stream-offset': 'first' } });
  });

  it('Ctrl-C: stops at once, cancels the consumer, prints the summary, exits 130', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, {
      onConsume: (b) => {
        b.sendContent(1, 'basic.deliver', deliver(1), {}, 'one');
        setTimeout(() => m.interrupt(), 50);
      },
    });
    expect(await runConsume(context(m, broker, 'consume'), plan)).toBe(130);
    const got = await frames;
    expect(names(got)).toContain('basic.cancel');
    expect(m.out.text).toBe('one\n');
    expect(m.err.text).toBe("consumed 1 message from 'q'\n");
  });

  it('--idle-timeout ends a quiet consume with exit 0', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker);
    expect(await runConsume(context(m, broker, 'consume'), { ...plan, idleTimeout: 100 })).toBe(0);
    await frames;
    expect(m.err.text).toBe("consumed 0 messages from 'q'\n");
  });

  it('a server cancel (queue deleted) ends the run with ConsumerCancelled', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, {
      onConsume: (b) => setTimeout(() => b.send(1, 'basic.cancel', { consumerTag: 'ct', nowait: true }), 20),
    });
    await expect(runConsume(context(m, broker, 'consume'), plan)).rejects.toBeInstanceOf(ConsumerCancelled);
    await frames;
  });
});

describe('get', () => {
  it('fetches until the count or an empty queue, acking each after printing', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, { gets: [{ body: 'a' }, { body: 'b' }] });
    expect(await runGet(context(m, broker, 'get'), { queue: 'q', count: 5, noAck: false, requeue: false, json: false })).toBe(0);
    const got = await frames;
    expect(m.out.text).toBe('a\nb\n');
    expect(got.filter((f) => f.name === 'basic.get')).toHaveLength(3);
    expect(got.filter((f) => f.name === 'basic.ack').map((f) => f.args.deliveryTag)).toEqual([1, 2]);
  });

  it('--requeue nacks them all back at the end; an empty queue says so on stderr', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, { gets: [{ body: 'a' }, { body: 'b' }] });
    await runGet(context(m, broker, 'get'), { queue: 'q', count: 2, noAck: false, requeue: true, json: false });
    const got = await frames;
    expect(got.filter((f) => f.name === 'basic.nack').map((f) => f.args)).toEqual([{ deliveryTag: 2, multiple: true, requeue: true }]);
    expect(m.err.text).toBe("got 2 messages from 'q', all put back\n");
    const b2 = new FakeBroker();
    const m2 = memoryIo();
    const f2 = autoBroker(b2);
    await runGet(context(m2, b2, 'get'), { queue: 'q', count: 1, noAck: false, requeue: false, json: false });
    await f2;
    expect(m2.out.text).toBe('');
    expect(m2.err.text).toBe("queue 'q' is empty\n");
  });

  it('a missing queue rejects with NotFound', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, { closeWith404: "NOT_FOUND - no queue 'q' in vhost '/'" });
    await expect(
      runGet(context(m, broker, 'get'), { queue: 'q', count: 1, noAck: false, requeue: false, json: false }),
    ).rejects.toBeInstanceOf(NotFound);
    await frames;
  });
});

describe('publish', () => {
  const base = {
    exchange: 'x',
    routingKey: 'k',
    properties: { contentType: 'text/plain' },
    lines: false,
    count: 1,
    rate: 0,
    confirm: false,
    mandatory: false,
    json: false,
  };

  it('--confirm --count 3: confirm.select, three publishes with the body and properties, a summary', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker);
    expect(
      await runPublish(context(m, broker, 'publish'), { ...base, body: { kind: 'arg', text: 'héllo' }, count: 3, confirm: true }),
    ).toBe(0);
    const got = await frames;
    expect(names(got).filter((n) => n === 'confirm.select')).toHaveLength(1);
    const pubs = got.filter((f) => f.name === 'basic.publish');
    expect(pubs).toHaveLength(3);
    expect(pubs[0]).toMatchObject({
      args: { exchange: 'x', routingKey: 'k', mandatory: false },
      properties: { contentType: 'text/plain' },
    });
    expect(pubs.map((p) => p.body?.toString('utf8'))).toEqual(['héllo', 'héllo', 'héllo']);
    expect(m.out.text).toBe("published 3 messages to exchange 'x' with routing key 'k', 3 confirmed\n");
  });

  it('--lines from stdin: one message per non-empty line; --json summary', async () => {
    const broker = new FakeBroker();
    const m = memoryIo({ stdin: 'one\r\ntwo\n\nthree' });
    const frames = autoBroker(broker);
    await runPublish(context(m, broker, 'publish'), { ...base, body: { kind: 'stdin' }, lines: true, json: true });
    const got = await frames;
    expect(got.filter((f) => f.name === 'basic.publish').map((p) => p.body?.toString())).toEqual(['one', 'two', 'three']);
    // without confirms, one round trip after the publishes surfaces a channel error
    expect(names(got).slice(-1)).toEqual(['basic.qos']);
    expect(JSON.parse(m.out.text)).toMatchObject({ published: 3, confirmed: null, exchange: 'x', routingKey: 'k' });
  });

  it('a nack fails the run with PublishNacked after saying how far it got', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    const frames = autoBroker(broker, { confirm: (tag) => (tag === 2 ? 'nack' : 'ack') });
    await expect(
      runPublish(context(m, broker, 'publish'), { ...base, body: { kind: 'arg', text: 'x' }, count: 3, confirm: true }),
    ).rejects.toBeInstanceOf(PublishNacked);
    await frames;
    expect(m.err.text).toMatch(/^amqpts: published [23] of 3 messages, [12] confirmed before the error\n$/);
  });

  it('an unreadable --file is a usage error before connecting', async () => {
    const broker = new FakeBroker();
    const m = memoryIo();
    await expect(runPublish(context(m, broker, 'publish'), { ...base, body: { kind: 'file', path: '/nonexistent/body' } })).rejects.toThrow(
      /--file: cannot read '\/nonexistent\/body'/,
    );
    expect(broker.header).toBeNull();
  });
});
