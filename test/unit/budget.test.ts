// The month-end forecast and the scale-out decision, including property tests: the forecast's
// interval holds it and the spend so far, it scales with the spend and is flat for flat spend; the
// decision never allows a scale-out the forecast's high side says breaks the budget, and always
// allows one with ample room.
import fc from 'fast-check';
import { budgetMessage, monthWindow, newlyCrossed, scaleOutDecision } from '../../finops/budget';
import { dailySpend } from '../../finops/finops-activities';
import { seasonalNaiveForecast, type MonthSpend } from '../../finops/forecast';

describe('monthWindow', () => {
  test('counts elapsed and remaining days in the UTC calendar month', () => {
    expect(monthWindow(new Date('2026-11-16T00:00:00Z'))).toEqual({
      elapsedSeconds: 15 * 86_400,
      elapsedDays: 15,
      remainingDays: 15,
    });
    expect(monthWindow(new Date('2027-02-01T06:00:00Z'))).toMatchObject({ elapsedDays: 0.25, remainingDays: 27.75 });
  });
});

describe('scaleOutDecision', () => {
  const forecast = fc
    .tuple(
      fc.double({ min: 0, max: 1e8, noNaN: true }),
      fc.double({ min: 0, max: 1e7, noNaN: true }),
      fc.double({ min: 0, max: 1e7, noNaN: true }),
    )
    .map(([forecastUsd, below, above]) => ({
      forecastUsd,
      lowUsd: Math.max(0, forecastUsd - below),
      highUsd: forecastUsd + above,
    }));
  const question = fc.record({
    forecast,
    scaleOutUsd: fc.double({ min: 0, max: 1e6, noNaN: true }),
    budgetUsd: fc.double({ min: 1, max: 1e8, noNaN: true }),
    headroom: fc.double({ min: 0, max: 0.9, noNaN: true }),
  });

  test('property: never allows a scale-out that the forecast’s high side says breaks the budget less headroom', () => {
    fc.assert(
      fc.property(question, (q) => {
        if (scaleOutDecision(q).allowed)
          expect(q.forecast.highUsd + q.scaleOutUsd).toBeLessThanOrEqual(q.budgetUsd * (1 - q.headroom));
      }),
    );
  });

  test('property: always allows one with ample room', () => {
    fc.assert(
      fc.property(question, fc.double({ min: 1, max: 100, noNaN: true }), (q, room) => {
        const budgetUsd = ((q.forecast.highUsd + q.scaleOutUsd) * (1 + room)) / (1 - q.headroom) + 1;
        expect(scaleOutDecision({ ...q, budgetUsd }).allowed).toBe(true);
      }),
    );
  });

  test('says why, with the numbers: the expected forecast fits, its high side does not', () => {
    expect(
      scaleOutDecision({
        forecast: { forecastUsd: 4_000_000, lowUsd: 3_800_000, highUsd: 4_200_000 },
        scaleOutUsd: 1_920,
        budgetUsd: 4_500_000,
        headroom: 0.1,
      }),
    ).toEqual({
      allowed: false,
      limitUsd: 4_050_000,
      reason:
        'forecast up to $4,200,000 (expected $4,000,000) + scale-out $1,920 = $4,201,920 over $4,050,000 (budget $4,500,000 less 10% headroom)',
    });
  });
});

