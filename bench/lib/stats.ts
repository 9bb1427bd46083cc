// Percentiles of raw samples and the median/min/max of a figure over several runs.

/**
 * The p-th percentile (0–100) of `values`, linearly interpolated between the closest ranks
 * (the usual "type 7" definition, as numpy and spreadsheets compute it). NaN when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low]!;
  const b = sorted[high]!;
  return a + (b - a) * (rank - low);
}

/** p50, p95 and p99 of raw samples in one sort. */
export function latencySummary(values: readonly number[]): {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  count: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    count: sorted.length,
  };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** The median (mean of the middle two for an even count), min and max of per-run figures. */
export function spread(runs: readonly number[]): Spread {
  const finite = runs.filter((v) => Number.isFinite(v));
  if (finite.length === 0) {
    return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: [...runs] };
  }
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: [...runs] };
}
