// Label values in PromQL. A value pasted into a selector as it is can close its matcher and change the query:
// route="x"} or vector(1) or {a="" measures something else. Values go in as string literals, escaped as Go escapes
// them (https://prometheus.io/docs/prometheus/latest/querying/basics/#string-literals).

// Characters escaped as \uXXXX: controls (raw newlines end a PromQL string; others are unreadable), the line and
// paragraph separators, and U+FFFD, which the PromQL lexer reads as a UTF-8 decoding error.
// eslint-disable-next-line no-control-regex -- control characters are what this escapes
const ESCAPED_AS_CODE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g;

/**
 * The text inside the quotes of a PromQL string literal that means exactly `value`; throws on lone surrogates. `quote`:
 * the literal's quote, `"` or `'` (the lexer takes an escaped quote only of the literal's own kind).
 */
export function promqlStringContent(value: string, quote: '"' | "'" = '"'): string {
  if (/\p{Cs}/u.test(value))
    throw new Error('a lone UTF-16 surrogate is not Unicode text: no PromQL string can match it');
  return value
    .replace(/\\/g, '\\\\')
    .replaceAll(quote, `\\${quote}`)
    .replace(ESCAPED_AS_CODE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `value` as a regular expression (RE2) that matches exactly it, for a `=~` or `!~` matcher. */
export const regexMatchingExactly = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `value` as a PromQL double-quoted string literal: a matcher `name=${promqlString(value)}` selects exactly it. */
export const promqlString = (value: string): string => `"${promqlStringContent(value)}"`;

/** A label matcher `name="value"`, the value escaped; the name must already be a valid label name. */
export const promqlMatcher = (name: string, value: string): string => `${name}=${promqlString(value)}`;

/** The string literal of `query` that the character at `offset` stands in, if any (PromQL's three quotes). */
export function stringLiteralAt(
  query: string,
  offset: number,
): { quote: '"' | "'" | '`'; opensAt: number } | undefined {
  let open: { quote: '"' | "'" | '`'; opensAt: number } | undefined;
  for (let index = 0; index < offset; index++) {
    const char = query[index]!;
    if (open) {
      if (char === '\\' && open.quote !== '`') index++;
      else if (char === open.quote) open = undefined;
    } else if (char === '"' || char === "'" || char === '`') open = { quote: char, opensAt: index };
    else if (char === '#') index = query.indexOf('\n', index) === -1 ? offset : query.indexOf('\n', index);
  }
  return open;
}
