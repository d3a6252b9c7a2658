import { Writable } from 'node:stream';
import { createLogger, isPretty } from '../../observability/logger';

function capture(format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger('test', 'info', stream, format) };
}

test('secrets are redacted wherever they sit in a log line', () => {
  const { lines, logger } = capture();
  logger.info(
    {
      token: 'secret-token-1',
      config: { gateway: { token: 'secret-token-2' }, temporal: { apiKey: 'secret-key-3' } },
      req: { headers: { authorization: 'Bearer secret-token-4' } },
      basicAuth: { password: 'secret-password-5' },
      route: 'chat',
    },
    'starting',
  );
  const line = lines.join('');
  expect(line).not.toMatch(/secret-/);
  expect(JSON.parse(line)).toMatchObject({ name: 'test', msg: 'starting', route: 'chat', token: '[redacted]' });
});

test('log lines are JSON with level, time and name', () => {
  const { lines, logger } = capture();
  logger.warn({ groupKey: 'g' }, 'truncated');
  expect(JSON.parse(lines[0]!)).toMatchObject({
    level: 40,
    name: 'test',
    groupKey: 'g',
    msg: 'truncated',
    time: expect.any(Number) as number,
  });
});

test('in a terminal a line reads as time, level, process and message, then the fields; secrets redacted there too', () => {
  const { lines, logger } = capture('pretty');
  logger.warn({ route: 'chat', token: 'secret-token-6' }, 'gateway slow');
  const [line] = lines.join('').split('\n');
  expect(line).toMatch(
    /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN \(test\): gateway slow \{"route":"chat","token":"\[redacted\]"\}$/,
  );
});

test('auto is pretty in a terminal and JSON elsewhere (a pipe, a file, a container log); json and pretty are what they say', () => {
  expect([isPretty('auto', true), isPretty('auto', false)]).toEqual([true, false]);
  expect([isPretty('json', true), isPretty('pretty', false)]).toEqual([false, true]);
});