describe('budget thresholds', () => {
  test('each of 50, 75, 90 and 100% once: those reached and not yet announced, lowest first', () => {
    expect(newlyCrossed(0.49, [])).toEqual([]);
    expect(newlyCrossed(0.5, [])).toEqual([0.5]);
    expect(newlyCrossed(0.93, [0.5])).toEqual([0.75, 0.9]);
    expect(newlyCrossed(1.4, [0.5, 0.75, 0.9, 1])).toEqual([]);
  });

  test('the announcement gives the spend, the pace over the day, week and month, and the forecast', () => {
    const report = {
      budget: 'acme',
      month: '2026-11',
      monthlyUsd: 100_000,
      spentUsd: 75_300,
      forecastUsd: 104_000,
      dailyUsd: { lastDay: 4_100, lastWeek: 3_500, monthToDate: 2_690 },
    };
    expect(budgetMessage(report, 0.75)).toBe(
      'Budget acme has reached 75% for 2026-11: $75,300 of $100,000 spent. Spending $4,100/day over the last day, $3,500/day over the last week, $2,690/day this month. Month-end forecast $104,000, over by $4,000.',
    );
    expect(
      budgetMessage({ ...report, forecastUsd: 96_000, dailyUsd: { ...report.dailyUsd, lastWeek: null } }, 0.75),
    ).toMatch(/this month\. Month-end forecast \$96,000, within it by \$4,000\.$/);
  });

  test('with an interval, the announcement measures the budget against the forecast’s high side', () => {
    const report = {
      budget: 'acme',
      month: '2026-11',
      monthlyUsd: 100_000,
      spentUsd: 50_000,
      forecastUsd: 96_000,
      forecastLowUsd: 92_000,
      forecastHighUsd: 103_000,
      dailyUsd: { lastDay: 3_300, lastWeek: 3_200, monthToDate: 3_300 },
    };
    expect(budgetMessage(report, 0.5)).toMatch(/Month-end forecast \$96,000, up to \$103,000: over by \$3,000\.$/);
    expect(budgetMessage({ ...report, forecastHighUsd: 99_000 }, 0.5)).toMatch(
      /Month-end forecast \$96,000, up to \$99,000: within it by \$1,000\.$/,
    );
  });
});

