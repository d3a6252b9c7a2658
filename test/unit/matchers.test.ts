import type { Matcher } from '../../alerts/matchers';
import { formatMatcher, matches, matchesAll, parseMatcher } from '../../alerts/matchers';

const errorOf = (text: string): string => {
  try {
    parseMatcher(text);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return (error as Error).message;
  }
  throw new Error(`expected ${text} to be refused`);
};

describe('parseMatcher: the four operators', () => {
  test.each([
    ['alertname="LLMSpendBurnRateHigh"', { name: 'alertname', operator: '=', value: 'LLMSpendBurnRateHigh' }],
    ['severity!="S3"', { name: 'severity', operator: '!=', value: 'S3' }],
    ['severity=~"S1|S2"', { name: 'severity', operator: '=~', value: 'S1|S2' }],
    ['route!~"core|risk|fraud"', { name: 'route', operator: '!~', value: 'core|risk|fraud' }],
  ])('%s', (text, expected) => {
    expect(parseMatcher(text)).toEqual(expected);
  });
});

describe('parseMatcher: values', () => {
  test('a bare (unquoted) value is accepted, as Alertmanager does', () => {
    expect(parseMatcher('severity=S1')).toEqual({ name: 'severity', operator: '=', value: 'S1' });
    expect(parseMatcher('severity=~S1|S2')).toEqual({ name: 'severity', operator: '=~', value: 'S1|S2' });
  });

  test('an empty value, quoted or bare, means "the label is absent or empty"', () => {
    expect(parseMatcher('tenant=""')).toEqual({ name: 'tenant', operator: '=', value: '' });
    expect(parseMatcher('tenant=')).toEqual({ name: 'tenant', operator: '=', value: '' });
    expect(parseMatcher('tenant!=""')).toEqual({ name: 'tenant', operator: '!=', value: '' });
  });

  test('whitespace around the name, the operator and the value is ignored', () => {
    expect(parseMatcher('  route  =~  "chat|summarize"  ')).toEqual({
      name: 'route',
      operator: '=~',
      value: 'chat|summarize',
    });
  });

  test('a quoted value may hold spaces, commas, equals signs and braces', () => {
    expect(parseMatcher('summary="a, b = {c}"').value).toBe('a, b = {c}');
  });

  test('escaped quotes and backslashes in a quoted value are unescaped', () => {
    expect(parseMatcher(String.raw`summary="say \"hi\""`).value).toBe('say "hi"');
    expect(parseMatcher(String.raw`path="C:\\temp"`).value).toBe('C:\\temp');
    expect(parseMatcher(String.raw`text="line1\nline2"`).value).toBe('line1\nline2');
  });

  test('label names may hold underscores and digits after the first character', () => {
    expect(parseMatcher('_tier_2="x"').name).toBe('_tier_2');
  });

  test('Alertmanager keeps a backslash before any other character, so regex escapes such as \\d and \\. work', () => {
    // Alertmanager's parser treats `\d` as a literal backslash followed by `d`; JSON.parse refuses it.
    expect(parseMatcher(String.raw`status=~"5\d\d"`)).toEqual({
      name: 'status',
      operator: '=~',
      value: String.raw`5\d\d`,
    });
    expect(parseMatcher(String.raw`host=~"api\.example\.com"`).value).toBe(String.raw`api\.example\.com`);
  });
});

describe('parseMatcher: bad input', () => {
  test.each([
    ['no operator', 'alertname'],
    ['an empty text', ''],
    ['only an operator', '="x"'],
    ['a name starting with a digit', '1route="chat"'],
    ['a name with a dash', 'my-label="x"'],
    ['a dotted name', 'labels.route="chat"'],
    ['an unterminated quote', 'route="chat'],
    ['a stray quote after the value', 'route="chat""'],
    ['a bare value with a space', 'route=chat summarize'],
    ['two matchers in one', 'route="chat",tenant="acme"'],
    ['a PromQL-style braces selector', '{route="chat"}'],
    ['an unsupported operator', 'route=="chat"'],
    ['a comparison operator', 'priority>"5"'],
  ])('%s is refused with a message showing valid forms', (_case, text) => {
    const message = errorOf(text);
    expect(message).toBe(
      `"${text}" is not a label matcher; write name="value", name!="value", name=~"regex" or name!~"regex"`,
    );
  });

  test.each([
    ['=~', 'route=~"chat("'],
    ['!~', 'route!~"[a-"'],
    ['=~ with a dangling quantifier', 'route=~"*chat"'],
  ])('an invalid regular expression (%s) is refused and says so', (_case, text) => {
    const message = errorOf(text);
    expect(message.startsWith(`"${text}": invalid regular expression (`)).toBe(true);
    expect(message).toMatch(/\)$/);
  });

  test('a regex that is only invalid as a regex is fine with an equality operator', () => {
    expect(parseMatcher('route="chat("')).toEqual({ name: 'route', operator: '=', value: 'chat(' });
  });
});

