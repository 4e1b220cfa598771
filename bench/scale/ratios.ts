/**
 * The steadier figures of the benches: a ratio is taken per pair (two targets measured in the same
 * round, a few seconds apart, so that what the machine's neighbours do hits both), and the report
 * is the median of those per-round ratios with their spread, not a ratio of two medians taken
 * from different moments. On a shared 2-core machine req/s swings by a third between rounds; the
 * ratio of a pair, and CPU time per request, move far less.
 *
 * @module bench/scale/ratios
 */

/** Median, quartiles and range of a sample; NaN everywhere for an empty one. */
export interface Spread {
  readonly n: number;
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
}

/** The value at quantile `q` (0–1) of sorted `v`, interpolated linearly between neighbours. */
function quantile(v: readonly number[], q: number): number {
  if (v.length === 0) return Number.NaN;
  const at = (v.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (v[lo] as number) + ((v[hi] as number) - (v[lo] as number)) * (at - lo);
}

export function spread(values: readonly number[]): Spread {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return { n: v.length, median: quantile(v, 0.5), q1: quantile(v, 0.25), q3: quantile(v, 0.75), min: v[0] ?? Number.NaN, max: v.at(-1) ?? Number.NaN };
}

/** `0.63 [IQR 0.61–0.65, 0.58–0.67, n 9]`, with `digits` decimals and `unit` after each number. */
export function fmtSpread(s: Spread, digits = 2, unit = ''): string {
  if (s.n === 0) return '-';
  const f = (x: number) => `${x.toFixed(digits)}${unit}`;
  if (s.n === 1) return `${f(s.median)} [1 round]`;
  return `${f(s.median)} [IQR ${f(s.q1)}–${f(s.q3)}, range ${f(s.min)}–${f(s.max)}, n ${s.n}]`;
}

/** Half the interquartile range relative to the median, in %: how far a median of this sample is likely to move. */
export function relativeIqr(s: Spread): number {
  return s.n < 2 || !(s.median > 0) ? Number.NaN : (50 * (s.q3 - s.q1)) / s.median;
}

/** `met` or `NOT met`, for a figure that should be at least `goal`. */
export function verdict(value: number, goal: number): string {
  return Number.isFinite(value) && value >= goal ? 'met' : 'NOT met';
}
