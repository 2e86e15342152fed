// Passwords stay secret: never in an error's message, stack, String() or JSON, nor in util.inspect
// of a Connection, a Channel or an options object, before, during or after a reconnect.
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { Connection } from '../../lib/connection/connection.js';
import { parseUrl, resolveOptions } from '../../lib/connection/options.js';
import { ArgumentError } from '../../lib/errors.js';
import { redactUrl, Secret } from '../../lib/util/secret.js';
import { FakeBroker } from '../support/fake-broker.js';
import { once, openChannel, setup } from '../support/recovery-harness.js';

const PASSWORD = 'S3cret-p4ss';

/** Every way a value could be shown: none may contain the password. */
function shown(value: unknown): string[] {
  const out = [inspect(value, { depth: 8, showHidden: true, getters: true }), String(value)];
  try {
    out.push(JSON.stringify(value) ?? '');
  } catch {
    // circular structures cannot be JSON (and so cannot leak through it)
  }
  if (value instanceof Error) out.push(value.message, value.stack ?? '');
  return out;
}

function expectNoPassword(value: unknown): void {
  for (const s of shown(value)) expect(s).not.toContain(PASSWORD);
}

describe('errors about URLs mask the password', () => {
  it.each([`amqp://app:${PASSWORD}@host:99999/`, `amqp://app:${PASSWORD}@ho st/`, `amqp://app:${PASSWORD}@[::1/`])(
    'connect(%s) rejects with an ArgumentError that shows app:***@',
    async (url) => {
      const err = await Connection.connect(url).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ArgumentError);
      expect((err as Error).message).toContain('app:***@');
      expectNoPassword(err);
    },
  );

  it('redactUrl masks the password of URLs and URL-like strings', () => {
    expect(redactUrl(`amqps://u:${PASSWORD}@h:5671/v?x=1`)).toBe('amqps://u:***@h:5671/v?x=1');
    expect(redactUrl(`amqp://u:p%40ss@h`)).toBe('amqp://u:***@h');
    expect(redactUrl('amqp://u@h/')).toBe('amqp://u@h/');
    expect(redactUrl('amqp://h:5672/')).toBe('amqp://h:5672/');
  });
});

describe('options objects', () => {
  it('parseUrl() result hides the password in inspect and JSON, and still carries it', () => {
    const o = parseUrl(`amqp://app:${PASSWORD}@h/vh`);
    expectNoPassword(o);
    expect(inspect(o)).toContain("password: '***'");
    expect({ ...o }.password).toBe(PASSWORD);
  });

  it('resolved options hold the password as a Secret', () => {
    const o = resolveOptions({ url: `amqp://app:${PASSWORD}@h/` });
    expectNoPassword(o);
    expect(o.password).toBeInstanceOf(Secret);
    expect(o.password.reveal()).toBe(PASSWORD);
    expect(`${o.password}`).toBe('***');
  });
});

describe('a Connection and its Channels', () => {
  it('inspect as host, user, vhost, state and channels; never the password (also with several URLs)', async () => {
    const b = new FakeBroker();
    const connecting = Connection.connect({
      urls: [`amqp://app:${PASSWORD}@127.0.0.1:5672/prod`, `amqp://app:${PASSWORD}@other:5672/prod`],
      socket: b.clientSocket,
      callTimeout: 2000,
    });
    await b.handshake();
    const conn = await connecting;
    const [ch] = await Promise.all([conn.channel(), b.openChannel()]);
    expect(inspect(conn)).toBe(
      "Connection { url: 'amqp://app@127.0.0.1:5672/prod', user: 'app', vhost: 'prod', state: 'open', channels: 1 }",
    );
    expect(inspect(ch)).toBe("Channel { id: 1, state: 'open', mode: 'none', consumers: 0 }");
    expectNoPassword(conn);
    expectNoPassword(ch);
    expectNoPassword({ conn, ch });
    const closing = conn.close();
    await b.expect('connection.close', 0);
    b.send(0, 'connection.close-ok', {});
    await closing;
  });

  it('before, during and after a reconnect', async () => {
    const { f, conn, b1 } = await setup({ url: `amqp://app:${PASSWORD}@h/`, password: PASSWORD });
    const ch = await openChannel(conn, b1, 1);
    expectNoPassword(conn);
    const events: unknown[] = [];
    for (const ev of ['disconnected', 'reconnecting', 'recovered'] as const) conn.on(ev, (x: unknown) => events.push(x));
    const recovered = once(conn, 'recovered');
    b1.destroy();
    const b2 = await f.next();
    expect(conn.state).toBe('recovering');
    expectNoPassword(conn);
    expectNoPassword(ch);
    const hs = await b2.handshake();
    expect(hs.startOk.response.toString()).toContain(PASSWORD); // the SASL response is the one place it goes
    await b2.openChannel(1);
    await recovered;
    expectNoPassword(conn);
    expectNoPassword(ch);
    expectNoPassword(events);
  });
});
