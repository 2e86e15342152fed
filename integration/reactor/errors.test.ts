// Bad input and failures against the real broker, each a clear typed error: a missing queue, Copy
// on a classic or quorum queue, unknown address forms and unsupported selectors (before anything
// is sent), a malformed connect.json, and a handler that throws (its message goes back).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import {
  AddressError,
  ConfigError,
  Container,
  Copy,
  type Event,
  HandlerError,
  LinkOptionError,
  Message,
  MessagingHandler,
  NodeNotFound,
  Selector,
  SelectorError,
} from '../../lib/index.js';
import { brokerUrl } from '../support/broker.js';
import { runContainer } from './support.js';
import { expectCount, suite } from '../harness.js';

const s = suite();

const run = (container: Container): Promise<unknown> => runContainer(s, container);

test('a missing queue ends its link with onLinkError (NodeNotFound, naming it); the other link on the connection goes on', async () => {
  const { ch } = await s.open();
  const q = s.queue(s.name('exists'));
  await ch.queueDeclare(q);
  const missing = s.name('missing');
  const seen: string[] = [];
  const h = new (class extends MessagingHandler {
    onStart(e: Event): void {
      const conn = e.container.connect(brokerUrl());
      e.container.createReceiver(conn, missing);
      e.container.createSender(conn, q);
    }
    onLinkError(e: Event): void {
      expect(e.error).toBeInstanceOf(NodeNotFound);
      seen.push(e.error?.message ?? '');
    }
    onSendable(e: Event): void {
      e.sender.send(new Message('still fine'));
      e.sender.close();
    }
    onAccepted(e: Event): void {
      seen.push('accepted');
      e.connection.close();
    }
  })();
  expect(await run(new Container(h))).toBe('resolved');
  expect(seen).toHaveLength(2);
  expect(seen).toContain('accepted');
  expect(seen.find((m) => m !== 'accepted')).toMatch(
    new RegExp(`^receiver '[^']+' from queue '${missing}': the queue '${missing}' does not exist: an address names what exists`),
  );
  await expectCount(ch, q, 1);
});

test('Copy on a classic or a quorum queue ends the link with LinkOptionError naming its type; the queue keeps its messages', async () => {
  const { ch } = await s.open();
  const classic = s.queue(s.name('classic'));
  const quorum = s.queue(s.name('quorum'));
  await ch.queueDeclare(classic, { durable: true, arguments: { 'x-max-length': 100 } });
  await ch.queueDeclare(quorum, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await ch.confirmSelect();
  for (const q of [classic, quorum]) for (const b of ['a', 'b']) await ch.basicPublish(new Message(b), { routingKey: q });
  const errors: string[] = [];
  let got = 0;
  const h = new (class extends MessagingHandler {
    onStart(e: Event): void {
      const conn = e.container.connect(brokerUrl());
      e.container.createReceiver(conn, classic, { options: new Copy() });
      e.container.createReceiver(conn, quorum, { options: new Copy() });
    }
    onMessage(): void {
      got++;
    }
    onLinkError(e: Event): void {
      expect(e.error).toBeInstanceOf(LinkOptionError);
      errors.push(e.error?.message ?? '');
      if (errors.length === 2) e.connection.close();
    }
  })();
  expect(await run(new Container(h))).toBe('resolved');
  expect(got).toBe(0);
  // the classic queue has x-max-length, which no stream takes: that settles it before its type is named
  expect(errors.find((m) => m.includes(classic))).toMatch(
    /it has the argument 'x-max-length', which a stream queue does not take.*Copy needs a stream queue/,
  );
  expect(errors.find((m) => m.includes(quorum))).toMatch(/it is a quorum queue.*Copy needs a stream queue/);
  await expectCount(ch, classic, 2);
  await expectCount(ch, quorum, 2);
});

test('unknown address forms and unsupported selectors are typed errors before anything is sent', () => {
  const c = new Container();
  expect(() => c.createReceiver(`${brokerUrl()}topics/news`)).toThrow(AddressError);
  expect(() => c.createSender(brokerUrl(), 'a/b')).toThrow(AddressError);
  expect(() => c.createReceiver(brokerUrl(), '/exchanges/x')).toThrow(LinkOptionError); // an exchange needs Copy or the like
  expect(() => new Selector("colour = 'red' OR colour = 'green'")).toThrow(SelectorError);
  expect(() => new Selector('price > 10')).toThrow(SelectorError);
  c.stop();
});

test('connect.json: a malformed file is a ConfigError naming the file and key; a good one connects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'amqpts-it-connect-'));
  const before = process.env['MESSAGING_CONNECT_FILE'];
  s.defer(() => {
    if (before === undefined) delete process.env['MESSAGING_CONNECT_FILE'];
    else process.env['MESSAGING_CONNECT_FILE'] = before;
    rmSync(dir, { recursive: true, force: true });
  });
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ "scheme": "amqp", "port": "fifty" }');
  process.env['MESSAGING_CONNECT_FILE'] = bad;
  let err: unknown;
  try {
    new Container().connect();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect(err).toMatchObject({ file: bad, key: 'port' });
  expect((err as ConfigError).message).toBe(`${bad}: key "port" must be a port number (1-65535), got "fifty"`);

  const u = new URL(brokerUrl());
  const good = join(dir, 'good.json');
  const cfg = {
    scheme: 'amqp',
    host: u.hostname,
    port: Number(u.port || 5672),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
  writeFileSync(good, `// comments are allowed\n${JSON.stringify(cfg)}`);
  process.env['MESSAGING_CONNECT_FILE'] = good;
  const opened: string[] = [];
  const h = new (class extends MessagingHandler {
    onStart(e: Event): void {
      e.container.connect();
    }
    onConnectionOpened(e: Event): void {
      opened.push(e.connection.url);
      e.connection.close();
    }
  })();
  expect(await run(new Container(h))).toBe('resolved');
  expect(opened).toEqual([`amqp://${cfg.user}@${u.host}`]);
});

test('a handler that throws stops the container with a HandlerError; the message goes back to its queue', async () => {
  const { ch } = await s.open();
  const q = s.queue(s.name('throws'));
  await ch.queueDeclare(q);
  await ch.confirmSelect();
  await ch.basicPublish(new Message('poison'), { routingKey: q });
  const h = new (class extends MessagingHandler {
    onStart(e: Event): void {
      e.container.createReceiver(e.container.connect(brokerUrl()), q);
    }
    onMessage(): void {
      throw new TypeError('cannot handle this');
    }
  })();
  const err = await run(new Container(h));
  expect(err).toBeInstanceOf(HandlerError);
  expect((err as HandlerError).message).toBe('onMessage failed: cannot handle this');
  expect((err as HandlerError).cause).toBeInstanceOf(TypeError);
  await expectCount(ch, q, 1);
});
