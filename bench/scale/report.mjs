// Pure logic of the scale benchmark (bench/scale.mjs): how many connections the broker can take,
// per-connection and per-channel figures from raw memory samples, medians with min-max over repeated
// runs, ratios of the subject to the best other library, the verdicts on issue 16's targets, and the
// Markdown tables. No I/O, no timers;
// unit-tested in spec/bench/scale-report.spec.ts. Types: report.d.mts.

/** Lower is better for every metric in the table; `ratiosToBest` divides by the lowest other library. */
export const METRICS = [
  'openMs',
  'rssPerConn',
  'heapPerConn',
  'extPerConn',
  'heapPerChannel',
  'idleCpuMs',
  'burstRssPerConn',
  'burstAbPerConn',
];

/** Issue 16: after a burst, memory per connection comes back within this factor of its idle figure. */
export const BURST_TOLERANCE = 1.1;

/** RabbitMQ's file_handle_cache keeps this many of its handles for sockets: trunc(limit * 0.9 - 2). */
export function obtainLimit(totalLimit) {
  return Math.trunc(totalLimit * 0.9 - 2);
}

/**
 * How many connections one client run may open, and whether the broker's file_handle_cache limit
 * must be raised for it. `maxFds` is the Erlang VM's check_io ceiling (fixed when the VM starts: a
 * socket above it cannot be polled), `openFds` the VM's open descriptors now; descriptors outside
 * the cache (listeners, logs, epoll) stay reserved, plus `margin`. `headroom` sockets are left for
 * other users of a shared broker. When `desired` does not fit, the count is rounded down to `step`.
 */
export function planBroker(limits, { desired, headroom = 32, margin = 32, raise = true, step = 25 }) {
  const { maxFds, openFds, totalLimit, totalUsed, socketsLimit, socketsUsed } = limits;
  const fitsNow = desired <= socketsLimit - socketsUsed - headroom;
  let raiseTo = null;
  let sockets = socketsLimit;
  if (!fitsNow && raise) {
    const ceiling = maxFds - Math.max(0, openFds - totalUsed) - margin;
    if (ceiling > totalLimit) {
      raiseTo = ceiling;
      sockets = obtainLimit(ceiling);
    }
  }
  const room = sockets - socketsUsed - headroom;
  const connections = desired <= room ? desired : Math.max(0, Math.floor(room / step) * step);
  const limited = connections < desired;
  const note = limited
    ? `${connections} connections, not ${desired}: the broker's socket limit is ${sockets}` +
      `${raiseTo === null ? '' : ` after raising its file_handle_cache limit from ${totalLimit} to ${raiseTo}`}` +
      ` (Erlang VM max_fds ${maxFds}, fixed at broker start), ${socketsUsed} in use, ${headroom} left for other users`
    : `${connections} connections fit (broker socket limit ${sockets}${raiseTo === null ? '' : `, raised from ${socketsLimit}`})`;
  return { connections, raiseTo, socketsLimit: sockets, limited, note };
}

/** Field-wise `b - a` of two `process.memoryUsage()` samples (rss, heapUsed, external, arrayBuffers). */
export function memDelta(a, b) {
  return {
    rss: b.rss - a.rss,
    heapUsed: b.heapUsed - a.heapUsed,
    external: b.external - a.external,
    arrayBuffers: b.arrayBuffers - a.arrayBuffers,
  };
}

/** `after / idle`, or null when the idle figure is not positive (no meaningful ratio). */
export function ratio(after, idle) {
  return idle > 0 ? after / idle : null;
}

/**
 * The table row of one client run. Memory per connection is (sample - baseline) / connections,
 * where the baseline is taken after loading the library and before opening anything; heap per
 * channel is the growth from "connections open" to "channels open" divided by the channel count.
 */
