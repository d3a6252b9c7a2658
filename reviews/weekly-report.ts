// The weekly forecast review as people read it: the Markdown report kept under the data folder, its chart (an SVG
// drawn here, no browser), and the digest the notifier posts. Pure functions of the figures.
import type { ReportPost } from '../notify/notifier';
import { capaLines } from './review-capas';
import type { QuotaUse, WeeklyFigures } from './weekly-figures';

export const usd = (value: number) =>
  `${value < 0 ? '-' : ''}$${Math.abs(value).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** Unit costs are small numbers: up to four decimals, so $0.0243 per 1k tokens does not read as $0.02. */
const unitUsd = (value: number) =>
  `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;

const change = (now: number, before: number) => {
  const delta = now - before;
  const sign = delta >= 0 ? '+' : '-';
  const share = before > 0 ? ` (${sign}${Math.abs(Math.round((delta / before) * 100))}%)` : ' (new)';
  return `${sign}${usd(Math.abs(delta))}${share}`;
};

const QUOTA_UNITS: Record<QuotaUse['field'], (value: number) => string> = {
  tokensPerDay: (value) => `${value.toLocaleString('en-US')} tokens/day`,
  requestsPerSecond: (value) => `${value.toLocaleString('en-US')} requests/s`,
  costPerDayUsd: (value) => `${usd(value)}/day`,
};

export function quotaLine(quota: QuotaUse): string {
  const unit = QUOTA_UNITS[quota.field];
  const head = `${quota.tenant} ${quota.field} ${unit(quota.limit)}: peak ${Math.round(quota.peakShare * 100)}% of it`;
  if (!quota.suggestion) return head;
  const { kind, to, why } = quota.suggestion;
  return `${head}; ${why}: ${kind} it to ${unit(to)}`;
}

function budgetLines(f: WeeklyFigures): string[] {
  const { expectedUsd, lowUsd, highUsd } = f.forecast;
  const against =
    highUsd > f.monthlyUsd
      ? `over the budget by up to ${usd(highUsd - f.monthlyUsd)}`
      : `within the budget by ${usd(f.monthlyUsd - highUsd)} at worst`;
  return [
    `Spent ${usd(f.spentUsd)} of ${usd(f.monthlyUsd)} in ${f.month} (${Math.round((f.spentUsd / f.monthlyUsd) * 100)}%)`,
    `Month-end forecast ${usd(expectedUsd)}, between ${usd(lowUsd)} and ${usd(highUsd)}: ${against}`,
    `Burn: ${usd(f.burn.lastDayUsd)} over the last day, ${f.burn.lastWeekPerDayUsd === null ? 'no whole week yet' : `${usd(f.burn.lastWeekPerDayUsd)}/day over the last 7 days`}, ${usd(f.burn.monthToDatePerDayUsd)}/day this month`,
  ];
}

function runLines(f: WeeklyFigures): string[] {
  if (!f.runs) return ['(not available: see Problems)'];
  const { ended, running, savedUsd, addedUsd, byPlaybook } = f.runs;
  return [
    `${ended} runs ended this week, ${running} still running; saved ${usd(savedUsd)}, added ${usd(addedUsd)}`,
    ...byPlaybook.map(
      (p) =>
        `${p.playbook}: ${p.runs} runs, saved ${usd(p.savedUsd)}${p.addedUsd > 0 ? `, added ${usd(p.addedUsd)}` : ''}`,
    ),
  ];
}

