// Search attribute values come from alert labels of any length; Temporal refuses one over 2 KiB.
import fc from 'fast-check';
import { keywordValue, MAX_KEYWORD_BYTES } from '../../workflows/search-attributes';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const anyText = fc.string({ unit: 'grapheme', maxLength: 1_500 });

test('a value within the bound is kept as it is', () => {
  fc.assert(
    fc.property(anyText, (value) => {
      fc.pre(bytes(value) <= MAX_KEYWORD_BYTES);
      expect(keywordValue(value)).toBe(value);
    }),
  );
});

test('a longer value keeps its start within the bound, and ends with a digest of the whole', () => {
  fc.assert(
    fc.property(anyText, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), (value, filler) => {
      const long = value + filler.repeat(Math.ceil((MAX_KEYWORD_BYTES + 1) / bytes(filler)));
      const shown = keywordValue(long);
      expect(bytes(shown)).toBeLessThanOrEqual(MAX_KEYWORD_BYTES);
      expect(shown).toMatch(/…[0-9a-f]{8}$/u);
      expect(long.startsWith(shown.slice(0, -9))).toBe(true);
    }),
  );
});

test('two long values that share their start still differ', () => {
  const start = 'route-'.repeat(300);
  expect(keywordValue(`${start}a`)).not.toBe(keywordValue(`${start}b`));
});
