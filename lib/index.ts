/**
 * amqpts public API: a promise-based AMQP 0.9.1 client shaped after amqpy.
 *
 * ```ts
 * import { Connection, Message } from 'amqpts';
 * const conn = await Connection.connect('amqp://guest:guest@localhost:5672/');
 * const ch = await conn.channel();
 * await ch.queueDeclare('q');
 * await ch.basicPublish(new Message('hello'), { routingKey: 'q' });
 * ```
 * @module amqpts
 */
export * from './core.js';
export * from './reactor/index.js';
export * from './messenger/index.js';
export * from './session/index.js';
export * from './rpc/index.js';
