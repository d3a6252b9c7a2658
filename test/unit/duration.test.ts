import { durationSchema, parseDuration } from '../../validation/duration';

describe('parseDuration', () => {
  test.each<[string, number]>([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5],
    ['0s', 0],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['1m1ms', 60_001],
    ['30m1h', 5_400_000],
    ['100ms5s', 5_100],
    ['  10m  ', 600_000],
    ['007s', 7_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    [''],
    ['   '],
    ['5'],
    ['m'],
    ['ms'],
    ['5x'],
    ['5 m'],
    ['1h 30m'],
    ['-5m'],
    ['+5m'],
    ['5M'],
    ['5H'],
    ['5min'],
    ['5mins'],
    ['1w'],
    ['1y'],
    ['5m junk'],
    ['junk 5m'],
    ['five minutes'],
    ['1.5.5s'],
    ['.5s'],
    ['5.s'],
    ['1e3s'],
    ['PT5M'],
    ['5m,10s'],
  ])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('durationSchema', () => {
  test('turns text into milliseconds', () => {
    expect(durationSchema.parse('1h30m')).toBe(5_400_000);
  });

  test('refuses what is not a duration, quoting it', () => {
    const result = durationSchema.safeParse('soon');
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ code: 'custom', message: '"soon" is not a duration', path: [] }),
    ]);
  });

  test('refuses a number: durations are written with a unit', () => {
    expect(durationSchema.safeParse(300).success).toBe(false);
  });
});
