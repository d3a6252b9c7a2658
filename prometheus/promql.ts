// Label values in PromQL. A value pasted into a selector as it is can close its matcher and change the query:
// route="x"} or vector(1) or {a="" measures something else. Values go in as string literals, escaped as Go escapes
// them (https://prometheus.io/docs/prometheus/latest/querying/basics/#string-literals).

// Characters escaped as \uXXXX: controls (raw newlines end a PromQL string; others are unreadable), the line and
// paragraph separators, and U+FFFD, which the PromQL lexer reads as a UTF-8 decoding error.
// eslint-disable-next-line no-control-regex -- control characters are what this escapes
const ESCAPED_AS_CODE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g;

/** The text inside the quotes of a PromQL string literal that means exactly `value`; throws on lone surrogates. */
export function promqlStringContent(value: string): string {
  if (/\p{Cs}/u.test(value))
    throw new Error('a lone UTF-16 surrogate is not Unicode text: no PromQL string can match it');
  return value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(ESCAPED_AS_CODE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `value` as a PromQL double-quoted string literal: a matcher `name=${promqlString(value)}` selects exactly it. */
export const promqlString = (value: string): string => `"${promqlStringContent(value)}"`;

/** A label matcher `name="value"`, the value escaped; the name must already be a valid label name. */
export const promqlMatcher = (name: string, value: string): string => `${name}=${promqlString(value)}`;
