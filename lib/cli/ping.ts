/**
 * `amqpts ping`: connects, prints the server's product, version, platform, cluster name and
 * capabilities, what was negotiated, how long connecting took, and the round-trip time of
 * --count channel.flow round trips (a no-op method every broker answers at once). --json for machines.
 */
import type { FieldTable, FieldValue } from '../core.js';
import type { CliContext } from './context.js';
import { fieldToJson, type Json, ms, num } from './format.js';

/** A validated `ping` invocation. */
export interface PingPlan {
  /** Round trips to time. */
  count: number;
  /** Print the report as JSON. */
  json: boolean;
}

function text(v: FieldValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/**
 * Runs `ping`. Resolves the exit code (0).
 * @throws ConnectionLost (unreachable); AccessRefused (login); NotAllowed / InvalidPath (vhost);
 *   Timeout.
 */
export async function runPing(ctx: CliContext, plan: PingPlan): Promise<number> {
  const t0 = performance.now();
  const conn = await ctx.connect();
  const connectMs = performance.now() - t0;
  const rtts: number[] = [];
  try {
    const ch = await conn.channel(undefined, ctx.call);
    for (let i = 0; i < plan.count; i++) {
      const t = performance.now();
      await ch.flow(true, ctx.call);
      rtts.push(performance.now() - t);
    }
  } finally {
    await conn.close({ timeout: ctx.global.timeout }).catch(() => undefined);
  }
  const sp: FieldTable = conn.serverProperties;
  const caps = conn.serverCapabilities;
  const enabled = Object.keys(caps).filter((k) => caps[k] === true);
  const min = rtts.length ? Math.min(...rtts) : undefined;
  const max = rtts.length ? Math.max(...rtts) : undefined;
  const avg = rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : undefined;
  if (plan.json) {
    const out: { [key: string]: Json } = {
      url: ctx.target.display,
      product: text(sp['product']) ?? null,
      version: text(sp['version']) ?? null,
      platform: text(sp['platform']) ?? null,
      clusterName: text(sp['cluster_name']) ?? null,
      capabilities: fieldToJson(caps),
      negotiated: { frameMax: conn.frameMax, channelMax: conn.channelMax, heartbeat: conn.heartbeat },
      connectMs,
      rttMs: { count: rtts.length, min: min ?? null, avg: avg ?? null, max: max ?? null },
    };
    ctx.io.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  }
  const product = [text(sp['product']) ?? 'unknown server', text(sp['version'])].filter(Boolean).join(' ');
  const platform = text(sp['platform']);
  const cluster = text(sp['cluster_name']);
  const lines = [
    `connected to ${ctx.target.display} in ${ms(connectMs)}`,
    `server:       ${product}${platform ? ` on ${platform}` : ''}${cluster ? `, cluster ${cluster}` : ''}`,
    `capabilities: ${enabled.length ? enabled.join(', ') : 'none'}`,
    `negotiated:   frame_max ${conn.frameMax}, channel_max ${conn.channelMax}, heartbeat ${conn.heartbeat} s`,
    `round trip:   ${rtts.length} x channel.flow: min ${num(min, 3)} ms, avg ${num(avg, 3)} ms, max ${num(max, 3)} ms`,
  ];
  ctx.io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
