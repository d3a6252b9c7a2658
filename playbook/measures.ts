// What a measured value means to the steps that measure: the level an adapt step moves to, and
// whether a verify step's metric is where it expects. Pure, so the workflow and the unit tests
// share one definition.
import type { PlannedStep } from './plan';

type AdaptStep = Extract<PlannedStep, { kind: 'adapt' }>;
export type Expectation = Extract<PlannedStep, { kind: 'verify' }>['expect'];

/** The level a measurement calls for: the highest threshold it is above, or null below them all. */
export const levelFor = ({ levels }: Pick<AdaptStep, 'levels'>, value: number): number | null =>
  levels.reduce<number | null>((level, { above }, index) => (value > above ? index : level), null);

/** Whether a measured value is where a verify step expects it (`below` wins when both are set). */
export const hasMoved = (value: number, { below, above }: Expectation): boolean =>
  below !== undefined ? value < below : value > above!;

/** The expectation in words, e.g. "below 0.3". */
export const describeExpectation = ({ below, above }: Expectation): string =>
  below === undefined ? `above ${above}` : `below ${below}`;
