// How every benchmark reports: one `BENCH <name> <value> <unit>` line per figure, and percentiles (nearest rank).

/** Prints one figure: integers as they are, others with one decimal. */
export function bench(name: string, value: number, unit: string): void {
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) < 10 ? 2 : 1);
  console.log(`BENCH ${name} ${shown} ${unit}`);
}

/** The p-th percentile by nearest rank (p in 0..100); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
