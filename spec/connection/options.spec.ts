// URL parsing (RabbitMQ's URI spec) and option resolution: defaults, merging, validation.
import { describe, expect, it } from '@jest/globals';
import { ArgumentError } from '../../lib/errors.js';
import { parseUrl, resolveOptions } from '../../lib/connection/options.js';

describe('parseUrl', () => {
  it('reads every part, percent-decoded', () => {
    expect(parseUrl('amqp://us%40er:p%3Ass@rabbit.example:5673/my%2Fvhost')).toEqual({
      host: 'rabbit.example',
      port: 5673,
      userid: 'us@er',
      password: 'p:ss',
      virtualHost: 'my/vhost',
    });
  });

  it('amqps turns TLS on; the port then defaults to 5671', () => {
    const o = parseUrl('amqps://h');
    expect(o.ssl).toBe(true);
    expect(resolveOptions({ url: 'amqps://h' }).port).toBe(5671);
    expect(resolveOptions({ url: 'amqp://h' }).port).toBe(5672);
  });

  it('IPv6 hosts in brackets', () => {
    expect(parseUrl('amqp://[::1]:5672').host).toBe('::1');
    expect(parseUrl('amqp://guest:guest@[fe80::1]/').host).toBe('fe80::1');
  });

  it('no path or "/" means the default vhost "/"; "%2f" is "/" too; other paths name the vhost', () => {
    expect(parseUrl('amqp://h').virtualHost).toBeUndefined();
    expect(parseUrl('amqp://h/').virtualHost).toBeUndefined();
    expect(resolveOptions({ url: 'amqp://h/' }).virtualHost).toBe('/');
    expect(parseUrl('amqp://h/%2f').virtualHost).toBe('/');
    expect(parseUrl('amqp://h/prod').virtualHost).toBe('prod');
  });

  it('query parameters: heartbeat, frame_max, channel_max, connection_timeout, auth_mechanism', () => {
    expect(parseUrl('amqp://h?heartbeat=10&frame_max=65536&channel_max=100&connection_timeout=2500&auth_mechanism=external')).toEqual({
      host: 'h',
      heartbeat: 10,
      frameMax: 65536,
      channelMax: 100,
      connectTimeout: 2500,
      loginMethod: 'EXTERNAL',
    });
  });

  it.each([
    ['not a URL', 'rabbit:::'],
    ['wrong scheme', 'http://h'],
    ['heartbeat not an integer', 'amqp://h?heartbeat=x'],
    ['frame_max below the minimum', 'amqp://h?frame_max=4096'],
    ['channel_max out of range', 'amqp://h?channel_max=70000'],
    ['unknown auth mechanism', 'amqp://h?auth_mechanism=KERBEROS'],
  ])('%s -> ArgumentError', (_what, url) => {
    expect(() => parseUrl(url)).toThrow(ArgumentError);
  });
});

describe('resolveOptions', () => {
  it('defaults match amqpy (guest/guest@localhost:5672, vhost /, frameMax 131072) plus PLAIN and TCP_NODELAY', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({
      host: 'localhost',
      port: 5672,
      userid: 'guest',
      virtualHost: '/',
      locale: 'en_US',
      frameMax: 131072,
      channelMax: 65535,
      loginMethod: 'PLAIN',
      noDelay: true,
      autoDecode: true,
      tls: undefined,
    });
    expect(o.password.reveal()).toBe('guest');
    expect(o.heartbeat).toBeUndefined(); // the server's proposal wins unless set
  });

  it('explicit options win over the URL', () => {
    const o = resolveOptions({ url: 'amqp://a:b@h:1234/v?heartbeat=5', port: 9999, heartbeat: 0, userid: 'x' });
    expect(o).toMatchObject({ host: 'h', port: 9999, heartbeat: 0, userid: 'x', virtualHost: 'v' });
    expect(o.password.reveal()).toBe('b');
  });

  it('amqpy-style "host:port" is split', () => {
    expect(resolveOptions({ host: 'rabbit:5674' })).toMatchObject({ host: 'rabbit', port: 5674 });
  });

  it('ssl: true and ssl options', () => {
    expect(resolveOptions({ ssl: true }).tls).toEqual({});
    expect(resolveOptions({ ssl: { servername: 's', rejectUnauthorized: true } }).tls).toEqual({
      servername: 's',
      rejectUnauthorized: true,
    });
  });

  it.each([
    ['frameMax below 8192', { frameMax: 4096 }],
    ['port 0', { port: 0 }],
    ['fractional channelMax', { channelMax: 1.5 }],
    ['negative heartbeat', { heartbeat: -1 }],
    ['negative connectTimeout', { connectTimeout: -5 }],
    ['unknown login method', { loginMethod: 'NTLM' as never }],
  ])('%s -> ArgumentError', (_what, opts) => {
    expect(() => resolveOptions(opts)).toThrow(ArgumentError);
  });
});
