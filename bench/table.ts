// The one table the bench prints: latencies (median, p99, ratio to the floor of the same run),
// rates and counts, each beside its target from issue 14 and whether it is met.

export interface Row {
  name: string;
  /** Latencies in ms; empty for a row that is only a figure. */
  samples: number[];
  /** How many samples or items the row counts, when not the latencies' number. */
  count?: string;
  /** A rate, count or size, in words with its unit. */
  figure?: string;
  /** The target, and whether this run met it. */
  target?: { text: string; met: boolean };
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const ms = (value: number) => (Number.isNaN(value) ? '' : value < 100 ? value.toFixed(1) : value.toFixed(0));

export function printTable(rows: readonly Row[], heading: string): void {
  const floor = percentile(rows[0]!.samples, 50);
  const lines = [
    heading,
    '',
    '| case | samples | median ms | p99 ms | median ÷ floor | rate / figure | target |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const row of rows) {
    const median = percentile(row.samples, 50);
    const target = row.target ? `${row.target.text}: **${row.target.met ? 'met' : 'missed'}**` : '';
    lines.push(
      `| ${row.name} | ${row.count ?? row.samples.length} | ${ms(median)} | ${ms(percentile(row.samples, 99))} | ${
        Number.isNaN(median) ? '' : `${(median / floor).toFixed(1)}×`
      } | ${row.figure ?? ''} | ${target} |`,
    );
  }
  console.log(`\n${lines.join('\n')}\n`);
}
