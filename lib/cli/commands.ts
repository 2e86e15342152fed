/**
 * The commander definitions of every command: names, arguments, options with their parsers and
 * defaults, help text and examples. Each action turns what commander parsed into a validated plan
 * (the *Plan functions of the command files) and hands it to its runner; program.ts supplies the
 * runners and the context.
 */
import { type Command, Option } from 'commander';
import type { BasicProperties, FieldValue } from '../core.js';
import type { ConsumePlan } from './consume.js';
import { consumePlan } from './consume.js';
import type { DeclarePlan, DestinationType } from './declare.js';
import type { DeletePlan } from './delete.js';
import { UsageError } from './errors.js';
import { type GetPlan, getPlan } from './get.js';
import {
  buildProperties,
  collect,
  commanderParser,
  duration,
  int,
  type KeyValue,
  parseKeyValue,
  parseProperty,
  parseStreamOffset,
  size,
  toTable,
} from './parse.js';
import { type PerfOptions, type PerfPlan, perfPlan } from './perf.js';
import type { PingPlan } from './ping.js';
import { type PublishPlan, publishPlan } from './publish.js';
import type { PurgePlan } from './purge.js';
import { OVERFLOW, type QueueOptionsInput, QUEUE_TYPES, queueDeclareOptions } from './queue-options.js';

/**
 * Runs a validated plan with the runner named `runner`; `cmd` is the commander command (for the
 * global options), `label` names the command (e.g. `declare queue`) for the connection name.
 */
export type Dispatch = <K extends keyof PlanTypes>(cmd: Command, label: string, runner: K, plan: PlanTypes[K]) => Promise<void>;

/** The plan type of each runner. */
export interface PlanTypes {
  publish: PublishPlan;
  consume: ConsumePlan;
  get: GetPlan;
  declare: DeclarePlan;
  purge: PurgePlan;
  delete: DeletePlan;
  ping: PingPlan;
  perf: PerfPlan;
}

const header = collect((v) => parseKeyValue(v, '--header'));
const arg = collect((v) => parseKeyValue(v, '--arg'));
const property = collect(parseProperty);
const json = ['--json', 'print JSON (one object per line) instead of text'] as const;

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Registers `publish`. */
function publish(program: Command, dispatch: Dispatch, stdinIsTTY: () => boolean): void {
  program
    .command('publish')
    .description('publish a message (body from the argument, --file or stdin)')
    .argument('[body]', 'the message body (UTF-8 text)')
    .option('-e, --exchange <name>', 'exchange to publish to', '')
    .option('-r, --routing-key <key>', 'routing key (the queue name, with the default exchange)', '')
    .option('-H, --header <key=value>', 'an application header; key:=json for a typed value (repeatable)', header)
    .option(
      '-p, --property <name=value>',
      'a message property such as content_type=text/plain, delivery_mode=2, priority=5 (repeatable)',
      property,
    )
    .option('--persistent', 'delivery_mode 2: the broker writes the message to disk', false)
    .option('-f, --file <path>', 'read the body from a file')
    .option('--lines', 'publish each line of the body as its own message', false)
    .option('-n, --count <n>', 'publish the body (each line with --lines) this many times', int('--count', 1), 1)
    .option('--rate <msg/s>', 'at most this many messages per second (0: no limit)', int('--rate'), 0)
    .option('--confirm', 'wait for the broker to confirm every message (exit 8 if one is nacked)', false)
    .option('--mandatory', 'fail (exit 8) when no queue takes a message; implies --confirm', false)
    .option(...json)
    .addHelpText(
      'after',
      examples(
        'amqpts publish -r orders \'{"id": 1}\' -p content_type=application/json --confirm',
        'amqpts publish -e events -r user.created -H source=cli -H attempt:=1 --file event.json',
        'seq 1 1000 | amqpts publish -r numbers --lines --rate 200',
      ),
    )
    .action(async (body: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      const props = (o['property'] as Partial<BasicProperties>[] | undefined) ?? [];
      if (o['persistent']) props.push({ deliveryMode: 2 });
      const properties = buildProperties(props, (o['header'] as KeyValue[] | undefined) ?? []);
      const plan = publishPlan(
        body,
        {
          exchange: o['exchange'] as string,
          routingKey: o['routingKey'] as string,
          properties,
          file: o['file'] as string | undefined,
          lines: o['lines'] === true,
          count: o['count'] as number,
          rate: o['rate'] as number,
          confirm: o['confirm'] === true,
          mandatory: o['mandatory'] === true,
          json: o['json'] === true,
        },
        stdinIsTTY(),
      );
      await dispatch(cmd, 'publish', 'publish', plan);
    });
}

