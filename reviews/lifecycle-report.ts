// The quarterly lifecycle review as people read it: the Markdown report and the digest the notifier posts.
import type { ReportPost } from '../notify/notifier';
import { GIB, ruleLine, type BucketFigures, type Tally } from './lifecycle-figures';
import { usd } from './weekly-report';

export interface LifecycleFigures {
  asOf: string;
  buckets: BucketFigures[];
  savedUsdPerMonth: number;
}

const gib = (bytes: number) => `${(bytes / GIB).toLocaleString('en-US', { maximumFractionDigits: 2 })} GiB`;
const tally = ({ objects, bytes }: Tally) =>
  `${objects.toLocaleString('en-US')} ${objects === 1 ? 'object' : 'objects'}, ${bytes.toLocaleString('en-US')} bytes (${gib(bytes)})`;

export function bucketSection(b: BucketFigures): { title: string; lines: string[] } {
  if (b.problem) return { title: `Bucket ${b.bucket}`, lines: [`could not be read: ${b.problem}`] };
  const rules = b.rules === null ? ['no lifecycle configuration'] : b.rules.map((rule) => `rule ${ruleLine(rule)}`);
  const classes = Object.entries(b.byClass)
    .sort(([a], [c]) => a.localeCompare(c))
    .map(([storageClass, t]) => `${storageClass}: ${tally(t)}`);
  const ages = b.byAge.filter((age) => age.total.objects > 0).map((age) => `${age.band}: ${tally(age.total)}`);
  const cold = Object.entries(b.cold.byClass)
    .sort(([a], [c]) => a.localeCompare(c))
    .map(
      ([storageClass, c]) =>
        `older than ${b.cold.olderThanDays} days in ${storageClass}: ${tally(c)}; moving it to ${b.cold.moveTo} saves ${usd(c.savedUsdPerMonth)}/month`,
    );
  return {
    title: `Bucket ${b.bucket}: ${tally(b.total)}`,
    lines: [
      ...rules,
      ...classes,
      ...ages,
      ...(cold.length > 0
        ? cold
        : [`nothing older than ${b.cold.olderThanDays} days sits in a dearer class than ${b.cold.moveTo}`]),
      ...(b.unpriced.length > 0
        ? [`no price configured for ${b.unpriced.join(', ')} (storage.review.pricesPerGbMonth): not counted in savings`]
        : []),
    ],
  };
}

export const lifecycleTitle = (f: LifecycleFigures) => `Quarterly lifecycle review, ${f.asOf.slice(0, 10)}`;

export const lifecycleSummary = (f: LifecycleFigures) =>
  `${f.buckets.length} ${f.buckets.length === 1 ? 'bucket' : 'buckets'}; moving cold data would save ${usd(f.savedUsdPerMonth)}/month.`;

export function lifecycleMarkdown(f: LifecycleFigures): string {
  const out = [`# ${lifecycleTitle(f)}`, '', `As of ${f.asOf}.`, '', lifecycleSummary(f), ''];
  for (const b of f.buckets) {
    const { title, lines } = bucketSection(b);
    out.push(`## ${title}`, '', ...lines.map((line) => `- ${line}`), '');
    if (b.problem || b.total.objects === 0) continue;
    const classes = Object.keys(b.byClass).sort();
    out.push(
      `| age | ${classes.join(' | ')} |`,
      `| --- |${classes.map(() => ' ---: |').join('')}`,
      ...b.byAge.map(
        (age) =>
          `| ${age.band} | ${classes.map((c) => (age.byClass[c] ? gib(age.byClass[c].bytes) : '-')).join(' | ')} |`,
      ),
      '',
    );
  }
  return out.join('\n');
}

export const lifecyclePost = (f: LifecycleFigures, notifyTo: string[], files: string[]): ReportPost => ({
  to: notifyTo,
  title: lifecycleTitle(f),
  summary: lifecycleSummary(f),
  sections: f.buckets.map(bucketSection),
  files,
});
