// Types of bench/lib/report.mjs for TypeScript callers (spec/bench/report.spec.ts).

/** One result row, as bench/scenarios.mjs writes it (only the fields the report reads). */
export interface ResultRow {
  client: string;
  scenario: string;
  size: number;
  count: number;
  mode: 'full' | 'quick';
  rep?: number;
  error?: string;
  msgsPerSec?: number;
  cpuPer100k?: number;
  p50ms?: number;
  p99ms?: number;
  rssPeakMB?: number;
}
export interface Case {
  mode: string;
  scenario: string;
  size: number;
  count: number;
  by: Map<string, ResultRow[]>;
}
export interface Range {
  lo: number;
  hi: number;
}
export interface TargetCheck {
  target: string;
  line: string;
  subject: number;
  reference: { client: string; value: number } | null;
  value: number;
  range: Range | null;
  rawValue: number;
  need: string;
  verdict: string;
}
export type Op = '>=' | '<=' | '<';

export declare const SUBJECT: string;
export declare const LIMIT: string;
export declare const MiB: number;
export declare function median(xs: number[]): number;
export declare function spread(xs: number[]): { min: number; max: number } | null;
export declare function ratio(a: number, b: number | undefined): number;
export declare function ratioRange(as: number[], bs: number[]): Range | null;
export declare function passes(value: number, op: Op, threshold: number): boolean;
export declare function verdict(v: { value: number; op: Op; threshold: number; rawValue?: number; range?: Range | null }): string;
export declare function groupCases(rows: ResultRow[]): Case[];
export declare function values(c: Case, client: string, key: keyof ResultRow): number[];
export declare function med(c: Case, client: string, key: keyof ResultRow): number;
export declare function libraries(c: Case): string[];
export declare function bestLibrary(c: Case, key: keyof ResultRow, better: 'high' | 'low'): { client: string; value: number } | null;
export declare function targets(cases: Case[]): TargetCheck[];
export declare function fmtSize(bytes: number): string;
export declare function fmtNum(x: number | null | undefined, digits?: number): string;
export declare function fmtRatio(x: number): string;
export declare function caseLabel(c: Case): string;
export declare function renderReport(rows: ResultRow[]): string;
