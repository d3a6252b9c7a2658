import { Writable } from 'node:stream';
import { createLogger } from '../../observability/logger';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger('test', 'info', stream) };
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
