// The reviews' configuration (reviews/review-settings.ts) as loadConfig reads it: the defaults when the file says
// nothing, a budget's own review time, and errors that name the field and the fix.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../config/config-load';
import { DEFAULT_PRICES_PER_GB_MONTH } from '../../reviews/review-settings';
import { desiredSchedules, reviewSettings } from '../../reviews/review-schedules';

const dir = mkdtempSync(join(tmpdir(), 'finops-soar-review-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const load = (yaml: string) => {
  const file = join(dir, `config-${(files += 1)}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ file, env: {} });
};

function errorOf(yaml: string): string {
  try {
    load(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

test('without review blocks: a weekly review of each budget on Mondays at 09:00 UTC to finops, no quarterly one', () => {
  const config = load('finops:\n  budgets:\n    platform: {monthlyUsd: 30000}\n');
  expect(reviewSettings(config)).toEqual({
    weekly: { enabled: true, day: 'monday', at: '09:00', timezone: 'UTC', notify: ['finops'], top: 5 },
    lifecycle: {
      buckets: [],
      dayOfMonth: 1,
      at: '09:00',
      timezone: 'UTC',
      notify: ['finops'],
      coldAfterDays: 90,
      moveTo: 'GLACIER_IR',
      pricesPerGbMonth: DEFAULT_PRICES_PER_GB_MONTH,
    },
  });
  expect(desiredSchedules(config).map(({ scheduleId, when }) => [scheduleId, when])).toEqual([
    ['finops-soar/review/weekly/platform', 'mondays at 09:00 (UTC)'],
  ]);
});

test("a budget's own review time overrides the weekly block; buckets make a quarterly review", () => {
  const config = load(`finops:
  budgets:
    platform: {monthlyUsd: 30000}
    search: {monthlyUsd: 5000, selector: 'route="search"', review: {day: friday, at: "16:30", timezone: Europe/Paris}}
  reviews:
    weekly: {day: tuesday, at: "08:00", notify: [finops, leadership]}
storage:
  review:
    buckets: [llm-request-logs]
    dayOfMonth: 2
    pricesPerGbMonth: {STANDARD: 0.025, GLACIER_IR: 0.005}
`);
  const schedules = desiredSchedules(config);
  expect(schedules.map(({ scheduleId, spec, when }) => ({ scheduleId, spec, when }))).toEqual([
    {
      scheduleId: 'finops-soar/review/weekly/platform',
      spec: {
        calendars: [{ dayOfWeek: 'TUESDAY', hour: 8, minute: 0, comment: 'weekly review of budget platform' }],
        timezone: 'UTC',
      },
      when: 'tuesdays at 08:00 (UTC)',
    },
    {
      scheduleId: 'finops-soar/review/weekly/search',
      spec: {
        calendars: [{ dayOfWeek: 'FRIDAY', hour: 16, minute: 30, comment: 'weekly review of budget search' }],
        timezone: 'Europe/Paris',
      },
      when: 'fridays at 16:30 (Europe/Paris)',
    },
    {
      scheduleId: 'finops-soar/review/quarterly',
      spec: {
        calendars: [
          {
            month: ['JANUARY', 'APRIL', 'JULY', 'OCTOBER'],
            dayOfMonth: 2,
            hour: 9,
            minute: 0,
            comment: 'quarterly lifecycle review',
          },
        ],
        timezone: 'UTC',
      },
      when: 'on day 2 of January, April, July and October at 09:00 (UTC)',
    },
  ]);
  expect(schedules[0]!.input).toEqual({ budget: 'platform', notifyTo: ['finops', 'leadership'], top: 5 });
  expect(schedules[2]!.input).toEqual({
    buckets: ['llm-request-logs'],
    notifyTo: ['finops'],
    coldAfterDays: 90,
    moveTo: 'GLACIER_IR',
    pricesPerGbMonth: { STANDARD: 0.025, GLACIER_IR: 0.005 },
  });
});

test('disabled, no weekly schedule', () => {
  const config = load(
    'finops:\n  budgets:\n    platform: {monthlyUsd: 30000}\n  reviews:\n    weekly: {enabled: false}\n',
  );
  expect(desiredSchedules(config)).toEqual([]);
});

describe('bad config: the field and the fix', () => {
  test('a day, a time and a time zone', () => {
    const message = errorOf(`finops:
  budgets:
    platform: {monthlyUsd: 30000, review: {at: "9am"}}
  reviews:
    weekly: {day: mon, timezone: Mars/Olympus_Mons}
`);
    expect(message).toContain(
      'finops.budgets.platform.review.at: a time of day as HH:MM on the 24-hour clock, e.g. "09:00" (quote it in YAML)',
    );
    expect(message).toContain(
      'finops.reviews.weekly.day: Invalid option. Expected: the day of the week, lower case: monday, tuesday, wednesday, thursday, friday, saturday or sunday',
    );
    expect(message).toContain(
      'finops.reviews.weekly.timezone: not an IANA time zone name; write one such as UTC, Europe/Paris or America/New_York',
    );
  });

  test('a time without its leading zero is refused; 09:00 unquoted reads as text in YAML 1.2', () => {
    expect(errorOf('finops:\n  reviews:\n    weekly: {at: 9:00}\n')).toContain(
      'finops.reviews.weekly.at: a time of day as HH:MM on the 24-hour clock, e.g. "09:00"',
    );
    expect(reviewSettings(load('finops:\n  reviews:\n    weekly: {at: 09:00}\n')).weekly.at).toBe('09:00');
  });

  test('cold data moved to a class without a price', () => {
    expect(
      errorOf(
        'storage:\n  review:\n    buckets: [logs-bucket]\n    moveTo: DEEP_ARCHIVE\n    pricesPerGbMonth: {STANDARD: 0.023}\n',
      ),
    ).toContain(
      'storage.review.moveTo: moveTo names a storage class without a price: add it to storage.review.pricesPerGbMonth',
    );
  });

  test('an unknown field in a review block', () => {
    expect(errorOf('finops:\n  reviews:\n    weekly: {hour: 9}\n')).toContain('finops.reviews.weekly');
  });
});
