// Interop with a second, independent AMQP client: pika 1.2 (Debian python3-pika) driven through
// pika_interop.py with Debian's /usr/bin/python3 (the first python3 on PATH lacks pika).
// Value rendering in both directions: bytes -> hex, Decimal -> string, datetime/timestamp ->
// epoch seconds, ints beyond Number.MAX_SAFE_INTEGER -> decimal string.
// pika 1.2 quirks: it cannot encode floats; on decode it reads 'l' as UNSIGNED 64-bit, swaps
// 'b'/'B', and truncates 'f'/'d' to integers. Assert on `tag` where those matter.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
export const PIKA_SCRIPT = fileURLToPath(new URL('./pika_interop.py', import.meta.url));

/** The 13 basic properties other than headers, as pika sent/decoded them. */
export interface PikaProperties {
  content_type: string | null;
  content_encoding: string | null;
  delivery_mode: number | null;
  priority: number | null;
  correlation_id: string | null;
  reply_to: string | null;
  expiration: string | null;
  message_id: string | null;
  /** Epoch seconds. */
  timestamp: number | null;
  type: string | null;
  user_id: string | null;
  app_id: string | null;
  cluster_id: string | null;
}

export type PikaScalar = string | number | boolean | null;

/** A header value pika encoded: `type` is the AMQP field tag it wrote ('S','x','t','I','l','D','T','V','F','A'). */
export interface PikaSentValue {
  type: string;
  value: PikaScalar | Record<string, PikaSentValue> | PikaSentValue[];
}

/** A header value pika decoded: wire `tag`, python `type` name (str, bytes, bool, int, long, Decimal, datetime, NoneType, dict, list). */
export interface PikaGotValue {
  tag: string;
  type: string;
  value: PikaScalar | Record<string, PikaGotValue> | PikaGotValue[];
}

export interface PikaSent {
  exchange: string;
  routing_key: string;
  properties: PikaProperties;
  headers: Record<string, PikaSentValue>;
  /** Value kinds pika 1.2 cannot encode, hence not sent (['float']). */
  unsupported: string[];
  body_hex: string;
}

export interface PikaGot {
  delivery: { exchange: string; routing_key: string; redelivered: boolean; message_count: number };
  properties: PikaProperties;
  headers: Record<string, PikaGotValue> | null;
  body_hex: string;
}

function runPika(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [PIKA_SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const detail = [String(stdout).trim(), String(stderr).trim().split('\n').slice(-5).join('\n')].filter(Boolean).join('\n');
        const hint = /No module named 'pika'/.test(detail) ? ' — install the second client with: apt-get install python3-pika' : '';
        reject(new Error(`pika_interop.py ${args[0]} failed (${err.message.split('\n')[0]}): ${detail}${hint}`));
      } else resolve(String(stdout));
    });
  });
}

/** Publishes pika's fixed, fully-propertied message (confirmed, mandatory) and describes it. */
export async function pikaPublish(url: string, exchange: string, routingKey: string): Promise<PikaSent> {
  return JSON.parse(await runPika(['publish', url, exchange, routingKey], 30_000)) as PikaSent;
}

/** basic_get (auto-ack) one message with pika, polling up to timeoutMs; rejects if none arrives. */
export async function pikaGet(url: string, queue: string, timeoutMs = 5_000): Promise<PikaGot> {
  const out = await runPika(['get', url, queue, String(timeoutMs / 1000)], timeoutMs + 30_000);
  return JSON.parse(out) as PikaGot;
}

/** The body pika publishes (non-ASCII UTF-8 followed by 00 01 7f 80 fe ff). */
export function pikaBody(sent: PikaSent): Buffer {
  return Buffer.from(sent.body_hex, 'hex');
}
