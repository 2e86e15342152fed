import { Connection } from '../../lib/connection/connection.js';
import { AccessRefused, type AMQPError, ConnectionClosed, ConnectionLost, NotAllowed } from '../../lib/errors.js';
import { Message } from '../../lib/message.js';
import type { ReconnectStrategy } from '../../lib/recovery/backoff.js';
import { conns, SocketFactory, setup, openChannel, rpc, rejection, once, tick, sorted, logEvents } from '../support/recovery-harness.js';

describe('recovery that cannot succeed', () => {
  it.each([
    ['403 ACCESS_REFUSED at login', 403, AccessRefused],
    ['530 NOT_ALLOWED at connection.open', 530, NotAllowed],
  ] as const)('%s during reconnect: recoveryFailed, then close, everything settles, no more attempts', async (_what, code, Cls) => {
    const { f, conn, b1 } = await setup();
    const events = logEvents(conn);
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const unconfirmed = rejection(ch.basicPublish(new Message('u'), { routingKey: 'q' }));
    await b1.expectContent(1);
    b1.destroy();
    await once(conn, 'disconnected');
    const queued = rejection(ch.queueDeclare('waits'));
    const buffered = rejection(ch.basicPublish(new Message('b'), { routingKey: 'q' }));
    const waitingChannel = rejection(conn.channel());
    const failed = once<AMQPError>(conn, 'recoveryFailed');
    const closed = once<AMQPError | undefined>(conn, 'close');
    const b2 = await f.next();
    await b2.protocolHeader();
    b2.sendStart();
    await b2.expect('connection.start-ok', 0);
    if (code === 530) {
      b2.send(0, 'connection.tune', { channelMax: 2047, frameMax: 131072, heartbeat: 0 });
      await b2.expect('connection.tune-ok', 0);
      await b2.expect('connection.open', 0);
      b2.send(0, 'connection.close', { replyCode: 530, replyText: 'NOT_ALLOWED - vhost / not found', classId: 10, methodId: 40 });
    } else {
      b2.send(0, 'connection.close', {
        replyCode: 403,
        replyText: 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN',
        classId: 0,
        methodId: 0,
      });
    }
    const err = await failed;
    expect(err).toBeInstanceOf(Cls);
    expect(err.replyCode).toBe(code);
    expect(await closed).toBe(err);
    expect(conn.state).toBe('closed');
    for (const p of [unconfirmed, queued, buffered, waitingChannel]) expect(await p).toBeInstanceOf(Error);
    expect(await queued).toBe(err);
    expect(await waitingChannel).toBe(err);
    await tick(150);
    expect(f.calls).toBe(2);
    expect(sorted(events)).toEqual(['disconnected:ConnectionLost', 'reconnecting:1:0', `recoveryFailed:${Cls.name}`, `close:${Cls.name}`]);
  });

  it('without reconnect the first loss closes for good and rejects everything with the cause', async () => {
    const { f, conn, b1 } = await setup({ reconnect: false });
    const events = logEvents(conn);
    const ch = await openChannel(conn, b1, 1);
    const inFlight = rejection(ch.queueDeclare('a'));
    const queued = rejection(ch.queueDeclare('b'));
    await b1.expect('queue.declare', 1);
    const closed = once<AMQPError | undefined>(conn, 'close');
    b1.destroy();
    const err = await closed;
    expect(err).toBeInstanceOf(ConnectionLost);
    expect(await inFlight).toBe(err);
    expect(await queued).toBe(err);
    await tick(30);
    expect(f.calls).toBe(1);
    expect(events).toEqual(['close:ConnectionLost']);
  });
});

describe('close() during recovery', () => {
  it('while sleeping between attempts: stops at once, settles every pending promise, makes no more attempts', async () => {
    const strategy: ReconnectStrategy = { next: () => 60_000, reset: () => {} };
    const { f, conn, b1 } = await setup({ reconnect: strategy });
    const events = logEvents(conn);
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const unconfirmed = rejection(ch.basicPublish(new Message('u'), { routingKey: 'q' }));
    await b1.expectContent(1);
    const reconnecting = once<{ attempt: number; delay: number }>(conn, 'reconnecting');
    b1.destroy();
    expect(await reconnecting).toMatchObject({ attempt: 1, delay: 60_000 });
    const queued = rejection(ch.queueDeclare('q'));
    const buffered = rejection(ch.basicPublish(new Message('b'), { routingKey: 'q' }));
    const waitingChannel = rejection(conn.channel());
    const drain = rejection(conn.drainEvents());
    const started = Date.now();
    await conn.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(conn.state).toBe('closed');
    for (const p of [unconfirmed, queued, buffered, waitingChannel, drain]) expect(await p).toBeInstanceOf(ConnectionClosed);
    await tick(30);
    expect(sorted(events)).toEqual(['disconnected:ConnectionLost', 'reconnecting:1:60000', 'close:clean']);
    expect(f.calls).toBe(1);
    await expect(conn.close()).resolves.toBeUndefined();
  });

  it('during the reconnect handshake: the new socket is closed and the connection stays closed', async () => {
    const { f, conn, b1 } = await setup();
    const events = logEvents(conn);
    const ch = await openChannel(conn, b1, 1);
    b1.destroy();
    const b2 = await f.next();
    await b2.protocolHeader(); // the handshake hangs here
    const queued = rejection(ch.queueDeclare('q'));
    await conn.close();
    expect(await queued).toBeInstanceOf(ConnectionClosed);
    await b2.closed;
    await tick(150);
    expect(conn.state).toBe('closed');
    expect(f.calls).toBe(2);
    expect(sorted(events)).toEqual(['disconnected:ConnectionLost', 'reconnecting:1:0', 'close:clean']);
  });

  it('while the new socket is still being opened: the late socket is closed, no handshake, no resurrection', async () => {
    const { f, conn, b1 } = await setup();
    const events = logEvents(conn);
    await openChannel(conn, b1, 1);
    let open!: () => void;
    f.plan = [
      {
        gate: new Promise<void>((r) => {
          open = r;
        }),
      },
    ];
    b1.destroy();
    await once(conn, 'reconnecting');
    await tick(10);
    expect(f.calls).toBe(2);
    await conn.close();
    expect(conn.state).toBe('closed');
    open(); // the socket arrives after close(): a broker that would happily talk
    const b2 = await f.next();
    const talked = b2
      .handshake()
      .then(() => b2.openChannel(1))
      .then(
        () => true,
        () => false,
      );
    await Promise.race([b2.closed, tick(500)]);
    expect(conn.state).toBe('closed');
    expect(sorted(events)).toEqual(['disconnected:ConnectionLost', 'reconnecting:1:0', 'close:clean']);
    expect(await talked).toBe(false);
  });
});

