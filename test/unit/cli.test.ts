import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, playbookJsonSchema } from '../../cli/finops-soar';
import { PlaybookError } from '../../playbook/playbook-load';
import { ACTION_NAMES } from '../../playbook/step-registry';

const ROOT = join(__dirname, '..', '..');

/** Runs the CLI's main in this process (cwd: the repository), capturing what it prints. */
async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  try {
    const status = await main(args);
    return { status, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

test('the committed JSON Schema is the one the playbook schema generates (npm run schema)', () => {
  const committed: unknown = JSON.parse(readFileSync(join(ROOT, 'playbooks', 'playbook.schema.json'), 'utf8'));
  expect(committed).toEqual(playbookJsonSchema());
});

test('validate lists every playbook with its digest', async () => {
  const result = await cli('validate');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^ok {2}playbooks\/cost-s1\.yaml {2}cost-s1 \(S1, 11 steps\) {2}sha256:[0-9a-f]{64}$/m);
  expect(result.stdout).toMatch(/^\d+ playbooks valid for a control-api gateway \(gateway.kind\)$/m);
});

test('validate names the file, line, field and fix, and fails', async () => {
  await expect(cli('validate', '--dir', 'test/fixtures/invalid-playbooks')).rejects.toThrow(PlaybookError);
  await expect(cli('validate', '--dir', 'test/fixtures/invalid-playbooks')).rejects.toThrow(
    `test/fixtures/invalid-playbooks/broken.yaml:11:13: steps[0].action: Invalid option. Expected: a registered action: ${ACTION_NAMES.join(', ')}`,
  );
});

test('plan shows the playbook, target, run and resolved steps of each alert, touching nothing', async () => {
  const result = await cli('plan', 'examples/alertmanager/context-blowup-firing.json');
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('playbook cost-s2 (S2)');
  expect(result.stdout).toContain('target   route=chat,tenant=acme');
  expect(result.stdout).toContain('run      playbook/cost-s2/route=chat,tenant=acme');
  expect(result.stdout).toMatch(/which-tier +check policy\.tier\n/);
  expect(result.stdout).toMatch(
    /approve-cheaper-tier approval "Serve acme on chat from the cheaper model tier the tier policy names \(step which-tier\) \(Input tokens per request on chat\/acme are 3\.4x the baseline\)", 900s, on timeout approve, on reject stop \(when …\)/,
  );
  expect(result.stdout).toContain('escalate to cost-s1 if still firing 1800s after the steps:');
});

test('plan says what an alert lacks that only text names, and that the run goes ahead with a placeholder', async () => {
  const payload = JSON.parse(
    readFileSync(join(ROOT, 'examples', 'alertmanager', 'context-blowup-firing.json'), 'utf8'),
  ) as { commonAnnotations: Record<string, string>; alerts: Array<{ annotations: Record<string, string> }> };
  payload.commonAnnotations = {};
  for (const alert of payload.alerts) alert.annotations = {};
  const file = join(mkdtempSync(join(tmpdir(), 'finops-soar-cli-')), 'no-summary.json');
  writeFileSync(file, JSON.stringify(payload));
  const result = await cli('plan', file);
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('playbook cost-s2 (S2)');
  expect(result.stdout).toContain('tier policy names (step which-tier) ((no annotations.summary))');
  expect(result.stdout).toContain(
    '  note     step approve-cheaper-tier: the alert has no annotation "summary" for {{ annotations.summary }}: the text shows a placeholder, the run goes ahead',
  );
});

test('plan --json prints the decisions as data', async () => {
  const result = await cli('plan', 'examples/alertmanager/context-blowup-firing.json', '--json');
  const decisions = JSON.parse(result.stdout) as Array<{
    outcome: string;
    workflowId: string;
    plan: { steps: Array<{ id: string }> };
  }>;
  expect(decisions.map((d) => [d.outcome, d.workflowId])).toEqual([
    ['routed', 'playbook/cost-s2/route=chat,tenant=acme'],
  ]);
  expect(decisions[0]?.plan.steps.map((s) => s.id)).toEqual([
    'current-policy',
    'cap-context',
    'aggressive-cache',
    'compress-prompts',
    'current-quota',
    'cap-daily-tokens',
    'tell-finops',
    'burn-now',
    'burn-eased',
    'which-tier',
    'approve-cheaper-tier',
    'tier-standard',
    'tier-distilled',
  ]);
});

test('plan refuses a file that is not a webhook payload, saying what is wrong', async () => {
  const result = await cli('plan', 'package.json');
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^package\.json: not an Alertmanager webhook payload:\n {2}version: /);
});