export function derive(raw) {
  const n = raw.connections;
  const idle = memDelta(raw.baseline, raw.idle);
  const burst = memDelta(raw.baseline, raw.afterBurst);
  const chans = memDelta(raw.afterConnections, raw.idle);
  const row = {
    client: raw.client,
    library: raw.library,
    version: raw.version,
    connections: n,
    channelsPerConnection: raw.channelsPerConnection,
    openMs: raw.openConnectionsMs + raw.openChannelsMs,
    rssPerConn: idle.rss / n,
    heapPerConn: idle.heapUsed / n,
    extPerConn: idle.external / n,
    abPerConn: idle.arrayBuffers / n,
    heapPerChannel: chans.heapUsed / (n * raw.channelsPerConnection),
    idleCpuMs: raw.idleCpu.user / 1000 + raw.idleCpu.system / 1000,
    idleWindowMs: raw.idleWindowMs,
    lost: raw.lost,
    burstRssPerConn: burst.rss / n,
    burstExtPerConn: burst.external / n,
    burstAbPerConn: burst.arrayBuffers / n,
  };
  row.burstRssRatio = ratio(row.burstRssPerConn, row.rssPerConn);
  row.burstExtRatio = ratio(row.burstExtPerConn, row.extPerConn);
  row.burstAbRatio = ratio(row.burstAbPerConn, row.abPerConn);
  return row;
}