describe('reconnect strategy and URLs', () => {
  const urls = ['amqp://guest:guest@host-a:5672/', 'amqp://guest:guest@host-b:5673/', 'amqp://u%40x:secret@host-c:5674/vh'];
  const shown = ['amqp://guest@host-a:5672/%2F', 'amqp://guest@host-b:5673/%2F', 'amqp://u%40x@host-c:5674/vh'];

  it('connect() tries the URLs in order and uses the first that answers', async () => {
    const f = new SocketFactory();
    f.plan = ['fail'];
    const connecting = Connection.connect({ urls, callTimeout: 2000, socket: f.socket });
    const b = await f.next();
    await b.handshake();
    const conn = await connecting;
    conns.add(conn);
    expect(f.calls).toBe(2);
    expect(conn.state).toBe('open');
  });

  it("reconnecting events carry attempt, the strategy's delays and round-robin URLs (password hidden); reset() after recovery", async () => {
    const delays = [0, 15, 30, 45, 60, 75, 90];
    const calls: string[] = [];
    let i = 0;
    const strategy: ReconnectStrategy = {
      next: () => {
        calls.push('next');
        return delays[i++] ?? 100;
      },
      reset: () => {
        calls.push('reset');
        i = 0;
      },
    };
    const { f, conn, b1 } = await setup({ urls, reconnect: strategy });
    expect(calls).toEqual(['reset']); // after connect
    calls.length = 0;
    const seen: Array<{ attempt: number; delay: number; url: string; at: number }> = [];
    conn.on('reconnecting', (x) => seen.push({ ...x, at: Date.now() }));
    f.plan = ['fail', 'fail', 'fail', 'fail'];
    const recovered = once<{ attempts: number; url: string }>(conn, 'recovered');
    const lostAt = Date.now();
    b1.destroy();
    const b2 = await f.next(5000);
    await b2.handshake();
    const info = await recovered;
    expect(seen.map(({ attempt, delay }) => [attempt, delay])).toEqual([
      [1, 0],
      [2, 15],
      [3, 30],
      [4, 45],
      [5, 60],
    ]);
    // connected to host-a: the attempts go round-robin from the next URL on
    expect(seen.map((x) => x.url)).toEqual([shown[1], shown[2], shown[0], shown[1], shown[2]]);
    expect(info).toMatchObject({ attempts: 5, url: shown[2] });
    expect(JSON.stringify(seen)).not.toContain('secret');
    // each attempt waited (at least) its delay: the sum of the delays before the last attempt
    expect((seen[4]?.at ?? 0) - lostAt).toBeGreaterThanOrEqual(0 + 15 + 30 + 45 - 5);
    expect(calls).toEqual(['next', 'next', 'next', 'next', 'next', 'reset']);
    // a second loss starts the strategy over, from the URL after the current one
    calls.length = 0;
    seen.length = 0;
    const again = once<{ attempts: number; url: string }>(conn, 'recovered');
    b2.destroy();
    const b3 = await f.next();
    await b3.handshake();
    expect(await again).toMatchObject({ attempts: 1, url: shown[0] });
    expect(seen.map(({ attempt, delay, url }) => [attempt, delay, url])).toEqual([[1, 0, shown[0]]]);
    expect(calls).toEqual(['next', 'reset']);
  });

  it('the default Backoff schedule drives the delays: 0, 100, 200, 400 with random() = 0', async () => {
    const { f, conn, b1 } = await setup({ urls: urls.slice(0, 2) });
    const seen: Array<[number, number, string]> = [];
    conn.on('reconnecting', (x) => seen.push([x.attempt, x.delay, x.url]));
    f.plan = ['fail', 'fail', 'fail'];
    b1.destroy();
    const b2 = await f.next(5000);
    await b2.handshake();
    await once(conn, 'recovered');
    expect(seen.map(([a, d]) => [a, d])).toEqual([
      [1, 0],
      [2, 100],
      [3, 200],
      [4, 400],
    ]);
    // two URLs: consecutive attempts alternate
    for (let k = 1; k < seen.length; k++) expect(seen[k]?.[2]).not.toBe(seen[k - 1]?.[2]);
    expect(new Set(seen.map((x) => x[2]))).toEqual(new Set(shown.slice(0, 2)));
  });

  it('reconnect: BackoffOptions builds a Backoff from them', async () => {
    const { f, conn, b1 } = await setup({ reconnect: { initial: 20, factor: 3, jitter: 0 } });
    const seen: number[] = [];
    conn.on('reconnecting', (x) => seen.push(x.delay));
    f.plan = ['fail', 'fail', 'fail'];
    b1.destroy();
    const b2 = await f.next(5000);
    await b2.handshake();
    await once(conn, 'recovered');
    expect(seen).toEqual([0, 20, 60, 180]);
  });
});
