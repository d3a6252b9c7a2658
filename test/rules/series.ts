// Input series for promtool unit tests, written out sample by sample: a daily curve with seeded jitter, the seed's
// incidents on top of it, series that start late. promtool reads a space-separated list of values per series, `_`
// for no sample (https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/).

import { mulberry32 } from '../../simulator/platform/random';

export const MINUTE = 60;
export const HOUR = 3_600;
export const DAY = 86_400;

/** A factor within 1 ± spread, seeded (the simulator's mulberry32): the same jitter every run. */
export function jitter(seed: number): (spread: number) => number {
  const random = mulberry32(seed);
  return (spread) => 1 + spread * (2 * random() - 1);
}

/**
 * The simulated platform's daily curve (UTC), whose mean over a day is 1: 0.6 at night, 1 in the morning, 1.5 in the
 * afternoon, 0.9 in the evening.
 */
export function dailyCurve(t: number): number {
  const hour = Math.floor((t % DAY) / HOUR);
  return hour < 6 ? 0.6 : hour < 12 ? 1 : hour < 18 ? 1.5 : 0.9;
}

export interface Timeline {
  /** Seconds between samples. */
  step: number;
  /** Seconds of series (the last sample is at `until`). */
  until: number;
}

// Twelve significant digits: promtool parses what JavaScript prints (exponents included).
const format = (value: number) => String(Number(value.toPrecision(12)));

/** A counter that grows at `rate(t)` per second from `from` on (no samples before). */
export function counter({ step, until }: Timeline, rate: (t: number) => number, from = 0): string {
  const values: string[] = [];
  let total = 0;
  for (let t = 0; t <= until; t += step) {
    if (t < from) {
      values.push('_');
      continue;
    }
    if (t > from) total += rate(t - step) * step;
    values.push(format(total));
  }
  return values.join(' ');
}

/** A gauge of `value(t)` from `from` on. */
export function gauge({ step, until }: Timeline, value: (t: number) => number, from = 0): string {
  const values: string[] = [];
  for (let t = 0; t <= until; t += step) values.push(t < from ? '_' : format(value(t)));
  return values.join(' ');
}

/** `inside` during [start, start + duration), `outside` otherwise. */
export const during =
  (start: number, duration: number, inside: (t: number) => number, outside: (t: number) => number) => (t: number) =>
    t >= start && t < start + duration ? inside(t) : outside(t);

/** promtool's duration notation for `seconds`, e.g. 15d13h40m. */
export function at(seconds: number): string {
  const parts: string[] = [];
  let left = seconds;
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', 1],
  ] as const) {
    const count = Math.floor(left / size);
    if (count > 0) parts.push(`${count}${unit}`);
    left -= count * size;
  }
  return parts.join('') || '0s';
}