test('rules writes every rule file the config renders; the committed deploy/ files are those', async () => {
  const out = mkdtempSync(join(tmpdir(), 'finops-soar-rules-'));
  const result = await cli('rules', '--out', out);
  expect(result.status).toBe(0);
  for (const name of ['finops-soar.rules.yml', 'budgets.rules.yml']) {
    expect(result.stdout).toContain(`wrote ${join(out, name)}`);
    // When this fails after a config change: npx finops-soar rules (or npm run rules)
    expect(readFileSync(join(out, name), 'utf8')).toBe(
      readFileSync(join(ROOT, 'deploy', 'prometheus', 'rules', name), 'utf8'),
    );
  }
  const budgets = await cli('rules', 'budgets');
  expect(`${budgets.stdout}\n`).toBe(
    readFileSync(join(ROOT, 'deploy', 'prometheus', 'rules', 'budgets.rules.yml'), 'utf8'),
  );
  expect(readdirSync(out).sort()).toEqual(['budgets.rules.yml', 'finops-soar.rules.yml']);
  const wrong = await cli('rules', 'everything');
  expect(wrong.status).toBe(2);
  expect(wrong.stderr).toMatch(/^rules takes alerts, budgets, litellm, kong or nothing, not everything/);
});

test('for a LiteLLM gateway, rules also writes the mapping of its metrics (deploy/prometheus/litellm)', async () => {
  const out = mkdtempSync(join(tmpdir(), 'finops-soar-rules-'));
  const previous = process.env.FINOPS_SOAR_GATEWAY_KIND;
  process.env.FINOPS_SOAR_GATEWAY_KIND = 'litellm';
  try {
    expect((await cli('rules', '--out', out)).status).toBe(0);
  } finally {
    if (previous === undefined) delete process.env.FINOPS_SOAR_GATEWAY_KIND;
    else process.env.FINOPS_SOAR_GATEWAY_KIND = previous;
  }
  expect(readdirSync(out).sort()).toEqual(['budgets.rules.yml', 'finops-soar.rules.yml', 'litellm.rules.yml']);
  expect(readFileSync(join(out, 'litellm.rules.yml'), 'utf8')).toBe(
    readFileSync(join(ROOT, 'deploy', 'prometheus', 'litellm', 'litellm.rules.yml'), 'utf8'),
  );
});

test('for a Kong gateway, rules also writes the mapping of its metrics (deploy/prometheus/kong); rules kong prints it', async () => {
  const out = mkdtempSync(join(tmpdir(), 'finops-soar-rules-'));
  const committed = readFileSync(join(ROOT, 'deploy', 'prometheus', 'kong', 'kong.rules.yml'), 'utf8');
  const previous = process.env.FINOPS_SOAR_GATEWAY_KIND;
  process.env.FINOPS_SOAR_GATEWAY_KIND = 'kong';
  try {
    const result = await cli('rules', '--out', out);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`wrote ${join(out, 'kong.rules.yml')}`);
  } finally {
    if (previous === undefined) delete process.env.FINOPS_SOAR_GATEWAY_KIND;
    else process.env.FINOPS_SOAR_GATEWAY_KIND = previous;
  }
  expect(readdirSync(out).sort()).toEqual(['budgets.rules.yml', 'finops-soar.rules.yml', 'kong.rules.yml']);
  expect(readFileSync(join(out, 'kong.rules.yml'), 'utf8')).toBe(committed);
  // Printed whatever the gateway, as litellm is.
  const printed = await cli('rules', 'kong');
  expect(printed.status).toBe(0);
  expect(`${printed.stdout}\n`).toBe(committed);
});

test('validate for a LiteLLM gateway names each step whose change LiteLLM cannot make, and fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'finops-soar-cli-'));
  writeFileSync(
    join(dir, 'cache.yaml'),
    [
      'name: cache-harder',
      'description: Cache harder.',
      'severity: S2',
      'target: route',
      'steps:',
      '  - id: aggressive-cache',
      '    action: gateway.setRoutePolicy',
      '    params: { policy: { cacheMode: aggressive } }',
      '',
    ].join('\n'),
  );
  const previous = process.env.FINOPS_SOAR_GATEWAY_KIND;
  process.env.FINOPS_SOAR_GATEWAY_KIND = 'litellm';
  try {
    await expect(cli('validate', '--dir', dir)).rejects.toThrow(
      `cache.yaml:8:36: steps[0].params.policy.cacheMode: step aggressive-cache: the litellm gateway (gateway.kind) cannot do this: LiteLLM switches its response cache for the whole proxy only (/cache/settings). Remove the step, or give it unsupported: skip to skip it on this gateway (docs/gateways.md)`,
    );
    expect((await cli('validate')).stdout).toMatch(/^6 playbooks valid for a litellm gateway \(gateway.kind\)$/m);
  } finally {
    if (previous === undefined) delete process.env.FINOPS_SOAR_GATEWAY_KIND;
    else process.env.FINOPS_SOAR_GATEWAY_KIND = previous;
  }
});
