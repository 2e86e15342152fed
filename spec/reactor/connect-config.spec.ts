// connect.json discovery (MESSAGING_CONNECT_FILE, ./, ~/.config/messaging/, /etc/messaging/),
// its validation (a malformed file names the file and the key), and connect()'s options as the
// core receives them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { AddressError, ArgumentError, Backoff, ConfigError, Container } from '../../lib/index.js';
import { findConnectFile, loadConnectConfig, parseConnectConfig } from '../../lib/reactor/connect-config.js';
import { resolveConnect } from '../../lib/reactor/connect-options.js';

const root = mkdtempSync(join(tmpdir(), 'amqpts-connect-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dir(...parts: string[]): string {
  const d = join(root, ...parts);
  mkdirSync(d, { recursive: true });
  return d;
}

describe('connect.json discovery', () => {
  it('takes MESSAGING_CONNECT_FILE, then ./connect.json, ~/.config/messaging, /etc/messaging, in that order', () => {
    const cwd = dir('a', 'cwd');
    const home = dir('a', 'home');
    const etc = dir('a', 'etc');
    const search = { env: {}, cwd, home, etc };
    expect(findConnectFile(search)).toBeUndefined();
    writeFileSync(join(etc, 'connect.json'), '{}');
    expect(findConnectFile(search)).toBe(join(etc, 'connect.json'));
    writeFileSync(join(dir('a', 'home', '.config', 'messaging'), 'connect.json'), '{}');
    expect(findConnectFile(search)).toBe(join(home, '.config', 'messaging', 'connect.json'));
    writeFileSync(join(cwd, 'connect.json'), '{}');
    expect(findConnectFile(search)).toBe(join(cwd, 'connect.json'));
    const named = join(dir('a', 'x'), 'mine.json');
    writeFileSync(named, '{}');
    expect(findConnectFile({ ...search, env: { MESSAGING_CONNECT_FILE: named } })).toBe(named);
    expect(() => findConnectFile({ ...search, env: { MESSAGING_CONNECT_FILE: join(root, 'missing.json') } })).toThrow(ConfigError);
  });

  it("with no file, Proton's defaults: amqps://localhost:5671, certificates verified", () => {
    const d = dir('none');
    const cfg = loadConnectConfig({ env: {}, cwd: d, home: d, etc: d });
    expect(cfg).toMatchObject({ file: undefined, url: 'amqps://localhost:5671', tls: { rejectUnauthorized: true } });
  });

  it('reads every key (comments allowed), including TLS files relative to the file', () => {
    const d = dir('full');
    writeFileSync(join(d, 'ca.pem'), 'CA');
    writeFileSync(join(d, 'cert.pem'), 'CERT');
    writeFileSync(join(d, 'key.pem'), 'KEY');
    const text = `{
      // a comment, and "a // string" must survive
      "scheme": "amqps", "host": "broker.example", "port": 5999, /* block */
      "user": "app", "password": "a // b",
      "sasl": { "mechanisms": "SCRAM-SHA-256 PLAIN", "allow_insecure": false },
      "tls": { "ca": "ca.pem", "cert": "cert.pem", "key": "key.pem", "verify": false }
    }`;
    const cfg = parseConnectConfig(text, join(d, 'connect.json'));
    expect(cfg.url).toBe('amqps://broker.example:5999');
    expect(cfg).toMatchObject({ user: 'app', password: 'a // b', loginMethod: 'PLAIN' });
    expect(cfg.tls?.rejectUnauthorized).toBe(false);
    expect(String(cfg.tls?.ca)).toBe('CA');
    expect(String(cfg.tls?.cert)).toBe('CERT');
    expect(String(cfg.tls?.key)).toBe('KEY');
    expect(parseConnectConfig('{"scheme":"amqp"}', 'f').url).toBe('amqp://localhost:5672');
  });

  it('a malformed file is a ConfigError naming the file and the key', () => {
    const f = '/etc/messaging/connect.json';
    const cases: Array<[string, string]> = [
      ['{"port": "abc"}', 'port'],
      ['{"port": 70000}', 'port'],
      ['{"scheme": "http"}', 'scheme'],
      ['{"host": 5}', 'host'],
      ['{"user": ["x"]}', 'user'],
      ['{"sasl": "PLAIN"}', 'sasl'],
      ['{"sasl": {"mechanisms": "GSSAPI"}}', 'sasl.mechanisms'],
      ['{"sasl": {"allow_insecure": "yes"}}', 'sasl.allow_insecure'],
      ['{"scheme": "amqp", "sasl": {"allow_insecure": false}}', 'sasl.allow_insecure'],
      ['{"tls": {"verify": "no"}}', 'tls.verify'],
      ['{"tls": {"ca": "/no/such/ca.pem"}}', 'tls.ca'],
      ['{"host": "a",}', ''],
      ['[1]', ''],
    ];
    for (const [text, key] of cases) {
      let err: unknown;
      try {
        parseConnectConfig(text, f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).file).toBe(f);
      expect((err as ConfigError).key).toBe(key);
      expect((err as ConfigError).message).toContain(f);
      if (key) expect((err as ConfigError).message).toContain(`"${key}"`);
    }
  });
});

describe("connect()'s options", () => {
  it('passes Proton URLs and options to the core in its terms (ms heartbeat to seconds, mechanisms, properties)', () => {
    const r = resolveConnect({
      url: 'broker:5673/examples',
      heartbeat: 1500,
      allowedMechs: 'GSSAPI EXTERNAL PLAIN',
      user: 'u',
      password: 'p',
      virtualHost: 'v',
      properties: { connection_name: 'n' },
      maxFrameSize: 65536,
    });
    expect(r.core).toMatchObject({
      url: 'amqp://broker:5673',
      heartbeat: 2,
      loginMethod: 'EXTERNAL',
      userid: 'u',
      password: 'p',
      virtualHost: 'v',
      clientProperties: { connection_name: 'n' },
      frameMax: 65536,
      reconnect: false,
    });
    expect(r.strategy).toBeInstanceOf(Backoff);
    expect(r.display).toBe('amqp://u@broker:5673'); // the user, never the password
    expect(resolveConnect({ url: 'amqp://u:secret@h' }).display).toBe('amqp://u@h');
    expect(resolveConnect({ urls: ['a', 'amqps://b'] }).core.urls).toEqual(['amqp://a', 'amqps://b']);
    expect(resolveConnect({ url: 'h', reconnect: false }).strategy).toBeNull();
    const mine = { next: () => 1, reset: () => undefined };
    expect(resolveConnect({ url: 'h', reconnect: mine }).strategy).toBe(mine);
  });

  it('refuses bad options before connecting', () => {
    const c = new Container();
    expect(() => c.connect({ url: 'h', heartbeat: -1 })).toThrow(ArgumentError);
    expect(() => c.connect({ url: 'h', allowedMechs: 'GSSAPI' })).toThrow(/names none of/);
    expect(() => c.connect({ url: 'h', reconnect: {} as never })).toThrow(/reconnect must be/);
    expect(() => c.connect({ url: 'h', maxFrameSize: 100 })).toThrow(/maxFrameSize/);
    expect(() => c.connect({ urls: [] })).toThrow(/non-empty/);
    expect(() => c.connect('amqp://h:99999')).toThrow(ArgumentError);
    expect(() => c.connect('amqp://h/~x')).toThrow(AddressError);
    expect(() => c.createSender('h/%zz')).toThrow(AddressError);
  });
});
