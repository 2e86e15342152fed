#!/usr/bin/env node
// RPC round trips on direct reply-to: amqpts' rpcCall (RpcClient, from ../dist) against a
// hand-written amqplib request/response client and @cloudamqp/amqp-client's RPC client, with 1 and
// 64 calls in flight. One echo server (amqplib, in a child process, so its CPU is not the callers')
// answers all three; the clients run interleaved, the first one rotating per repetition; the table
// gives the median over repetitions of each measurement's p50 and p99 and calls per second.
//
//   npm run bench:rpc                       # build, then 5 repetitions
//   node bench/rpc.mjs --reps 3 --calls 2000 --inflight 1,16,64 --url amqp://guest:guest@127.0.0.1:5672/
//
// Every client gets TCP_NODELAY (amqpts has it by default; amqplib through its socket option;
// cloudamqp by hand, it has no option) and the same 100-byte body. amqpts and cloudamqp arm a
// 30 s per-call timeout; the hand-written amqplib client has none (as most hand-written ones).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AMQPSession } from '@cloudamqp/amqp-client';
import amqplib from 'amqplib';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/' },
    reps: { type: 'string', default: '5' },
    calls: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '300' },
    inflight: { type: 'string', default: '1,64' },
    clients: { type: 'string', default: 'amqpts,amqplib,cloudamqp' },
    serve: { type: 'string' }, // internal: run the echo server for this queue
  },
});
const url = opt.url;
const BODY = Buffer.alloc(100, 0x61);
const TIMEOUT = 30_000;

// ------------------------------------------------------------------ the echo server (child process)

async function serve(queue) {
  const conn = await amqplib.connect(url, { noDelay: true });
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: false, exclusive: false, autoDelete: false });
  await ch.prefetch(256);
  await ch.consume(queue, (msg) => {
    if (!msg) return; // cancelled (the queue is being deleted)
    ch.sendToQueue(msg.properties.replyTo, msg.content, { correlationId: msg.properties.correlationId });
    ch.ack(msg);
  });
  process.stdout.write('ready\n');
  const stop = async () => {
    await ch.deleteQueue(queue).catch(() => {});
    await conn.close().catch(() => {});
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

// ------------------------------------------------------------------ the three callers

const CLIENTS = {
  async amqpts() {
    const { Connection, RpcClient } = await import('../dist/index.js');
    const conn = await Connection.connect(url);
    const rpc = await RpcClient.open(conn);
    return {
      call: (q) => rpc.call(q, BODY, { timeout: TIMEOUT }),
      check: () => rpc.droppedReplies === 0,
      close: () => conn.close(),
    };
  },
  async amqplib() {
    const conn = await amqplib.connect(url, { noDelay: true });
    const ch = await conn.createChannel();
    const waiting = new Map();
    let next = 0;
    await ch.consume(
      'amq.rabbitmq.reply-to',
      (msg) => {
        const w = waiting.get(msg.properties.correlationId);
        if (w) {
          waiting.delete(msg.properties.correlationId);
          w(msg);
        }
      },
      { noAck: true },
    );
    return {
      call: (q) =>
        new Promise((resolve) => {
          const correlationId = String(++next);
          waiting.set(correlationId, resolve);
          ch.sendToQueue(q, BODY, { correlationId, replyTo: 'amq.rabbitmq.reply-to' });
        }),
      check: () => waiting.size === 0,
      close: () => conn.close(),
    };
  },
  async cloudamqp() {
    const session = await AMQPSession.connect(url);
    session.client?.socket?.setNoDelay(true);
    const rpc = await session.rpcClient();
    return {
      call: (q) => rpc.call(q, BODY, { timeout: TIMEOUT }),
      check: () => true,
      close: () => session.stop(),
    };
  },
};

// ------------------------------------------------------------------ measuring

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `n` calls with `k` in flight after `warmup` calls; per-call latency in ms. */
async function measure(client, queue, k, n, warmup) {
  for (let i = 0; i < warmup; i++) await client.call(queue);
  const lat = new Float64Array(n);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await client.call(queue);
      lat[i] = performance.now() - s;
    }
  };
  await Promise.all(Array.from({ length: k }, worker));
  const secs = (performance.now() - t0) / 1000;
  const sorted = Array.from(lat).sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), rate: n / secs };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const reps = Number(opt.reps);
  const calls = Number(opt.calls);
  const warmup = Number(opt.warmup);
  const inflight = opt.inflight.split(',').map(Number);
  const names = opt.clients.split(',').filter((c) => c in CLIENTS);
  const queue = `bench.rpc.${process.pid}.${randomBytes(3).toString('hex')}`;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', queue, '--url', url], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  const clients = {};
  for (const name of names) clients[name] = await CLIENTS[name]();
  const results = {}; // name -> k -> [{p50, p99, rate}]
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order = names.map((_, i) => names[(i + rep) % names.length]);
      for (const k of inflight) {
        for (const name of order) {
          const n = Math.max(calls, 300 * k);
          const r = await measure(clients[name], queue, k, n, warmup);
          ((results[name] ??= {})[k] ??= []).push(r);
          process.stderr.write(
            `rep ${rep + 1}/${reps} ${name} inflight ${k}: p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, ${Math.round(r.rate)}/s\n`,
          );
        }
      }
    }
    for (const name of names) if (!clients[name].check()) throw new Error(`${name}: replies left unmatched`);
  } finally {
    for (const name of names) await clients[name].close().catch(() => {});
    child.stdin.end();
  }
  const base = names[0];
  const lines = [
    `RPC round trips on direct reply-to, 100-byte bodies, ${reps} repetitions (median of each measurement's percentiles), node ${process.version}`,
    '',
    `| client | in flight | p50 ms | p99 ms | calls/s | p50 / ${base} p50 | calls/s / ${base} calls/s |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const k of inflight) {
    const b = results[base][k];
    for (const name of names) {
      const r = results[name][k];
      const p50 = median(r.map((x) => x.p50));
      const p99 = median(r.map((x) => x.p99));
      const rate = median(r.map((x) => x.rate));
      lines.push(
        `| ${name} | ${k} | ${p50.toFixed(3)} | ${p99.toFixed(3)} | ${Math.round(rate)} | ${(p50 / median(b.map((x) => x.p50))).toFixed(2)} | ${(rate / median(b.map((x) => x.rate))).toFixed(2)} |`,
      );
    }
  }
  console.log(lines.join('\n'));
}

if (opt.serve) await serve(opt.serve);
else await main();
