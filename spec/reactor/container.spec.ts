// The container without a broker: run() and its end, onReactorInit / onStart, timer tasks,
// EventInjector (direct and through a MessagePort), doWork() pull mode, stop(), listen(), the
// handler-error path and the event accessors.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from '@jest/globals';
import {
  ApplicationEvent,
  ArgumentError,
  Container,
  type Event,
  EventContextError,
  EventInjector,
  HandlerError,
  ListenNotSupported,
  RemoteEventInjector,
} from '../../lib/index.js';
import { methodFor } from '../../lib/reactor/event.js';
import { Recorder } from './support.js';

describe('Container.run', () => {
  it('calls onReactorInit (else onStart) first, and resolves when nothing is left', async () => {
    const calls: string[] = [];
    const both = { onReactorInit: () => void calls.push('both:init'), onStart: () => void calls.push('both:start') };
    const startOnly = { onStart: (e: Event) => void calls.push(`start:${e.type}`) };
    const c = new Container(both, startOnly, { id: 'me' });
    expect(c.id).toBe('me');
    await c.run();
    expect(calls).toEqual(['both:init', 'start:reactorInit']);
  });

  it('runs timer tasks; a cancelled one never fires; tasks scheduled by a task keep it running', async () => {
    const rec = new Recorder();
    const c = new Container(rec);
    const fired: string[] = [];
    let again = 3;
    const h = {
      onTimerTask(e: Event) {
        fired.push(`chain ${again} fired=${String(e.task.fired)}`);
        if (--again > 0) c.schedule(5, h);
      },
    };
    c.schedule(30, { onTimerTask: () => void fired.push('late') });
    c.schedule(5, h);
    const cancelled = c.schedule(10, { onTimerTask: () => void fired.push('cancelled') });
    cancelled.cancel();
    expect(cancelled.cancelled).toBe(true);
    await c.run();
    expect(fired.filter((f) => f.startsWith('chain'))).toEqual(['chain 3 fired=true', 'chain 2 fired=true', 'chain 1 fired=true']);
    expect(fired.filter((f) => !f.startsWith('chain'))).toEqual(['late']);
    expect(() => c.schedule(-1)).toThrow(ArgumentError);
    expect(() => c.schedule(Number.NaN)).toThrow(ArgumentError);
  });

  it('a timer task without a handler goes to the container handlers; events a handler lacks go to onUnhandled', async () => {
    const rec = new Recorder();
    const c = new Container(rec);
    c.schedule(1);
    await c.run();
    expect(rec.log).toEqual(['onReactorInit', 'onTimerTask']);
    expect(() => rec.of('onTimerTask')[0]?.sender).toThrow(EventContextError);
    expect(rec.of('onTimerTask')[0]?.context.task).toBeDefined();
  });

  it('stop() cancels tasks and run() resolves; listen() is not supported', async () => {
    const c = new Container({ onStart: () => void c.schedule(60_000) });
    const done = c.run();
    setTimeout(() => c.stop(), 10);
    await done;
    expect(() => c.listen('amqp://0.0.0.0')).toThrow(ListenNotSupported);
  });

  it('a failing onError stops the container: run() rejects with a HandlerError', async () => {
    const c = new Container({
      onStart: () => {
        throw new Error('first');
      },
      onError: () => {
        throw new Error('second');
      },
    });
    const err = await c.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).message).toMatch(/the error handler failed: second \(handling: onStart failed: first\)/);
  });

  it('refuses bad constructor arguments', () => {
    expect(() => new Container({ id: '' })).toThrow(ArgumentError);
    expect(() => new Container(5 as unknown as object)).toThrow(ArgumentError);
  });
});

describe('EventInjector', () => {
  it('names methods after the type: tick -> onTick, my_event -> onMyEvent', () => {
    expect(methodFor('tick')).toBe('onTick');
    expect(methodFor('my_event')).toBe('onMyEvent');
    expect(methodFor('linkOpened')).toBe('onLinkOpened');
    expect(() => new ApplicationEvent('1bad')).toThrow(ArgumentError);
  });

  it('handles events triggered before and after registration, in order, on the loop; close() lets run() finish', async () => {
    const got: unknown[] = [];
    const c = new Container({
      onTick: (e: Event) => void got.push(e.subject),
      onMyEvent: (e: Event) => void got.push(`my:${String(e.subject)}`),
    });
    const inj = new EventInjector();
    inj.trigger(new ApplicationEvent('tick', { subject: 1 }));
    c.selectable(inj);
    const done = c.run();
    inj.trigger(new ApplicationEvent('my_event', { subject: 2 }));
    setTimeout(() => {
      inj.trigger(new ApplicationEvent('tick', { subject: 3 }));
      inj.close();
    }, 10);
    await done;
    expect(got).toEqual([1, 'my:2', 3]);
    expect(() => inj.trigger(new ApplicationEvent('tick'))).toThrow(/closed/);
  });

  it('takes events through its MessagePort (as a worker thread would send them) until the remote side closes it', async () => {
    const got: unknown[] = [];
    const c = new Container({ onWork: (e: Event) => void got.push(e.subject) });
    const inj = c.selectable(new EventInjector());
    const port = inj.port();
    expect(inj.port()).toBe(port);
    const remote = new RemoteEventInjector(port);
    const done = c.run();
    remote.trigger('work', { n: 1 });
    remote.trigger(new ApplicationEvent('work', { subject: [2] }));
    remote.close();
    expect(() => remote.trigger('work')).toThrow(ArgumentError);
    await done;
    expect(got).toEqual([{ n: 1 }, [2]]);
    expect(inj.closed).toBe(true);
    const other = new MessageChannel();
    expect(() => new RemoteEventInjector(other.port1).trigger(new ApplicationEvent('x', { link: {} as never }))).toThrow(
      /cannot cross threads/,
    );
    other.port1.close();
  });
});

describe('doWork (pull mode)', () => {
  it('handles only while called, waits up to the timeout for an event, and returns false once nothing is left', async () => {
    const got: string[] = [];
    const c = new Container({ onStart: () => void got.push('start'), onPing: (e: Event) => void got.push(String(e.subject)) });
    const inj = c.selectable(new EventInjector());
    inj.trigger(new ApplicationEvent('ping', { subject: 'a' }));
    expect(await c.doWork(0)).toBe(true);
    expect(got).toEqual(['start', 'a']);
    inj.trigger(new ApplicationEvent('ping', { subject: 'b' }));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['start', 'a']); // nothing without doWork
    setTimeout(() => inj.trigger(new ApplicationEvent('ping', { subject: 'c' })), 20);
    expect(await c.doWork(1000)).toBe(true);
    expect(got.slice(2, 3)).toEqual(['b']);
    const t0 = Date.now();
    expect(await c.doWork(5000)).toBe(true); // c arrives meanwhile
    expect(got).toEqual(['start', 'a', 'b', 'c']);
    expect(Date.now() - t0).toBeLessThan(4000);
    inj.close();
    expect(await c.doWork(0)).toBe(false);
    await expect(c.doWork(-1)).rejects.toThrow(ArgumentError);
  });
});
