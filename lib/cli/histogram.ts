/**
 * A latency histogram for `perf`: log-scaled buckets 1% wide from 1 µs to about 20 minutes, so
 * percentiles are within 1% of the true value in constant memory, however many samples. Exact
 * count, min, max and mean are kept alongside. Values are recorded in milliseconds.
 */

/** Relative width of a bucket: a percentile is reported within this fraction of the true value. */
const PRECISION = 0.01;
const LOG_BASE = Math.log1p(PRECISION);
/** Samples below 1 µs share bucket 0; the last bucket holds everything from about 20 minutes up. */
const BUCKETS = Math.ceil(Math.log(1.2e9) / LOG_BASE) + 2;

/** Percentile summary of a histogram, in milliseconds (undefined fields when it is empty). */
export interface LatencySummary {
  /** Samples recorded. */
  count: number;
  /** The smallest sample. */
  min: number | undefined;
  /** The average. */
  mean: number | undefined;
  /** The median. */
  p50: number | undefined;
  /** 95th percentile. */
  p95: number | undefined;
  /** 99th percentile. */
  p99: number | undefined;
  /** The largest sample. */
  max: number | undefined;
}

/** Counts samples into 1%-wide logarithmic buckets. */
export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  /** Samples recorded. */
  count = 0;
  private sum = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  /** Records one sample in milliseconds (negative or non-finite samples are ignored). */
  record(valueMs: number): void {
    if (!(valueMs >= 0) || !Number.isFinite(valueMs)) return;
    const us = valueMs * 1000;
    const i = us < 1 ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(us) / LOG_BASE));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    this.sum += valueMs;
    if (valueMs < this.lo) this.lo = valueMs;
    if (valueMs > this.hi) this.hi = valueMs;
  }

  /** Adds every sample of `other` into this histogram. */
  merge(other: Histogram): void {
    if (other.count === 0) return;
    for (let i = 0; i < BUCKETS; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.count += other.count;
    this.sum += other.sum;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
  }

  /** Forgets every sample. */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.lo = Number.POSITIVE_INFINITY;
    this.hi = Number.NEGATIVE_INFINITY;
  }

  /** The value (ms) at or below which `p` percent of the samples lie; undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) {
        // the bucket's midpoint, clamped to what was really seen
        const mid = i === 0 ? 0 : Math.exp((i - 0.5) * LOG_BASE) / 1000;
        return Math.min(this.hi, Math.max(this.lo, mid));
      }
    }
    return this.hi;
  }

  /** count, min, mean, p50, p95, p99 and max. */
  summary(): LatencySummary {
    const empty = this.count === 0;
    return {
      count: this.count,
      min: empty ? undefined : this.lo,
      mean: empty ? undefined : this.sum / this.count,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: empty ? undefined : this.hi,
    };
  }
}
