// The suite-wide check for secrets in logs: it finds each one however the log is cut, and it knows them all.
import { KUBE_TOKEN } from '../../simulator/kubernetes-api';
import { SIMULATOR_S3_CREDENTIALS } from '../../simulator/s3-lifecycle-api';
import { SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET } from '../helpers/slack-api-server';
import { TEST_SECRETS } from '../helpers/secrets';
import { SecretScanner } from '../jest/secret-scan';

test('every secret the tests configure is one the logs are read for', () => {
  const known = Object.values(TEST_SECRETS);
  for (const secret of [KUBE_TOKEN, SIMULATOR_S3_CREDENTIALS.secretAccessKey, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET])
    expect(known).toContain(secret);
});

test('a secret is found whole, split across chunks at any point, and not in a near miss', () => {
  const secret = 'test-ingress-token-0123456789';
  const line = `{"level":40,"msg":"401","authorization":"Bearer ${secret}"}\n`;
  for (let cut = 0; cut <= line.length; cut++) {
    const scanner = new SecretScanner({ INGRESS_TOKEN: secret });
    expect([...scanner.scan(line.slice(0, cut)), ...scanner.scan(line.slice(cut))]).toEqual(['INGRESS_TOKEN']);
  }
  const scanner = new SecretScanner({ INGRESS_TOKEN: secret });
  expect(scanner.scan(`Bearer ${secret.slice(0, -1)}`)).toEqual([]);
  // Once found, a secret is not found again in the end of its chunk kept for the next.
  expect(scanner.scan(`${secret.slice(-1)} ${secret}`)).toEqual(['INGRESS_TOKEN']);
  expect(scanner.scan(' and after')).toEqual([]);
  expect(scanner.scan('[redacted]')).toEqual([]);
});