/** Registers `consume` and `get`. */
function consumeAndGet(program: Command, dispatch: Dispatch): void {
  program
    .command('consume')
    .description('consume messages from a queue and print them (body per line, or --json)')
    .argument('<queue>', 'the queue')
    .option('-n, --count <n>', 'stop after this many messages', int('--count', 1))
    .option('--prefetch <n>', 'unacked messages the broker may send ahead (0: no limit)', int('--prefetch', 0, 65535), 100)
    .option('--no-ack', 'let the broker forget each message as it sends it (no acks)')
    .option('--requeue', 'look without taking: hold the messages and put them all back at the end', false)
    .option(
      '--offset <offset>',
      'for streams: first, last, next, an offset, an ISO-8601 time or an interval (10m, 1h, 7D)',
      commanderParser(parseStreamOffset),
    )
    .option('--idle-timeout <time>', 'stop after this long without a message (e.g. 5s)', duration('--idle-timeout'))
    .option(...json)
    .addHelpText(
      'after',
      examples('amqpts consume orders --count 10 --json', 'amqpts consume events-stream --offset first --idle-timeout 2s'),
    )
    .action(async (queue: string, o: Record<string, unknown>, cmd: Command) => {
      const plan = consumePlan(queue, {
        count: o['count'] as number | undefined,
        prefetch: o['prefetch'] as number,
        ack: o['ack'] !== false,
        requeue: o['requeue'] === true,
        json: o['json'] === true,
        offset: o['offset'] as FieldValue | undefined,
        idleTimeout: o['idleTimeout'] as number | undefined,
      });
      await dispatch(cmd, 'consume', 'consume', plan);
    });

  program
    .command('get')
    .description('fetch messages with basic.get and print them; an empty queue is not an error')
    .argument('<queue>', 'the queue')
    .option('-n, --count <n>', 'fetch up to this many messages', int('--count', 1), 1)
    .option('--no-ack', 'take the messages without acks')
    .option('--requeue', 'put the messages back after printing them', false)
    .option(...json)
    .addHelpText('after', examples('amqpts get orders', 'amqpts get orders --count 5 --requeue --json'))
    .action(async (queue: string, o: Record<string, unknown>, cmd: Command) => {
      const plan = getPlan(queue, {
        count: o['count'] as number,
        ack: o['ack'] !== false,
        requeue: o['requeue'] === true,
        json: o['json'] === true,
      });
      await dispatch(cmd, 'get', 'get', plan);
    });
}

const QUEUE_TYPED = [
  'type',
  'durable',
  'autoDelete',
  'maxLength',
  'maxLengthBytes',
  'messageTtl',
  'expires',
  'deadLetterExchange',
] as const;
const QUEUE_TYPED_MORE = [
  'deadLetterRoutingKey',
  'maxPriority',
  'overflow',
  'singleActiveConsumer',
  'deliveryLimit',
  'maxAge',
  'arg',
] as const;

/** Adds the binding arguments and options shared by `declare binding` and `delete binding`. */
function bindingCommand(parent: Command, verb: string, dispatch: Dispatch, kind: 'declare' | 'delete'): void {
  parent
    .command('binding')
    .description(`${verb} a binding from an exchange to a queue (or to an exchange)`)
    .argument('<source>', 'the exchange messages come from')
    .argument('<destination>', 'the queue (or exchange, with --destination-type exchange)')
    .option('-r, --routing-key <key>', 'binding key', '')
    .addOption(new Option('--destination-type <type>', 'what the destination is').choices(['queue', 'exchange']).default('queue'))
    .option('--arg <key=value>', 'a binding argument, e.g. x-match=all; key:=json for a typed value (repeatable)', arg)
    .option(...json)
    .action(async (source: string, destination: string, o: Record<string, unknown>, cmd: Command) => {
      const plan = {
        kind: 'binding' as const,
        source,
        destination,
        destinationType: o['destinationType'] as DestinationType,
        routingKey: o['routingKey'] as string,
        arguments: toTable((o['arg'] as KeyValue[] | undefined) ?? []),
        json: o['json'] === true,
      };
      await dispatch(cmd, `${kind} binding`, kind, plan);
    });
}