describe('seasonalNaiveForecast', () => {
  const flatMonth = (usd: number, day: number, before = 28): MonthSpend => ({
    before: Array<number>(before).fill(usd),
    days: Array<number>(day - 1).fill(usd),
    today: { usd: 0, elapsed: 0 },
    daysInMonth: 30,
  });
  /** Day i of a history: weekends (i % 7 in 5, 6) at 60%, growing by `growth` a day. */
  const weekly = (i: number, growth = 0) => (i % 7 >= 5 ? 600 : 1_000) + growth * i;

  test('a flat series forecasts flat, with no width', () => {
    expect(seasonalNaiveForecast(flatMonth(1_000, 11))).toEqual({
      forecastUsd: 30_000,
      lowUsd: 30_000,
      highUsd: 30_000,
    });
  });

  test('a weekly curve with a trend is forecast exactly', () => {
    const history = Array.from({ length: 28 + 12 }, (_, i) => weekly(i, 5));
    const forecast = seasonalNaiveForecast({
      before: history.slice(0, 28),
      days: history.slice(28),
      today: { usd: 0, elapsed: 0 },
      daysInMonth: 30,
    });
    const actual = Array.from({ length: 30 }, (_, d) => weekly(28 + d, 5)).reduce((a, b) => a + b, 0);
    expect(forecast.forecastUsd).toBeCloseTo(actual, 6);
  });

  test('a two-day spike is outvoted by the other weeks, and widens the interval', () => {
    const history = Array.from({ length: 28 + 14 }, (_, i) => weekly(i));
    const spiked = history.map((usd, i) => (i === 36 || i === 37 ? usd * 3 : usd));
    const on = (h: number[]) =>
      seasonalNaiveForecast({
        before: h.slice(0, 28),
        days: h.slice(28),
        today: { usd: 0, elapsed: 0 },
        daysInMonth: 30,
      });
    const [calm, spike] = [on(history), on(spiked)];
    // The spike's own days count once, in the spend so far; the days to come are forecast as without it.
    const spikeUsd = spiked.reduce((a, b) => a + b, 0) - history.reduce((a, b) => a + b, 0);
    expect(spike.forecastUsd).toBeCloseTo(calm.forecastUsd + spikeUsd, 6);
    expect(spike.highUsd - spike.forecastUsd).toBeGreaterThan(calm.highUsd - calm.forecastUsd);
  });

  test('before a week of history, the month’s own pace stands in', () => {
    const forecast = seasonalNaiveForecast({
      before: [],
      days: [1_000, 1_000, 1_000],
      today: { usd: 500, elapsed: 0.5 },
      daysInMonth: 30,
    });
    expect(forecast.forecastUsd).toBeCloseTo(30_000);
    expect(forecast.lowUsd).toBeLessThan(forecast.forecastUsd);
  });

  const spend = fc
    .record({
      before: fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 35 }),
      days: fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 30 }),
      today: fc.record({
        usd: fc.double({ min: 0, max: 1e6, noNaN: true }),
        elapsed: fc.double({ min: 0, max: 0.999, noNaN: true }),
      }),
      daysInMonth: fc.integer({ min: 28, max: 31 }),
    })
    .filter(({ days, daysInMonth }) => days.length < daysInMonth);

  test('property: high ≥ forecast ≥ low ≥ the month to date', () => {
    fc.assert(
      fc.property(spend, (s) => {
        const { forecastUsd, lowUsd, highUsd } = seasonalNaiveForecast(s);
        const spent = s.days.reduce((a, b) => a + b, 0) + s.today.usd;
        expect(highUsd).toBeGreaterThanOrEqual(forecastUsd);
        expect(forecastUsd).toBeGreaterThanOrEqual(lowUsd);
        expect(lowUsd).toBeGreaterThanOrEqual(spent * (1 - 1e-12));
      }),
    );
  });

  test('property: scaling the series scales the forecast and its interval', () => {
    fc.assert(
      fc.property(spend, fc.double({ min: 0.01, max: 100, noNaN: true }), (s, k) => {
        const scale = (values: number[]) => values.map((value) => value * k);
        const base = seasonalNaiveForecast(s);
        const scaled = seasonalNaiveForecast({
          ...s,
          before: scale(s.before),
          days: scale(s.days),
          today: { ...s.today, usd: s.today.usd * k },
        });
        for (const key of ['forecastUsd', 'lowUsd', 'highUsd'] as const)
          expect(Math.abs(scaled[key] - base[key] * k)).toBeLessThanOrEqual(1e-6 * Math.max(1, base[key] * k));
      }),
    );
  });

  test('on the 1st with under a week of history, the days before the month stand for the rest', () => {
    // Three days of Prometheus before the month, none in it yet: not $0.
    expect(seasonalNaiveForecast(flatMonth(1_000, 1, 3)).forecastUsd).toBeCloseTo(30_000, 6);
  });

  test('property: a flat series forecasts flat, whatever the day', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 35 }),
        (usd, day, before) => {
          fc.pre(before + day - 1 > 0); // a whole day to go by
          const forecast = seasonalNaiveForecast(flatMonth(usd, day, before));
          expect(forecast.forecastUsd).toBeCloseTo(usd * 30, 4);
        },
      ),
    );
  });
});

describe('dailySpend', () => {
  test('one query for every day; oldest first, from the first day with spend, a gap after it as $0', async () => {
    const queries: string[] = [];
    const prometheus = {
      query: (promql: string) => {
        queries.push(promql);
        return Promise.resolve(
          [
            [0, 30],
            [1, 20],
            [3, 10],
          ].map(([daysAgo, value]) => ({ labels: { days_ago: String(daysAgo) }, time: 0, value: value! })),
        );
      },
    };
    const midnight = new Date('2026-11-16T00:00:00Z');
    expect(await dailySpend(prometheus, 'inference_cost_usd_total', midnight, 6)).toEqual([10, 0, 20, 30]);
    expect(queries).toHaveLength(1);
    expect(queries[0]).toContain(
      'label_replace(sum(increase(inference_cost_usd_total[1d] @ 1794787200)), "days_ago", "0", "", "") or ',
    );
    expect(queries[0]).toContain('[1d] @ 1794787200 offset 5d)), "days_ago", "5"');
  });
});
