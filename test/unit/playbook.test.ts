import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybooks, parsePlaybook, PlaybookError } from '../../playbook/load';
import { ACTION_NAMES } from '../../playbook/step-registry';
import { planRun, renderTemplates } from '../../playbook/plan';
import { alert } from '../helpers/alerts';

const VALID = `name: cap-context
description: Cap the context length.
severity: S2
match:
  - alertname="LLMInputTokensPerRequestHigh"
target: route
cooldown: 10m
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params:
      policy:
        maxInputTokens: 8192
`;

const problemsOf = (yaml: string) => parsePlaybook('playbooks/test.yaml', yaml).problems;

describe('parsing a playbook', () => {
  test('a valid playbook: parsed matchers, cooldown in ms, and a digest', () => {
    const { playbook, problems } = parsePlaybook('playbooks/test.yaml', VALID);
    expect(problems).toEqual([]);
    expect(playbook?.spec.match).toEqual([{ name: 'alertname', operator: '=', value: 'LLMInputTokensPerRequestHigh' }]);
    expect(playbook?.spec.cooldown).toBe(600_000);
    expect(playbook?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('the digest names the content, not its layout: key order and comments do not change it, values do', () => {
    const reordered = `# a comment\nseverity: S2\nname: cap-context\n${VALID.split('\n')
      .filter((l) => !l.startsWith('name:') && !l.startsWith('severity:'))
      .join('\n')}`;
    const digest = (yaml: string) => parsePlaybook('x.yaml', yaml).playbook?.digest;
    expect(digest(reordered)).toBe(digest(VALID));
    expect(digest(VALID.replace('8192', '4096'))).not.toBe(digest(VALID));
  });

  test.each([
    [
      'an unknown action',
      VALID.replace('gateway.setRoutePolicy', 'gateway.setRoutePolcy'),
      `playbooks/test.yaml:10:13: steps[0].action: Invalid option. Expected: a registered action: ${ACTION_NAMES.join(', ')}`,
    ],
    [
      'a bad matcher',
      VALID.replace('alertname="LLMInputTokensPerRequestHigh"', 'alertname'),
      'playbooks/test.yaml:5:5: match[0]: "alertname" is not a label matcher; write name="value", name!="value", name=~"regex" or name!~"regex". Expected: an Alertmanager label matcher, e.g. alertname="LLMInputTokensPerRequestHigh" or severity=~"S1|S2"',
    ],
    [
      'a bad cooldown',
      VALID.replace('10m', 'ten minutes'),
      'playbooks/test.yaml:7:11: cooldown: "ten minutes" is not a duration. Expected: how long the alert must stay resolved before rollback, e.g. 10m (default: engine.cooldown)',
    ],
    ['an unknown field', `${VALID}owner: finops\n`, 'playbooks/test.yaml:1:1: (top level): Unrecognized key: "owner"'],
    [
      'a missing field',
      VALID.replace('severity: S2\n', ''),
      'playbooks/test.yaml:1:1: severity: Invalid option. Expected: S1 (most severe), S2 or S3',
    ],
    [
      'a wrong literal parameter',
      VALID.replace('8192', '-5'),
      'playbooks/test.yaml:13:25: steps[0].params.policy.maxInputTokens: Too small: expected number to be >0. Expected: the largest prompt, in tokens, the route accepts (null: no cap)',
    ],
    [
      'an action that does not fit the target',
      VALID.replace('target: route', 'target: bucket'),
      "playbooks/test.yaml:10:13: steps[0].action: gateway.setRoutePolicy acts on route targets (or deployment targets with params.route), but this playbook's target is bucket",
    ],
  ])('%s is reported with file:line:column, field and fix', (_case, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual([expected]);
  });

  test('duplicate step ids are refused', () => {
    const twice = `${VALID}  - id: cap-context\n    action: gateway.setRoutePolicy\n    params: { policy: { cacheMode: aggressive } }\n`;
    expect(problemsOf(twice)).toEqual([
      expect.stringMatching(/^playbooks\/test\.yaml:9:3: steps: step ids must be unique/),
    ]);
  });

  test('invalid YAML is reported as such', () => {
    expect(problemsOf('name: [unclosed')[0]).toMatch(/^playbooks\/test\.yaml: invalid YAML: /);
  });

  test('templated parameters are checked when the alert is known, not at load time', () => {
    expect(problemsOf(VALID.replace('8192', '"{{ annotations.max_tokens }}"'))).toEqual([]);
  });
});

describe('loading the playbooks folder', () => {
  const folder = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'finops-soar-playbooks-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  test("the repository's playbooks load cleanly", () => {
    const playbooks = loadPlaybooks(join(__dirname, '..', '..', 'playbooks'));
    expect(playbooks.map((p) => p.spec.name)).toContain('cost-s2');
  });

  test('every problem in every file is reported at once', () => {
    const dir = folder({
      'a.yaml': VALID,
      'b.yml': VALID,
      'c.yaml': VALID.replace('S2', 'S9'),
      'notes.txt': 'ignored',
    });
    let error: unknown;
    try {
      loadPlaybooks(dir);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PlaybookError);
    const problems = (error as PlaybookError).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/c\.yaml:3:11: severity: Invalid option/);
    expect(problems[1]).toMatch(
      /b\.yml: name: "cap-context" is already the name of .*a\.yaml; playbook names must be unique/,
    );
  });

  test('an empty or missing folder is an error that says what to set', () => {
    expect(() => loadPlaybooks(folder({}))).toThrow(/no playbook files \(\*\.yaml\) found/);
    expect(() => loadPlaybooks('/nonexistent/playbooks')).toThrow(
      /cannot read the playbooks folder .*; set playbooks\.dir or FINOPS_SOAR_PLAYBOOKS_DIR/,
    );
  });
});

