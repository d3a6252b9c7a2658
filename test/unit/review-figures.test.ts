// The reviews' pure arithmetic and rendering (reviews/weekly-figures.ts, lifecycle-figures.ts, weekly-report.ts):
// quota suggestions, rounding, rankings, the budget's matchers added to a series, and a chart with nothing to draw.
import fc from 'fast-check';
import { bucketFigures, GIB } from '../../reviews/lifecycle-figures';
import { withSelector } from '../../reviews/weekly-gather';
import { movers, quotaSuggestion, topBy, twoSignificant, type WeeklyFigures } from '../../reviews/weekly-figures';
import { weeklyChartSvg, weeklyMarkdown } from '../../reviews/weekly-report';

test('twoSignificant rounds up to two significant figures, never below the value', () => {
  expect([714.2857, 0.330714, 4_000_000, 720, 1, 0.0049].map(twoSignificant)).toEqual([
    720, 0.34, 4_000_000, 720, 1, 0.0049,
  ]);
  fc.assert(
    fc.property(fc.double({ min: 1e-6, max: 1e12, noNaN: true }), (value) => {
      const rounded = twoSignificant(value);
      expect(rounded).toBeGreaterThanOrEqual(value * (1 - 1e-9));
      expect(rounded).toBeLessThanOrEqual(value * 1.1 + 1e-12);
    }),
  );
});

describe('quota suggestions', () => {
  test('hit on all 7 days: raise so the peak is 70%; never above 25%: lower to twice the peak; otherwise none', () => {
    expect(quotaSuggestion(100, [95, 90, 99, 120, 91, 93, 90])).toEqual({
      kind: 'raise',
      to: 180, // 120 / 0.7 = 171.4 -> 180
      why: 'at 90% or more of it on each of the 7 days',
    });
    expect(quotaSuggestion(1_000, [10, 20, 240, 5, 0, 0, 1])).toEqual({
      kind: 'lower',
      to: 480,
      why: 'never above 25% of it in 7 days (peak 24%)',
    });
    // Hit on six days of seven is not every day; 25% once is approaching it.
    expect(quotaSuggestion(100, [95, 95, 95, 95, 95, 95, 89])).toBeNull();
    expect(quotaSuggestion(1_000, [250, 0, 0, 0, 0, 0, 0])).toBeNull();
    // Fewer than 7 days of use say nothing either way.
    expect(quotaSuggestion(100, [100, 100])).toBeNull();
  });

  test('a raise always leaves the peak under the quota; a lower never goes under the peak', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 1e9, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 7, maxLength: 7 }),
        (limit, shares) => {
          const daily = shares.map((share) => share * limit);
          const suggestion = quotaSuggestion(limit, daily);
          const peak = Math.max(...daily);
          if (suggestion?.kind === 'raise') expect(suggestion.to).toBeGreaterThan(peak);
          if (suggestion?.kind === 'lower') expect(suggestion.to).toBeGreaterThanOrEqual(peak);
        },
      ),
    );
  });
});

test('top tenants sum their routes; movers rank by the size of the change either way and leave the unchanged out', () => {
  const rows = [
    { tenant: 'a', route: 'chat', usd: 10, previousUsd: 30 },
    { tenant: 'a', route: 'search', usd: 50, previousUsd: 50 },
    { tenant: 'b', route: 'chat', usd: 40, previousUsd: 25 },
  ];
  expect(topBy(rows, 'tenant', 5)).toEqual([
    { tenant: 'a', usd: 60, previousUsd: 80 },
    { tenant: 'b', usd: 40, previousUsd: 25 },
  ]);
  expect(topBy(rows, 'route', 1)).toEqual([{ route: 'chat', usd: 50, previousUsd: 55 }]);
  expect(movers(rows, 5)).toEqual([rows[0], rows[2]]);
});

test("a budget's matchers join a series' own, or become its only ones", () => {
  expect(withSelector('http_requests_total{code="200"}', 'tenant="acme"')).toBe(
    'http_requests_total{code="200",tenant="acme"}',
  );
  expect(withSelector('llm_tokens_total', 'tenant="acme"')).toBe('llm_tokens_total{tenant="acme"}');
  expect(withSelector('llm_tokens_total{}', 'tenant="acme"')).toBe('llm_tokens_total{tenant="acme"}');
  expect(withSelector('llm_tokens_total', ' ')).toBe('llm_tokens_total');
});

test('a bucket whose classes have no price: counted, named, left out of the savings', () => {
  const asOf = new Date('2026-12-01T00:00:00Z');
  const old = new Date(asOf.getTime() - 400 * 86_400_000).toISOString();
  const figures = bucketFigures(
    'b',
    null,
    [
      { size: 10 * GIB, storageClass: 'REDUCED_REDUNDANCY', lastModified: old },
      { size: 10 * GIB, storageClass: 'STANDARD', lastModified: old },
      // Modified after the review's time (clocks apart): the youngest band.
      { size: 1, storageClass: 'STANDARD', lastModified: '2026-12-02T00:00:00Z' },
    ],
    { asOf, coldAfterDays: 90, moveTo: 'GLACIER_IR', pricesPerGbMonth: { STANDARD: 0.023, GLACIER_IR: 0.004 } },
  );
  expect(figures.unpriced).toEqual(['REDUCED_REDUNDANCY']);
  expect(figures.cold.savedUsdPerMonth).toBe(0.19);
  expect(figures.byAge[0]!.total).toEqual({ objects: 1, bytes: 1 });
});

test('a review with no whole day yet draws an empty chart that is still an SVG, and a report without a daily table row', () => {
  const figures: WeeklyFigures = {
    budget: 'platform',
    asOf: '2026-12-01T09:00:00.000Z',
    weekStart: '2026-11-24T09:00:00.000Z',
    month: '2026-12',
    monthlyUsd: 1000,
    spentUsd: 10,
    forecast: { expectedUsd: 300, lowUsd: 225, highUsd: 375 },
    burn: { lastDayUsd: 26.67, lastWeekPerDayUsd: null, monthToDatePerDayUsd: 26.67 },
    daily: [],
    daysInMonth: 31,
    topTenants: [],
    topRoutes: [],
    movers: [],
    unitCosts: [],
    modelUnitCosts: [],
    quotas: [],
    runs: null,
    capas: null,
    problems: ['runs: Temporal unreachable'],
  };
  const svg = weeklyChartSvg(figures);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).not.toContain('class="day"');
  const markdown = weeklyMarkdown(figures, null);
  expect(markdown).toContain('- Burn: $26.67 over the last day, no whole week yet, $26.67/day this month\n');
  expect(markdown).toContain('## Playbook runs this week\n\n- (not available: see Problems)\n');
  expect(markdown).toContain('## Problems\n\n- runs: Temporal unreachable\n');
  expect(markdown).not.toContain('![');
});
