import { z } from 'zod';
import { formatIssues, formatPath } from '../../validation/issues';

describe('formatPath', () => {
  test.each<[PropertyKey[], string]>([
    [[], ''],
    [['name'], 'name'],
    [['alerts', 0, 'labels', 'route'], 'alerts[0].labels.route'],
    [['steps', 12, 'params', 'policy', 'maxInputTokens'], 'steps[12].params.policy.maxInputTokens'],
    [[0], '[0]'],
    [[0, 1], '[0][1]'],
    [['matrix', 0, 1], 'matrix[0][1]'],
    [['_private', 'snake_case'], '_private.snake_case'],
    [['routes', 'code-assist'], 'routes.code-assist'],
  ])('%j → %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });

  test('keys that are not identifiers are quoted in brackets, so the path stays unambiguous', () => {
    expect(formatPath(['labels', 'a.b'])).toBe('labels["a.b"]');
    expect(formatPath(['labels', 'with space'])).toBe('labels["with space"]');
    expect(formatPath(['labels', ''])).toBe('labels[""]');
    expect(formatPath(['labels', '0'])).toBe('labels["0"]');
    expect(formatPath(['a "quoted" key'])).toBe('["a \\"quoted\\" key"]');
    expect(formatPath(['-leading-dash'])).toBe('["-leading-dash"]');
  });

  test('a symbol key is shown by its description', () => {
    expect(formatPath(['x', Symbol('meta')])).toBe('x["Symbol(meta)"]');
  });
});

describe('formatIssues', () => {
  const schema = z
    .object({
      name: z.string().min(1).describe('a non-empty name'),
      port: z.number().int().min(1).max(65535).describe('a TCP port (1-65535)'),
      optionalPort: z.number().int().min(1).optional().describe('an optional port'),
      defaulted: z.string().min(3).default('abc').describe('at least three characters'),
      nested: z
        .object({ level: z.enum(['info', 'debug']).describe('info or debug') })
        .strict()
        .optional(),
      list: z.array(z.string().min(1).describe('a non-empty item')).optional(),
      map: z.record(z.string(), z.number().describe('a number per key')).optional(),
      piped: z
        .string()
        .transform((text) => text.length)
        .pipe(z.number().max(3))
        .describe('a short text')
        .optional(),
      undocumented: z.boolean().optional(),
    })
    .strict();

  const linesFor = (value: unknown, withSchema = true) => {
    const result = schema.safeParse(value);
    if (result.success) throw new Error('expected the value to be invalid');
    return formatIssues(result.error, withSchema ? schema : undefined);
  };

  test('one line per issue: the path, the message and the schema description as what is expected', () => {
    expect(linesFor({ name: '', port: 70000 })).toEqual([
      'name: Too small: expected string to have >=1 characters. Expected: a non-empty name',
      'port: Too big: expected number to be <=65535. Expected: a TCP port (1-65535)',
    ]);
  });

  test('descriptions are found through optional, default and pipe wrappers', () => {
    expect(linesFor({ name: 'x', port: 1, optionalPort: 0 })).toEqual([
      expect.stringMatching(/^optionalPort: .*\. Expected: an optional port$/),
    ]);
    expect(linesFor({ name: 'x', port: 1, defaulted: 'ab' })).toEqual([
      expect.stringMatching(/^defaulted: .*\. Expected: at least three characters$/),
    ]);
    expect(linesFor({ name: 'x', port: 1, piped: 'long text' })).toEqual([
      expect.stringMatching(/^piped: .*\. Expected: a short text$/),
    ]);
  });

  test('descriptions are found inside nested objects, arrays and records', () => {
    expect(linesFor({ name: 'x', port: 1, nested: { level: 'trace' } })).toEqual([
      expect.stringMatching(/^nested\.level: Invalid option\. Expected: info or debug$/),
    ]);
    expect(linesFor({ name: 'x', port: 1, list: ['ok', ''] })).toEqual([
      expect.stringMatching(/^list\[1\]: Too small: .*\. Expected: a non-empty item$/),
    ]);
    expect(linesFor({ name: 'x', port: 1, map: { 'a.b': 'one' } })).toEqual([
      expect.stringMatching(
        /^map\["a\.b"\]: Invalid input: expected number, received string\. Expected: a number per key$/,
      ),
    ]);
  });

  test('a field without a description gives just the path and the message', () => {
    expect(linesFor({ name: 'x', port: 1, undocumented: 'yes' })).toEqual([
      'undocumented: Invalid input: expected boolean, received string',
    ]);
  });

  test('without the schema, no descriptions', () => {
    expect(linesFor({ name: '', port: 1 }, false)).toEqual(['name: Too small: expected string to have >=1 characters']);
  });

  test('issues at the top level say so', () => {
    expect(linesFor({ name: 'x', port: 1, extra: true })).toEqual(['(top level): Unrecognized key: "extra"']);
    expect(linesFor('not an object')).toEqual(['(top level): Invalid input: expected object, received string']);
  });

  test('unknown keys inside a nested object point at that object', () => {
    expect(linesFor({ name: 'x', port: 1, nested: { level: 'info', colour: 'red' } })).toEqual([
      'nested: Unrecognized key: "colour"',
    ]);
  });

  test('a missing required field names it and what it should be', () => {
    expect(linesFor({ port: 1 })).toEqual([
      'name: Invalid input: expected string, received undefined. Expected: a non-empty name',
    ]);
  });

  test('a path that leads nowhere in the schema (custom issue path) still formats', () => {
    const refined = z
      .object({ a: z.string() })
      .superRefine((_value, ctx) =>
        ctx.addIssue({ code: 'custom', path: ['not', 'in', 'schema', 3], message: 'custom problem' }),
      );
    const result = refined.safeParse({ a: 'x' });
    if (result.success) throw new Error('expected an issue');
    expect(formatIssues(result.error, refined)).toEqual(['not.in.schema[3]: custom problem']);
  });

  test('the description on the outermost layer wins over inner ones', () => {
    const layered = z.object({ value: z.string().describe('inner').optional().describe('outer') });
    const result = layered.safeParse({ value: 5 });
    if (result.success) throw new Error('expected an issue');
    expect(formatIssues(result.error, layered)).toEqual([
      'value: Invalid input: expected string, received number. Expected: outer',
    ]);
  });
});
