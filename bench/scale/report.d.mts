// Types of bench/scale/report.mjs for TypeScript callers (spec/bench/scale-report.spec.ts).
export interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
export interface BrokerLimits {
  maxFds: number;
  openFds: number;
  totalLimit: number;
  totalUsed: number;
  socketsLimit: number;
  socketsUsed: number;
}
export interface PlanOptions {
  desired: number;
  headroom?: number;
  margin?: number;
  raise?: boolean;
  step?: number;
}
export interface Plan {
  connections: number;
  raiseTo: number | null;
  socketsLimit: number;
  limited: boolean;
  note: string;
}
export interface RawRun {
  client: string;
  library: string;
  version: string;
  connections: number;
  channelsPerConnection: number;
  baseline: Mem;
  afterConnections: Mem;
  idle: Mem;
  afterBurst: Mem;
  openConnectionsMs: number;
  openChannelsMs: number;
  idleCpu: { user: number; system: number };
  idleWindowMs: number;
  lost: number;
  /** The child's own `ulimit -n` (soft), from /proc/self/limits; null where that cannot be read. */
  fdLimit?: number | null;
}
export interface Row {
  client: string;
  library: string;
  version: string;
  connections: number;
  channelsPerConnection: number;
  openMs: number;
  rssPerConn: number;
  heapPerConn: number;
  extPerConn: number;
  abPerConn: number;
  heapPerChannel: number;
  idleCpuMs: number;
  idleWindowMs: number;
  lost: number;
  burstRssPerConn: number;
  burstExtPerConn: number;
  burstAbPerConn: number;
  burstRssRatio: number | null;
  burstExtRatio: number | null;
  burstAbRatio: number | null;
}
/** A client's row over repeated runs: medians, with each numeric field's [min, max] in `range`. */
export interface Summary extends Row {
  reps: number;
  range: Partial<Record<keyof Row, [number, number]>>;
}
export type Metric =
  | 'openMs'
  | 'rssPerConn'
  | 'heapPerConn'
  | 'extPerConn'
  | 'heapPerChannel'
  | 'idleCpuMs'
  | 'burstRssPerConn'
  | 'burstAbPerConn';
export interface Verdict {
  target: string;
  met: boolean | null;
  detail: string;
}
export declare const METRICS: readonly Metric[];
export declare const BURST_TOLERANCE: number;
export declare function obtainLimit(totalLimit: number): number;
export declare function planBroker(limits: BrokerLimits, opts: PlanOptions): Plan;
export declare function memDelta(a: Mem, b: Mem): Mem;
export declare function ratio(after: number, idle: number): number | null;
export declare function derive(raw: RawRun): Row;
export declare function median(xs: (number | null)[]): number | null;
export declare function summarize(rows: Row[]): Summary[];
export declare function ratiosToBest(rows: Row[], subject: string): Record<Metric, number | null>;
export declare function verdicts(rows: Row[], subject: string): Verdict[];
export declare function markdownTable(rows: (Row | Summary)[], subject: string): string;
export declare function verdictLines(list: Verdict[]): string;
export declare function shapeLabel(shape: { connections: number; channelsPerConnection: number; desired: number }): string;