describe('templates and plans', () => {
  const labelled = alert(
    { route: 'chat', tenant: 'acme' },
    { annotations: { max_tokens: '4096', note: '{{ labels.route }}' } },
  );

  test('labels and annotations are substituted in nested strings; other values pass through', () => {
    expect(
      renderTemplates({ a: ['{{ labels.tenant }}-x', 7, true, null], b: { c: 'on {{labels.route}}' } }, labelled),
    ).toEqual({
      a: ['acme-x', 7, true, null],
      b: { c: 'on chat' },
    });
  });

  test('substituted values are data: a value that looks like a template is not expanded again', () => {
    expect(renderTemplates('{{ annotations.note }}', labelled)).toBe('{{ labels.route }}');
  });

  test.each([
    ['{{ labels.region }}', 'the alert has no label "region" for {{ labels.region }}'],
    [
      '{{ process.env.HOME }}',
      '{{ process.env.HOME }} is not a template expression; write {{ labels.NAME }} or {{ annotations.NAME }}',
    ],
  ])('%s is refused', (template, message) => {
    expect(() => renderTemplates(template, labelled)).toThrow(message);
  });

  test('a plan resolves parameters and checks them against the action', () => {
    const { playbook } = parsePlaybook('x.yaml', VALID);
    const target = { kind: 'route' as const, key: 'route=chat,tenant=acme', labels: { route: 'chat', tenant: 'acme' } };
    const planned = planRun(playbook!, labelled, target, { cooldownMs: 1 });
    expect(planned).toEqual({
      ok: true,
      plan: {
        playbook: {
          name: 'cap-context',
          digest: playbook!.digest,
          file: 'x.yaml',
          severity: 'S2',
          description: 'Cap the context length.',
          dryRun: false,
        },
        target,
        cooldownMs: 600_000,
        steps: [
          {
            id: 'cap-context',
            description: undefined,
            when: undefined,
            kind: 'action',
            action: 'gateway.setRoutePolicy',
            params: { policy: { maxInputTokens: 8192 } },
            objects: ['gateway/policy/chat/acme'],
          },
        ],
      },
    });
    const templated = parsePlaybook('x.yaml', VALID.replace('8192', '"{{ annotations.max_tokens }}"')).playbook!;
    expect(planRun(templated, labelled, target, { cooldownMs: 1 })).toEqual({
      ok: false,
      problem:
        'step cap-context: params.policy.maxInputTokens: Invalid input: expected number, received string. Expected: the largest prompt, in tokens, the route accepts (null: no cap)',
    });
  });
});