/** The median of the non-null numbers in `xs` (mean of the middle two for an even count); null if none. */
export function median(xs) {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * One row per client from the rows of repeated runs (`--reps`), in order of first appearance: every
 * numeric field is the median over that client's runs, `range[field]` its [min, max], `reps` the
 * run count; `lost` is the most connections lost in any run. Ratios are medians of each run's own
 * ratio (a run's after-burst figure is compared with the same run's idle figure).
 */
export function summarize(rows) {
  const groups = new Map();
  for (const r of rows) {
    if (!groups.has(r.client)) groups.set(r.client, []);
    groups.get(r.client).push(r);
  }
  return [...groups.values()].map((runs) => {
    const out = { ...runs[0], reps: runs.length, range: {} };
    for (const key of Object.keys(runs[0])) {
      const xs = runs.map((r) => r[key]).filter((x) => typeof x === 'number');
      if (xs.length === 0) continue; // text, or a ratio that no run could compute (stays null)
      out[key] = median(xs);
      out.range[key] = [Math.min(...xs), Math.max(...xs)];
    }
    out.lost = Math.max(...runs.map((r) => r.lost));
    return out;
  });
}

/** For each metric, the subject's figure divided by the lowest figure among the other clients. */
export function ratiosToBest(rows, subject) {
  const me = rows.find((r) => r.client === subject);
  const others = rows.filter((r) => r.client !== subject);
  const out = {};
  for (const m of METRICS) {
    const best = Math.min(...others.map((r) => r[m]));
    out[m] = me && others.length && best > 0 ? me[m] / best : null;
  }
  return out;
}

/**
 * Issue 16's targets for one shape: each `{ target, met, detail }`; `met` is null when the subject
 * or every other library is missing from `rows` (a failed run).
 */
export function verdicts(rows, subject) {
  const me = rows.find((r) => r.client === subject);
  const others = rows.filter((r) => r.client !== subject);
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  const lowest = (m) => Math.min(...others.map((r) => r[m]));
  const list = [];
  const add = (target, test, detail) =>
    list.push({ target, met: me && others.length ? test() : null, detail: me && others.length ? detail() : 'not measured' });
  add(
    'external memory per idle connection at or below the best library',
    () => me.extPerConn <= lowest('extPerConn'),
    () => `${kib(me.extPerConn)} vs best ${kib(lowest('extPerConn'))}`,
  );
  add(
    'RSS per connection below both libraries',
    () => others.every((r) => me.rssPerConn < r.rssPerConn),
    () => `${kib(me.rssPerConn)} vs ${others.map((r) => `${r.client} ${kib(r.rssPerConn)}`).join(', ')}`,
  );
  add(
    'heap per idle channel at or below the best library',
    () => me.heapPerChannel <= lowest('heapPerChannel'),
    () => `${kib(me.heapPerChannel)} vs best ${kib(lowest('heapPerChannel'))}`,
  );
  const within = (x) => x !== null && x <= BURST_TOLERANCE;
  // ArrayBuffers, not V8's `external` counter: that one lags behind freed buffers (bench/README.md).
  add(
    'after a burst of 1 MiB messages, RSS and ArrayBuffers per connection within 10% of idle',
    () => within(me.burstRssRatio) && within(me.burstAbRatio),
    () => `RSS x${fmtRatio(me.burstRssRatio)}, ArrayBuffers x${fmtRatio(me.burstAbRatio)}`,
  );
  add(
    'idle CPU below both libraries',
    () => others.every((r) => me.idleCpuMs < r.idleCpuMs),
    () => `${me.idleCpuMs.toFixed(0)} ms vs ${others.map((r) => `${r.client} ${r.idleCpuMs.toFixed(0)} ms`).join(', ')}`,
  );
  return list;
}

function fmtRatio(x) {
  return x === null ? 'n/a' : x.toFixed(2);
}

function fmtKiB(b) {
  return (b / 1024).toFixed(1);
}

/** `fmt(row[key])`, followed by ` (min–max)` when the row summarizes several runs. */
function cell(row, key, fmt) {
  const span = row.reps > 1 ? row.range?.[key] : null;
  return span ? `${fmt(row[key])} (${fmt(span[0])}–${fmt(span[1])})` : fmt(row[key]);
}

/**
 * A Markdown table: one row per client (rows from `derive`, or from `summarize`: then medians with
 * min–max), then the subject's ratio to the best other library.
 */
export function markdownTable(rows, subject) {
  const head = [
    'client',
    'open (s)',
    'RSS/conn (KiB)',
    'heap/conn (KiB)',
    'external/conn (KiB)',
    'heap/channel (KiB)',
    'idle CPU (ms)',
    'after burst RSS/conn (KiB)',
    'after burst ArrayBuffers/conn (KiB)',
    'RSS ratio to idle',
    'ArrayBuffers ratio to idle',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const lost = r.lost ? ` (${r.lost} lost)` : '';
    const runs = r.reps > 1 ? `, ${r.reps} runs` : '';
    const secs = (ms) => (ms / 1000).toFixed(2);
    const ms = (x) => x.toFixed(1);
    lines.push(
      `| ${r.client} ${r.version}${runs} | ${cell(r, 'openMs', secs)} | ${cell(r, 'rssPerConn', fmtKiB)} | ${cell(r, 'heapPerConn', fmtKiB)} | ` +
        `${cell(r, 'extPerConn', fmtKiB)} | ${cell(r, 'heapPerChannel', fmtKiB)} | ${cell(r, 'idleCpuMs', ms)}${lost} | ` +
        `${cell(r, 'burstRssPerConn', fmtKiB)} | ${cell(r, 'burstAbPerConn', fmtKiB)} | ${cell(r, 'burstRssRatio', fmtRatio)} | ` +
        `${cell(r, 'burstAbRatio', fmtRatio)} |`,
    );
  }
  if (rows.some((r) => r.client === subject) && rows.length > 1) {
    const q = ratiosToBest(rows, subject);
    const cells = METRICS.map((m) => (q[m] === null ? 'n/a' : `${q[m].toFixed(2)}x`));
    lines.push(`| ${subject} / best other | ${cells.join(' | ')} | | |`);
  }
  return lines.join('\n');
}

/** The verdict list as Markdown bullets: "met" / "NOT met" / "not measured". */
export function verdictLines(list) {
  return list.map((v) => `- ${v.met === null ? 'not measured' : v.met ? 'met' : '**NOT met**'}: ${v.target} (${v.detail})`).join('\n');
}

/** A shape's heading: "1000 x 10", or "800 x 10 (asked 1000 x 10: ...)" when the broker limited it. */
export function shapeLabel(shape) {
  const base = `${shape.connections} connections x ${shape.channelsPerConnection} channels`;
  return shape.connections === shape.desired ? base : `${base} (asked for ${shape.desired}; limited by the broker)`;
}
