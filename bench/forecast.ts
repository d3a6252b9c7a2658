// npm run bench:forecast: the month-end forecast's error, measured. Each method forecasts the month's
// total at the start of every day from the 5th to the 25th, on the simulated platform's month and on
// hand-made series it did not produce; the table gives the absolute percentage error of each
// forecast (one month per series, so the MAPE of a day is that day's error) and the mean from the
// 10th on. What the series are and what won: bench/README.md, Forecasts.
import { seasonalNaiveForecast, type Forecast } from '../finops/forecast';
import {
  growthSeries,
  monthSpendOn,
  monthTotalUsd,
  predictLinearForecast,
  recentAverageForecast,
  simulatedMonth,
  stepSeries,
  type HourlySeries,
} from './forecast-methods';

const FIRST_DAY = 5;
const LAST_DAY = 25;
const MEAN_FROM = 10;

const METHODS: Array<{ name: string; forecast: (series: HourlySeries, day: number) => Forecast }> = [
  { name: '7-day avg', forecast: (series, day) => recentAverageForecast(monthSpendOn(series, day)) },
  { name: 'seasonal naive', forecast: (series, day) => seasonalNaiveForecast(monthSpendOn(series, day)) },
  { name: 'predict_linear', forecast: predictLinearForecast },
];

function main() {
  const began = Date.now();
  const series = [simulatedMonth(), stepSeries(), growthSeries()];
  const columns = series.flatMap((s) => METHODS.map((method) => ({ series: s, method, actual: monthTotalUsd(s) })));
  const days = Array.from({ length: LAST_DAY - FIRST_DAY + 1 }, (_, k) => FIRST_DAY + k);
  const errors = columns.map(({ series: s, method, actual }) =>
    days.map((day) => {
      const forecast = method.forecast(s, day);
      return {
        ape: (100 * Math.abs(forecast.forecastUsd - actual)) / actual,
        within: forecast.lowUsd <= actual && actual <= forecast.highUsd,
      };
    }),
  );
  const pct = (value: number) => `${value.toFixed(1)}%`;
  const lines = [
    `Month-end forecast error (absolute % of the month's actual total), by the day of the month the forecast is made. Actual totals: ${series.map((s) => `${s.name} $${Math.round(monthTotalUsd(s)).toLocaleString('en-US')}`).join(', ')}.`,
    '',
    `| day | ${columns.map(({ series: s, method }) => `${s.name}: ${method.name}`).join(' | ')} |`,
    `| ---: | ${columns.map(() => '---:').join(' | ')} |`,
    ...days.map((day, k) => `| ${day} | ${errors.map((column) => pct(column[k]!.ape)).join(' | ')} |`),
    `| **MAPE, day ${MEAN_FROM}-${LAST_DAY}** | ${errors
      .map((column) => {
        const from = column.slice(MEAN_FROM - FIRST_DAY);
        return `**${pct(from.reduce((a, e) => a + e.ape, 0) / from.length)}**`;
      })
      .join(' | ')} |`,
    `| actual within [low, high] | ${errors
      .map((column, c) =>
        columns[c]!.method.name === 'seasonal naive'
          ? `${column.filter((e) => e.within).length}/${column.length}`
          : 'no interval',
      )
      .join(' | ')} |`,
  ];
  console.log(lines.join('\n'));
  console.error(`[bench:forecast] ${((Date.now() - began) / 1000).toFixed(1)} s`);
}

main();
