// What a measured value means to the steps that measure (playbook/measures.ts): the level an adapt
// step moves to, and whether a verify step's metric is where it expects.
import { describeExpectation, hasMoved, levelFor } from '../../playbook/measures';

const levels = [
  { above: 0.5, params: { rateLimitRps: 20 } },
  { above: 0.8, params: { rateLimitRps: 5 } },
];

describe('adapt levels', () => {
  test.each([
    [0.2, null],
    [0.5, null],
    [0.51, 0],
    [0.8, 0],
    [0.95, 1],
  ])('%s calls for level %s (the highest threshold it is strictly above)', (value, level) => {
    expect(levelFor({ levels }, value)).toBe(level);
  });

  test('no levels: nothing is ever called for', () => {
    expect(levelFor({ levels: [] }, 1_000)).toBeNull();
  });
});

describe('verify expectations', () => {
  test('below and above are strict', () => {
    expect(hasMoved(0.29, { below: 0.3 })).toBe(true);
    expect(hasMoved(0.3, { below: 0.3 })).toBe(false);
    expect(hasMoved(0.61, { above: 0.6 })).toBe(true);
    expect(hasMoved(0.6, { above: 0.6 })).toBe(false);
  });

  test('said in words', () => {
    expect(describeExpectation({ below: 0.3 })).toBe('below 0.3');
    expect(describeExpectation({ above: 0.6 })).toBe('above 0.6');
  });
});