/** Registers `declare queue|exchange|binding`, `purge` and `delete queue|exchange|binding`. */
function topology(program: Command, dispatch: Dispatch): void {
  const declare = program.command('declare').description('declare a queue, an exchange or a binding');
  declare
    .command('queue')
    .description("declare a queue ('' or no name: the broker names it)")
    .argument('[name]', 'the queue name', '')
    .option('--passive', 'only check that the queue exists (exit 4 if not)', false)
    .addOption(new Option('--type <type>', 'queue type (quorum and stream queues are durable)').choices(QUEUE_TYPES))
    .option('--durable', 'survive a broker restart')
    .option('--no-durable', 'do not survive a broker restart (the default for classic queues)')
    .option('--auto-delete', 'delete the queue when its last consumer goes')
    .option('--max-length <n>', 'x-max-length: most ready messages', int('--max-length'))
    .option('--max-length-bytes <size>', 'x-max-length-bytes: most bytes of ready messages (e.g. 10MiB)', size('--max-length-bytes'))
    .option('--message-ttl <time>', 'x-message-ttl: how long a message may wait (e.g. 30s)', duration('--message-ttl'))
    .option('--expires <time>', 'x-expires: delete the queue after this long unused', duration('--expires'))
    .option('--dead-letter-exchange <name>', 'x-dead-letter-exchange')
    .option('--dead-letter-routing-key <key>', 'x-dead-letter-routing-key')
    .option('--max-priority <n>', 'x-max-priority (classic queues): priorities 0..n', int('--max-priority', 1, 255))
    .addOption(new Option('--overflow <mode>', 'x-overflow: what a full queue does').choices(OVERFLOW))
    .option('--single-active-consumer', 'x-single-active-consumer: one consumer at a time')
    .option('--delivery-limit <n>', 'x-delivery-limit (quorum queues): redeliveries before dead-lettering', int('--delivery-limit'))
    .option('--max-age <age>', 'x-max-age (streams): retention such as 7D, 12h')
    .option('--arg <key=value>', 'any other x-argument; key:=json for a typed value (repeatable)', arg)
    .option(...json)
    .addHelpText(
      'after',
      examples(
        'amqpts declare queue orders --type quorum --delivery-limit 5',
        'amqpts declare queue cache --message-ttl 30s --max-length 1000',
      ),
    )
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const passive = o['passive'] === true;
      const input: QueueOptionsInput = {
        type: o['type'] as QueueOptionsInput['type'],
        durable: o['durable'] as boolean | undefined,
        autoDelete: o['autoDelete'] as boolean | undefined,
        maxLength: o['maxLength'] as number | undefined,
        maxLengthBytes: o['maxLengthBytes'] as number | undefined,
        messageTtl: o['messageTtl'] as number | undefined,
        expires: o['expires'] as number | undefined,
        deadLetterExchange: o['deadLetterExchange'] as string | undefined,
        deadLetterRoutingKey: o['deadLetterRoutingKey'] as string | undefined,
        maxPriority: o['maxPriority'] as number | undefined,
        overflow: o['overflow'] as QueueOptionsInput['overflow'],
        singleActiveConsumer: o['singleActiveConsumer'] as boolean | undefined,
        deliveryLimit: o['deliveryLimit'] as number | undefined,
        maxAge: o['maxAge'] as string | undefined,
        args: o['arg'] as KeyValue[] | undefined,
      };
      if (passive && [...QUEUE_TYPED, ...QUEUE_TYPED_MORE].some((k) => o[k] !== undefined)) {
        throw new UsageError('--passive only checks that the queue exists: drop the other queue options');
      }
      if (passive && name === '') throw new UsageError('--passive needs a queue name');
      const plan: DeclarePlan = { kind: 'queue', name, passive, options: queueDeclareOptions(input), json: o['json'] === true };
      await dispatch(cmd, 'declare queue', 'declare', plan);
    });
  declare
    .command('exchange')
    .description('declare an exchange')
    .argument('<name>', 'the exchange name')
    .option('--type <type>', 'direct, fanout, topic, headers, or a plugin type', 'direct')
    .option('--passive', 'only check that the exchange exists (exit 4 if not)', false)
    .option('--durable', 'survive a broker restart', false)
    .option('--auto-delete', 'delete the exchange when its last binding goes', false)
    .option('--internal', 'only other exchanges may publish to it', false)
    .option('--alternate-exchange <name>', 'where messages no binding takes go')
    .option('--arg <key=value>', 'an exchange argument; key:=json for a typed value (repeatable)', arg)
    .option(...json)
    .addHelpText('after', examples('amqpts declare exchange events --type topic --durable'))
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const args = toTable((o['arg'] as KeyValue[] | undefined) ?? []);
      if (o['alternateExchange'] !== undefined) args['alternate-exchange'] = o['alternateExchange'] as string;
      const plan: DeclarePlan = {
        kind: 'exchange',
        name,
        type: o['type'] as string,
        passive: o['passive'] === true,
        durable: o['durable'] === true,
        autoDelete: o['autoDelete'] === true,
        internal: o['internal'] === true,
        arguments: args,
        json: o['json'] === true,
      };
      await dispatch(cmd, 'declare exchange', 'declare', plan);
    });
  bindingCommand(declare, 'declare', dispatch, 'declare');

  program
    .command('purge')
    .description("remove a queue's ready messages")
    .argument('<queue>', 'the queue')
    .option(...json)
    .action(async (queue: string, o: Record<string, unknown>, cmd: Command) => {
      await dispatch(cmd, 'purge', 'purge', { queue, json: o['json'] === true } satisfies PurgePlan);
    });

  const del = program.command('delete').description('delete a queue, an exchange or a binding (exit 4 if it does not exist)');
  del
    .command('queue')
    .description('delete a queue and its messages')
    .argument('<name>', 'the queue')
    .option('--if-unused', 'only if it has no consumers (else exit 5)', false)
    .option('--if-empty', 'only if it has no messages (else exit 5)', false)
    .option(...json)
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const plan: DeletePlan = {
        kind: 'queue',
        name,
        ifUnused: o['ifUnused'] === true,
        ifEmpty: o['ifEmpty'] === true,
        json: o['json'] === true,
      };
      await dispatch(cmd, 'delete queue', 'delete', plan);
    });
  del
    .command('exchange')
    .description('delete an exchange')
    .argument('<name>', 'the exchange')
    .option('--if-unused', 'only if it has no bindings (else exit 5)', false)
    .option(...json)
    .action(async (name: string, o: Record<string, unknown>, cmd: Command) => {
      const plan: DeletePlan = { kind: 'exchange', name, ifUnused: o['ifUnused'] === true, json: o['json'] === true };
      await dispatch(cmd, 'delete exchange', 'delete', plan);
    });
  bindingCommand(del, 'delete', dispatch, 'delete');
}

