// Alertmanager-style label matchers (`name="value"`, `name!="value"`, `name=~"regex"`,
// `name!~"regex"`), so playbooks select alerts the way Alertmanager routes do.
// As in Alertmanager, regexes are anchored and a missing label reads as the empty string.
import type { Labels } from './alertmanager';

export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  operator: MatchOperator;
  value: string;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$/;

/** Parses one matcher; throws an Error that says what a valid matcher looks like. */
export function parseMatcher(text: string): Matcher {
  const match = MATCHER.exec(text);
  if (!match)
    throw new Error(
      `"${text}" is not a label matcher; write name="value", name!="value", name=~"regex" or name!~"regex"`,
    );
  const [, name, operator, quoted, bare] = match as unknown as [
    string,
    string,
    MatchOperator,
    string | undefined,
    string | undefined,
  ];
  const value = quoted !== undefined ? unescape(quoted) : (bare ?? '');
  const matcher = { name, operator, value };
  if (operator === '=~' || operator === '!~') {
    try {
      anchored(value);
    } catch (error) {
      throw new Error(`"${text}": invalid regular expression (${(error as Error).message})`);
    }
  }
  return matcher;
}

const anchored = (pattern: string) => new RegExp(`^(?:${pattern})$`);

/**
 * As Alertmanager reads a quoted value: \\, \" and \n are escapes; any other backslash stays (so \d works in a regex).
 */
const unescape = (quoted: string) =>
  quoted.replace(/\\([\\"n])/g, (_match, escaped: string) => (escaped === 'n' ? '\n' : escaped));

export function matches(matcher: Matcher, labels: Labels): boolean {
  const actual = Object.hasOwn(labels, matcher.name) ? labels[matcher.name]! : '';
  switch (matcher.operator) {
    case '=':
      return actual === matcher.value;
    case '!=':
      return actual !== matcher.value;
    case '=~':
      return anchored(matcher.value).test(actual);
    case '!~':
      return !anchored(matcher.value).test(actual);
  }
}

export const matchesAll = (matchers: readonly Matcher[], labels: Labels) => matchers.every((m) => matches(m, labels));

export const formatMatcher = ({ name, operator, value }: Matcher) => `${name}${operator}${JSON.stringify(value)}`;