/** The review's sections, shared by the Markdown report and the posted digest. */
export function weeklySections(f: WeeklyFigures): Array<{ title: string; lines: string[] }> {
  const none = (lines: string[], empty: string) => (lines.length > 0 ? lines : [empty]);
  return [
    { title: 'Budget', lines: budgetLines(f) },
    {
      title: 'Top tenants this week',
      lines: none(
        f.topTenants.map((t) => `${t.tenant}: ${usd(t.usd)}, ${change(t.usd, t.previousUsd)} on last week`),
        'no spend this week',
      ),
    },
    {
      title: 'Top routes this week',
      lines: none(
        f.topRoutes.map((r) => `${r.route}: ${usd(r.usd)}, ${change(r.usd, r.previousUsd)} on last week`),
        'no spend this week',
      ),
    },
    {
      title: 'Changed most week over week',
      lines: none(
        f.movers.map(
          (m) => `${m.tenant} on ${m.route}: ${usd(m.previousUsd)} → ${usd(m.usd)}, ${change(m.usd, m.previousUsd)}`,
        ),
        'nothing changed',
      ),
    },
    {
      title: 'Unit costs over the week',
      lines: none(
        [
          ...f.unitCosts.map(
            (u) =>
              `${u.tenant} on ${u.route}: ${u.usdPer1kRequests === null ? 'no requests served' : `${unitUsd(u.usdPer1kRequests)} per 1k requests`}${u.tokensPerRequest === null ? '' : `, ${u.tokensPerRequest.toLocaleString('en-US')} tokens/request`}`,
          ),
          ...f.modelUnitCosts
            .filter((m) => m.usdPer1kTokens !== null)
            .map((m) => `${m.tenant} on ${m.route} with ${m.model}: ${unitUsd(m.usdPer1kTokens!)} per 1k tokens`),
        ],
        'no traffic this week',
      ),
    },
    { title: 'Playbook runs this week', lines: runLines(f) },
    {
      title: 'Quotas',
      lines: none(
        [...f.quotas]
          .sort((a, b) => Number(!!b.suggestion) - Number(!!a.suggestion) || b.peakShare - a.peakShare)
          .map(quotaLine),
        'no tenant under this budget has a quota',
      ),
    },
    {
      title: 'Open CAPAs',
      lines: f.capas === null ? ['(not available: see Problems)'] : none(capaLines(f.capas), 'none open'),
    },
    ...(f.problems.length > 0 ? [{ title: 'Problems', lines: f.problems }] : []),
  ];
}

export function weeklySummary(f: WeeklyFigures): string {
  const overdue = f.capas?.filter((capa) => capa.overdue).length ?? 0;
  const suggestions = f.quotas.filter((quota) => quota.suggestion).length;
  return [
    `${usd(f.spentUsd)} spent of ${usd(f.monthlyUsd)}; month-end forecast ${usd(f.forecast.expectedUsd)} (up to ${usd(f.forecast.highUsd)}).`,
    f.topTenants[0] ? `Top tenant ${f.topTenants[0].tenant} (${usd(f.topTenants[0].usd)} this week).` : '',
    suggestions > 0 ? `${suggestions} quota ${suggestions === 1 ? 'change' : 'changes'} suggested.` : '',
    overdue > 0 ? `${overdue} overdue ${overdue === 1 ? 'CAPA' : 'CAPAs'}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

export const weeklyTitle = (f: WeeklyFigures) => `Weekly forecast review: ${f.budget}, ${f.asOf.slice(0, 10)}`;

export function weeklyMarkdown(f: WeeklyFigures, chartFile: string | null): string {
  const out = [
    `# ${weeklyTitle(f)}`,
    '',
    `As of ${f.asOf}; the week is ${f.weekStart} to ${f.asOf}.`,
    '',
    weeklySummary(f),
    '',
  ];
  if (chartFile) out.push(`![Daily spend, and the month-end forecast against the budget](${chartFile})`, '');
  for (const { title, lines } of weeklySections(f))
    out.push(`## ${title}`, '', ...lines.map((line) => `- ${line}`), '');
  out.push(
    '## Daily spend',
    '',
    '| day | spend |',
    '| --- | ---: |',
    ...f.daily.map((d) => `| ${d.day} | ${usd(d.usd)} |`),
    '',
  );
  return out.join('\n');
}