/** Registers `ping` and `perf`. */
function diagnostics(program: Command, dispatch: Dispatch): void {
  program
    .command('ping')
    .description("connect, show the server's product, version and capabilities, and time round trips")
    .option('-n, --count <n>', 'round trips to time', int('--count', 1, 10000), 3)
    .option(...json)
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await dispatch(cmd, 'ping', 'ping', { count: o['count'] as number, json: o['json'] === true } satisfies PingPlan);
    });

  program
    .command('perf')
    .description('load test: producers and consumers on a queue, live rates and latencies, a final table')
    .option('-x, --producers <n>', 'producers, each on its own connection', int('--producers', 0, 1000), 1)
    .option('-y, --consumers <n>', 'consumers, each on its own connection', int('--consumers', 0, 1000), 1)
    .option('-s, --size <size>', 'message body size (e.g. 12, 4k, 1MiB); 12 bytes or more carry a timestamp', size('--size'), 12)
    .option('-r, --rate <msg/s>', 'per producer, at most this many messages per second (0: no limit)', int('--rate'), 0)
    .option(
      '-c, --confirm <n>',
      'per producer, publisher confirms with at most n unconfirmed (0: no confirms)',
      int('--confirm', 0, 1_000_000),
      0,
    )
    .option('-z, --duration <time>', 'run this long (e.g. 30s, 2m); default 10s unless --count is given', duration('--duration'))
    .option('-C, --count <n>', 'per producer, send this many messages, then wait for the consumers', int('--count', 1))
    .addOption(new Option('--queue-type <type>', 'type of the queue perf creates').choices(QUEUE_TYPES).default('classic'))
    .option('--queue <name>', 'use this queue (kept if it existed; otherwise created and deleted)')
    .option('--prefetch <n>', 'per consumer, unacked messages at most (0: no limit)', int('--prefetch', 0, 65535), 1000)
    .option('--no-ack', 'consumers take messages without acks')
    .option('--multi-ack <n>', 'consumers ack every n messages at once', int('--multi-ack', 1), 1)
    .option('--persistent', 'publish persistent messages (delivery_mode 2)', false)
    .option('--interval <time>', 'how often the live line (or a plain line in a pipe) updates', duration('--interval'), 1000)
    .option('--json', 'print the final result as one JSON object', false)
    .addHelpText(
      'after',
      examples(
        'amqpts perf --duration 30s --producers 2 --consumers 2 --confirm 100',
        'amqpts perf --queue-type quorum --size 1k --rate 5000 --json',
        'amqpts perf --count 100000 --consumers 0',
      ),
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const plan = perfPlan({ ...(o as unknown as PerfOptions), ack: o['ack'] !== false });
      await dispatch(cmd, 'perf', 'perf', plan);
    });
}

/** Adds every command to `program`. */
export function registerCommands(program: Command, dispatch: Dispatch, stdinIsTTY: () => boolean): void {
  publish(program, dispatch, stdinIsTTY);
  consumeAndGet(program, dispatch);
  topology(program, dispatch);
  diagnostics(program, dispatch);
}
