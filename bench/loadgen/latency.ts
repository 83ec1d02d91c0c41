/** Latency samples and their percentiles. @module */

/** Percentiles of a set of latencies, in microseconds. */
export interface LatencySummary {
  /** Median. */
  readonly p50: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Largest sample. */
  readonly max: number;
  /** Arithmetic mean. */
  readonly mean: number;
  /** Number of samples. */
  readonly count: number;
}

/** Keeps every sample (up to a cap) in a growable Float64Array; percentiles by sorting once. */
export class LatencyRecorder {
  #samples = new Float64Array(1 << 16);
  #count = 0;
  #sum = 0;
  #total = 0;

  /** Most samples kept (128 MiB of doubles); later samples only count towards the mean. */
  static readonly CAP = 1 << 24;

  /** Adds one latency in microseconds. */
  record(us: number): void {
    this.#sum += us;
    this.#total++;
    if (this.#count >= LatencyRecorder.CAP) return;
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#count++] = us;
  }

  /** Percentiles of everything recorded (nearest-rank); zeros when empty. */
  summary(): LatencySummary {
    const n = this.#count;
    if (n === 0) return { p50: 0, p99: 0, max: 0, mean: 0, count: 0 };
    const sorted = this.#samples.slice(0, n).sort();
    const rank = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
    return {
      p50: rank(0.5),
      p99: rank(0.99),
      max: sorted[n - 1],
      mean: this.#sum / this.#total,
      count: this.#total,
    };
  }
}
