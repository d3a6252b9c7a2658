// Every secret the tests configure, in one place: the test environment (test/jest/quiet-environment.ts) fails a
// test whose logs, or those of the processes it started, contain any of them, so a secret that slips past the
// logger's redaction is caught in whichever test logs it. test/unit/secret-scan.test.ts checks that the
// secrets defined elsewhere (the simulator's, the Slack server's) are listed here.
export const INGRESS_TOKEN = 'test-ingress-token-0123456789';
export const GATEWAY_TOKEN = 'test-gateway-token-0123456789';
export const SLACK_BOT_TOKEN = 'xoxb-test-0123456789-abcdef';
export const SLACK_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

/** Each operator's own token, for decisions over the runs API. */
export const TEST_OPERATOR_TOKENS: Record<string, string> = Object.fromEntries(
  ['U0SRE', 'U0PRODUCT', 'U0LEAD', 'U0INTERN'].map((id) => [id, `operator-token-${id.toLowerCase()}-0123456789`]),
);

/** Name → value of every secret above, and of those the simulator defines (checked by the unit test). */
export const TEST_SECRETS: Record<string, string> = {
  INGRESS_TOKEN,
  GATEWAY_TOKEN,
  SLACK_BOT_TOKEN,
  SLACK_SIGNING_SECRET,
  ...Object.fromEntries(Object.entries(TEST_OPERATOR_TOKENS).map(([id, token]) => [`operator token of ${id}`, token])),
  KUBE_TOKEN: 'kube-api-server-test-token',
  'the simulated S3 secret access key': 'finops-soar-simulator',
};