export const weeklyPost = (f: WeeklyFigures, notifyTo: string[], files: string[]): ReportPost => ({
  to: notifyTo,
  title: weeklyTitle(f),
  summary: weeklySummary(f),
  sections: weeklySections(f),
  files,
});

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
const px = (value: number) => Math.round(value * 10) / 10;

/**
 * The chart: one bar per whole day of the month so far (the days to come left empty), and beside it the month-end
 * panel: the spend so far, the forecast's interval as a band with its expected value, and the budget as a line. Each
 * bar carries its day and dollars as data attributes, so it reads without the picture.
 */
export function weeklyChartSvg(f: WeeklyFigures): string {
  const width = 720;
  const height = 320;
  const top = 40;
  const bottom = 270;
  const plot = bottom - top;
  const barsLeft = 60;
  const barsRight = 540;
  const slot = (barsRight - barsLeft) / Math.max(1, f.daysInMonth);
  const dayMax = Math.max(1, ...f.daily.map((d) => d.usd));
  const bars = f.daily.map((d, i) => {
    const h = (d.usd / dayMax) * plot;
    return `<rect class="day" data-day="${d.day}" data-usd="${d.usd.toFixed(2)}" x="${px(barsLeft + i * slot + 1)}" y="${px(bottom - h)}" width="${px(Math.max(1, slot - 2))}" height="${px(h)}" fill="#4c78a8"><title>${d.day}: ${escapeXml(usd(d.usd))}</title></rect>`;
  });
  const panelLeft = 600;
  const panelWidth = 60;
  const monthMax = Math.max(f.monthlyUsd, f.forecast.highUsd, f.spentUsd) * 1.1;
  const y = (value: number) => px(bottom - (value / monthMax) * plot);
  const budgetY = y(f.monthlyUsd);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(weeklyTitle(f))}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${barsLeft}" y="20" font-size="13">Daily spend, ${escapeXml(f.month)} (max ${escapeXml(usd(dayMax))}/day)</text>`,
    `<line x1="${barsLeft}" y1="${bottom}" x2="${barsRight}" y2="${bottom}" stroke="#333"/>`,
    ...bars,
    `<text x="${panelLeft - 20}" y="20" font-size="13">Month end</text>`,
    `<rect class="spent" data-usd="${f.spentUsd.toFixed(2)}" x="${panelLeft}" y="${y(f.spentUsd)}" width="${panelWidth}" height="${px(bottom - y(f.spentUsd))}" fill="#4c78a8"><title>spent ${escapeXml(usd(f.spentUsd))}</title></rect>`,
    `<rect class="forecast-interval" data-low="${f.forecast.lowUsd.toFixed(2)}" data-high="${f.forecast.highUsd.toFixed(2)}" x="${panelLeft}" y="${y(f.forecast.highUsd)}" width="${panelWidth}" height="${px(Math.max(1, y(f.forecast.lowUsd) - y(f.forecast.highUsd)))}" fill="#f58518" fill-opacity="0.4"><title>forecast ${escapeXml(usd(f.forecast.lowUsd))} to ${escapeXml(usd(f.forecast.highUsd))}</title></rect>`,
    `<line class="forecast" data-usd="${f.forecast.expectedUsd.toFixed(2)}" x1="${panelLeft}" y1="${y(f.forecast.expectedUsd)}" x2="${panelLeft + panelWidth}" y2="${y(f.forecast.expectedUsd)}" stroke="#f58518" stroke-width="2"/>`,
    `<line class="budget" data-usd="${f.monthlyUsd.toFixed(2)}" x1="${panelLeft - 10}" y1="${budgetY}" x2="${panelLeft + panelWidth + 10}" y2="${budgetY}" stroke="#e45756" stroke-width="2" stroke-dasharray="4 3"/>`,
    `<text x="${panelLeft - 10}" y="${px(budgetY - 4)}" fill="#e45756">budget ${escapeXml(usd(f.monthlyUsd))}</text>`,
    `<text x="${panelLeft - 20}" y="${bottom + 16}">forecast ${escapeXml(usd(f.forecast.expectedUsd))}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