describe('matches', () => {
  const labels = { alertname: 'LLMSpendBurnRateHigh', route: 'chat', tenant: 'acme', severity: 'S2' };
  const m = (text: string) => parseMatcher(text);

  test.each([
    ['route="chat"', true],
    ['route="cha"', false],
    ['route="Chat"', false],
    ['route!="chat"', false],
    ['route!="summarize"', true],
    ['severity=~"S1|S2"', true],
    ['severity=~"S1|S3"', false],
    ['severity!~"S1|S2"', false],
    ['severity!~"S3"', true],
  ])('%s against a chat alert → %s', (text, expected) => {
    expect(matches(m(text), labels)).toBe(expected);
  });

  test('regexes are anchored at both ends, as in Alertmanager', () => {
    expect(matches(m('route=~"cha"'), labels)).toBe(false);
    expect(matches(m('route=~"hat"'), labels)).toBe(false);
    expect(matches(m('route=~"c.*"'), labels)).toBe(true);
    expect(matches(m('route!~"cha"'), labels)).toBe(true);
    // An alternation is anchored as a whole, not only its first and last branch.
    expect(matches(m('route=~"xyz|ch"'), labels)).toBe(false);
    expect(matches(m('route=~"ch|xyz"'), labels)).toBe(false);
  });

  test('a missing label reads as the empty string', () => {
    expect(matches(m('deployment=""'), labels)).toBe(true);
    expect(matches(m('deployment!=""'), labels)).toBe(false);
    expect(matches(m('deployment=~".*"'), labels)).toBe(true);
    expect(matches(m('deployment=~".+"'), labels)).toBe(false);
    expect(matches(m('deployment!~".+"'), labels)).toBe(true);
    expect(matches(m('deployment="x"'), labels)).toBe(false);
    expect(matches(m('deployment!="x"'), labels)).toBe(true);
  });

  test('an empty label value is the same as a missing one', () => {
    expect(matches(m('tenant=""'), { tenant: '' })).toBe(true);
    expect(matches(m('tenant=~".+"'), { tenant: '' })).toBe(false);
  });

  test('a label named like an Object.prototype member is still missing when the alert lacks it', () => {
    expect(matches(m('constructor=""'), labels)).toBe(true);
    expect(matches(m('toString=~".+"'), labels)).toBe(false);
  });

  test('regex metacharacters in an equality value are literal', () => {
    expect(matches(m('route="c.*"'), labels)).toBe(false);
    expect(matches(m('route="c.*"'), { route: 'c.*' })).toBe(true);
  });

  test('matchesAll needs every matcher; an empty list matches everything', () => {
    expect(matchesAll([m('route="chat"'), m('tenant="acme"')], labels)).toBe(true);
    expect(matchesAll([m('route="chat"'), m('tenant="globex"')], labels)).toBe(false);
    expect(matchesAll([], labels)).toBe(true);
    expect(matchesAll([], {})).toBe(true);
  });
});

describe('formatMatcher', () => {
  test('writes a matcher back in the form parseMatcher reads', () => {
    const cases: Matcher[] = [
      { name: 'alertname', operator: '=', value: 'LLMSpendBurnRateHigh' },
      { name: 'severity', operator: '=~', value: 'S1|S2' },
      { name: 'summary', operator: '!=', value: 'say "hi"\nbye' },
      { name: 'tenant', operator: '!~', value: '' },
    ];
    for (const matcher of cases) expect(parseMatcher(formatMatcher(matcher))).toEqual(matcher);
    expect(formatMatcher(cases[0]!)).toBe('alertname="LLMSpendBurnRateHigh"');
  });
});
