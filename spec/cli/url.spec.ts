// Where the broker comes from (--url > AMQP_URL > RABBITMQ_URL > connect.json > default), Proton's
// connect.json format and search path, and the masked display form.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArgumentError } from '../../lib/core.js';
import { connectConfigCandidates, parseConnectConfig, stripJsonComments } from '../../lib/cli/connect-config.js';
import { ConfigError } from '../../lib/cli/errors.js';
import { DEFAULT_URL, describeOptions, maskUrl, resolveTarget } from '../../lib/cli/url.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'amqpts-cli-url-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(rel: string, text: string): string {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const none = { cwd: '/nonexistent-cwd', home: '/nonexistent-home' };

describe('resolution order', () => {
  it('--url wins over the environment', () => {
    const t = resolveTarget({
      url: 'amqp://a:pw1234@flag-host/',
      env: { AMQP_URL: 'amqp://env-host', RABBITMQ_URL: 'amqp://r-host' },
      ...none,
    });
    expect(t).toMatchObject({ source: '--url', options: { url: 'amqp://a:pw1234@flag-host/' }, display: 'amqp://a:***@flag-host/' });
    expect(t.secrets).toContain('pw1234');
  });

  it('AMQP_URL before RABBITMQ_URL, RABBITMQ_URL before connect.json', () => {
    const file = write('order/connect.json', '{"scheme": "amqp", "host": "file-host"}');
    const env = { MESSAGING_CONNECT_FILE: file };
    expect(resolveTarget({ env: { ...env, AMQP_URL: 'amqp://one', RABBITMQ_URL: 'amqp://two' }, ...none }).source).toBe('AMQP_URL');
    expect(resolveTarget({ env: { ...env, RABBITMQ_URL: 'amqp://two' }, ...none }).source).toBe('RABBITMQ_URL');
    const t = resolveTarget({ env, ...none });
    expect(t.source).toBe(`connect.json (${file})`);
    expect(t.options).toEqual({ host: 'file-host' });
  });

  it('the default when nothing names a broker', () => {
    const t = resolveTarget({ env: {}, ...none });
    expect(t).toMatchObject({ source: 'default', options: { url: DEFAULT_URL }, display: 'amqp://guest:***@localhost:5672/' });
  });

  it('a malformed URL is an ArgumentError', () => {
    expect(() => resolveTarget({ url: 'http://x', env: {}, ...none })).toThrow(ArgumentError);
    expect(() => resolveTarget({ env: { AMQP_URL: 'not a url' }, ...none })).toThrow(ArgumentError);
  });

  it('percent-encoded passwords are secrets in both forms', () => {
    const t = resolveTarget({ url: 'amqp://u:p%40ss%2Fword@h/', env: {}, ...none });
    expect(t.secrets).toEqual(expect.arrayContaining(['p@ss/word', 'p%40ss%2Fword']));
    expect(t.display).toBe('amqp://u:***@h/');
  });
});

describe('connect.json search path', () => {
  it('MESSAGING_CONNECT_FILE alone, else ./, ~/.config/messaging/, /etc/messaging/', () => {
    expect(connectConfigCandidates({ MESSAGING_CONNECT_FILE: '/x/c.json' }, '/cwd', '/home/u')).toEqual(['/x/c.json']);
    expect(connectConfigCandidates({}, '/cwd', '/home/u')).toEqual([
      '/cwd/connect.json',
      '/home/u/.config/messaging/connect.json',
      '/etc/messaging/connect.json',
    ]);
  });

  it('the working directory before the home directory', () => {
    write('cwd/connect.json', '{"scheme":"amqp","host":"from-cwd"}');
    write('home/.config/messaging/connect.json', '{"scheme":"amqp","host":"from-home"}');
    expect(resolveTarget({ env: {}, cwd: join(dir, 'cwd'), home: join(dir, 'home') }).options.host).toBe('from-cwd');
    expect(resolveTarget({ env: {}, cwd: join(dir, 'nowhere'), home: join(dir, 'home') }).options.host).toBe('from-home');
  });

  it('a MESSAGING_CONNECT_FILE that does not exist is a ConfigError', () => {
    expect(() => resolveTarget({ env: { MESSAGING_CONNECT_FILE: join(dir, 'missing.json') }, ...none })).toThrow(/does not exist/);
  });
});

describe('connect.json format', () => {
  it('JSON with // and /* */ comments; comment markers inside strings stay', () => {
    const text = '{\n // the broker\n "host": "h//not-a-comment", /* inline */ "user": "u/*x*/"\n}';
    expect(JSON.parse(stripJsonComments(text))).toEqual({ host: 'h//not-a-comment', user: 'u/*x*/' });
    expect(stripJsonComments('{"a": "q\\"//"} // end')).toBe('{"a": "q\\"//"} ');
  });

  it('every key: scheme, host, port, user, password, vhost, sasl.mechanisms', () => {
    const o = parseConnectConfig(
      '{"scheme":"amqp","host":"h","port":5673,"user":"alice","password":"secret","vhost":"prod","sasl":{"mechanisms":["SCRAM-SHA-256","PLAIN"]}}',
      'c.json',
    );
    expect(o).toEqual({ host: 'h', port: 5673, userid: 'alice', password: 'secret', virtualHost: 'prod', loginMethod: 'PLAIN' });
    expect(parseConnectConfig('{"scheme":"amqp","port":"amqps","sasl":{"mechanisms":"ANONYMOUS EXTERNAL"}}', 'c.json')).toEqual({
      port: 5671,
      loginMethod: 'EXTERNAL',
    });
  });

  it("Proton's default scheme is amqps: TLS on, tls.* files read, tls.verify false turns verification off", () => {
    const ca = write('tls/ca.pem', 'CA-PEM');
    const cert = write('tls/cert.pem', 'CERT-PEM');
    write('tls/cas/a.pem', 'A');
    write('tls/cas/b.crt', 'B');
    write('tls/cas/readme.txt', 'not a cert');
    expect(parseConnectConfig('{"host":"h"}', 'c.json')).toEqual({ host: 'h', ssl: {} });
    expect(parseConnectConfig(JSON.stringify({ tls: { ca, cert, verify: false } }), 'c.json')).toEqual({
      ssl: { ca: 'CA-PEM', cert: 'CERT-PEM', rejectUnauthorized: false },
    });
    expect(parseConnectConfig(JSON.stringify({ tls: { ca: join(dir, 'tls/cas') } }), 'c.json')).toEqual({ ssl: { ca: ['A', 'B'] } });
  });

  it.each([
    ['invalid JSON', '{host: 1}', /c\.json: not valid JSON/],
    ['not an object', '[1]', /must hold a JSON object/],
    ['unknown scheme', '{"scheme":"http"}', /"scheme" must be amqp or amqps/],
    ['bad port', '{"scheme":"amqp","port":70000}', /"port" must be a port number/],
    ['host not a string', '{"scheme":"amqp","host":5}', /"host" must be a string/],
    ['no supported mechanism', '{"scheme":"amqp","sasl":{"mechanisms":["GSSAPI"]}}', /none of sasl\.mechanisms \(GSSAPI\) is supported/],
    ['tls.verify not a boolean', '{"tls":{"verify":"no"}}', /"tls\.verify" must be true or false/],
    ['unreadable tls file', '{"tls":{"ca":"/nonexistent/ca.pem"}}', /cannot read tls\.ca/],
  ])('%s is a ConfigError naming the file', (_what, text, message) => {
    expect(() => parseConnectConfig(text, 'c.json')).toThrow(message);
    expect(() => parseConnectConfig(text, 'c.json')).toThrow(ConfigError);
  });

  it('the display form masks the password and shows the scheme, host, port and vhost', () => {
    expect(describeOptions({ host: 'h', port: 5673, userid: 'alice', password: 'secret', virtualHost: 'prod' })).toBe(
      'amqp://alice:***@h:5673/prod',
    );
    expect(describeOptions({ ssl: {} })).toBe('amqps://guest:***@localhost:5671/');
    const file = write('secret/connect.json', '{"scheme":"amqp","user":"bob","password":"hunter22"}');
    const t = resolveTarget({ env: { MESSAGING_CONNECT_FILE: file }, ...none });
    expect(t.display).toBe('amqp://bob:***@localhost:5672/');
    expect(t.secrets).toEqual(['hunter22']);
  });
});

describe('maskUrl', () => {
  it('masks the password of any URL and leaves URLs without one alone', () => {
    expect(maskUrl('amqps://user:pa55word@host:5671/v')).toBe('amqps://user:***@host:5671/v');
    expect(maskUrl('amqp://host/')).toBe('amqp://host/');
    expect(maskUrl('amqp://user@host/')).toBe('amqp://user@host/');
  });
});
