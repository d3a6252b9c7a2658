// parsePlaybook and loadPlaybooks (playbook/playbook-load.ts): a playbook file becomes a spec with a digest of
// its content, or problems that name file:line:column, the field and a valid value; a folder loads
// only when every file is valid, names are unique and escalations go to a more severe playbook of the
// same family and target kind. Planning a run from a playbook (playbook/plan.ts): playbook-plan.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybooks, parsePlaybook, playbookDigest, PlaybookError } from '../../playbook/playbook-load';
import { ACTION_NAMES } from '../../playbook/step-registry';

const FILE = 'playbooks/test.yaml';

// Line numbers matter below: keep this text as it is.
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

const problemsOf = (yaml: string) => parsePlaybook(FILE, yaml).problems;
const digestOf = (yaml: string) => {
  const { playbook, problems } = parsePlaybook(FILE, yaml);
  if (!playbook) throw new Error(problems.join('\n'));
  return playbook.digest;
};

describe('parsePlaybook: a valid playbook', () => {
  test('is parsed into a spec: matchers parsed, durations in ms, defaults filled in', () => {
    const { playbook, problems } = parsePlaybook(FILE, VALID);
    expect(problems).toEqual([]);
    expect(playbook?.file).toBe(FILE);
    expect(playbook?.spec).toEqual({
      name: 'cap-context',
      description: 'Cap the context length.',
      severity: 'S2',
      match: [{ name: 'alertname', operator: '=', value: 'LLMInputTokensPerRequestHigh' }],
      target: 'route',
      cooldown: 600_000,
      dryRun: false,
      steps: [{ id: 'cap-context', action: 'gateway.setRoutePolicy', params: { policy: { maxInputTokens: 8192 } } }],
    });
    expect(playbook?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('every step kind is understood', () => {
    const yaml = `name: all-kinds
description: Every kind of step.
severity: S1
family: cost
match: [alertname="X"]
target: route
dryRun: true
escalation: { after: 30m, to: cost-s0 }
steps:
  - id: current
    check: gateway.getRoutePolicy
  - id: cap
    when: { facts: [{ fact: current.maxInputTokens, above: 4096 }], severity: S2, labels: [tenant=~".+"] }
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 4096 } }
  - id: tell
    notify: { to: [finops], message: "{{ labels.route }}" }
  - id: ask
    approval: { summary: "ok?", timeout: 15m, onTimeout: approve, onReject: rollback }
  - id: wait
    waitUntilResolved: true
  - id: room
    warRoom: { name: "inc-{{ labels.route }}", invite: [sre] }
`;
    const { playbook, problems } = parsePlaybook(FILE, yaml);
    expect(problems).toEqual([]);
    expect(playbook?.spec.steps.map((s) => s.id)).toEqual(['current', 'cap', 'tell', 'ask', 'wait', 'room']);
    expect(playbook?.spec.steps[3]?.approval).toEqual({
      summary: 'ok?',
      timeout: 900_000,
      onTimeout: 'approve',
      onReject: 'rollback',
      to: ['approvals'],
    });
    expect(playbook?.spec.escalation).toEqual({ after: 1_800_000, to: 'cost-s0' });
    expect(playbook?.spec.dryRun).toBe(true);
  });

  test('an approval rejects by stopping unless it says otherwise', () => {
    const yaml = VALID.replace('steps:\n', 'steps:\n  - id: ask\n    approval: { summary: "ok?", timeout: 5m }\n');
    expect(parsePlaybook(FILE, yaml).playbook?.spec.steps[0]?.approval).toEqual({
      summary: 'ok?',
      timeout: 300_000,
      onReject: 'stop',
      to: ['approvals'],
    });
  });

  test('templated params are accepted at load time (they are checked when planned)', () => {
    expect(problemsOf(VALID.replace('8192', '"{{ labels.cap }}"'))).toEqual([]);
  });
});

describe('playbook digests', () => {
  test('the same content in another key order, layout or with comments has the same digest', () => {
    const reordered = `# moved things around
steps:
  - params: { policy: { maxInputTokens: 8192 } }
    action: gateway.setRoutePolicy
    id: cap-context
cooldown: 600s
target: route
match: ['alertname="LLMInputTokensPerRequestHigh"']
severity: S2
description: Cap the context length.
name: cap-context
`;
    expect(digestOf(reordered)).toBe(digestOf(VALID));
  });

  test('writing a default explicitly does not change the digest', () => {
    expect(digestOf(VALID.replace('target: route', 'target: route\ndryRun: false'))).toBe(digestOf(VALID));
  });

  test.each([
    ['a parameter value', VALID.replace('8192', '4096')],
    ['the cooldown', VALID.replace('10m', '11m')],
    ['a matcher', VALID.replace('alertname=', 'alertname!=')],
    ['the description', VALID.replace('Cap the context length.', 'Cap it.')],
    ['the step order', VALID.replace('steps:\n', 'steps:\n  - id: first\n    notify: { to: [a], message: hi }\n')],
  ])('changing %s changes the digest', (_case, changed) => {
    expect(digestOf(changed)).not.toBe(digestOf(VALID));
  });

  test('the order of steps matters but the order of keys inside params does not', () => {
    const twoFields = (a: string, b: string) =>
      VALID.replace('        maxInputTokens: 8192\n', `        ${a}\n        ${b}\n`);
    expect(digestOf(twoFields('maxInputTokens: 8192', 'cacheMode: aggressive'))).toBe(
      digestOf(twoFields('cacheMode: aggressive', 'maxInputTokens: 8192')),
    );
  });

  test('playbookDigest is a pure function of the spec', () => {
    const { playbook } = parsePlaybook(FILE, VALID);
    if (!playbook) throw new Error('expected a playbook');
    expect(playbookDigest(structuredClone(playbook.spec))).toBe(playbook.digest);
    expect(parsePlaybook('elsewhere/other-name.yaml', VALID).playbook?.digest).toBe(playbook.digest);
  });
});

describe('parsePlaybook: problems name file:line:column, the field path and a valid value', () => {
  test.each([
    [
      'an unknown action',
      VALID.replace('action: gateway.setRoutePolicy', 'action: gateway.setRoutePolcy'),
      `${FILE}:10:13: steps[0].action: Invalid option. Expected: a registered action: ${ACTION_NAMES.join(', ')}`,
    ],
    [
      'a bad matcher',
      VALID.replace('alertname="LLMInputTokensPerRequestHigh"', 'alertname'),
      `${FILE}:5:5: match[0]: "alertname" is not a label matcher; write name="value", name!="value", name=~"regex" or name!~"regex". Expected: an Alertmanager label matcher, e.g. alertname="LLMInputTokensPerRequestHigh" or severity=~"S1|S2"`,
    ],
    [
      'a bad regex matcher',
      VALID.replace('alertname="LLMInputTokensPerRequestHigh"', 'alertname=~"(oops"'),
      expect.stringMatching(
        /^playbooks\/test\.yaml:5:5: match\[0\]: "alertname=~"\(oops"": invalid regular expression \(.*\)\. Expected: an Alertmanager label matcher/,
      ),
    ],
    [
      'a bad cooldown',
      VALID.replace('10m', 'ten minutes'),
      `${FILE}:7:11: cooldown: "ten minutes" is not a duration. Expected: how long the alert must stay resolved before rollback, e.g. 10m (default: engine.cooldown)`,
    ],
    ['an unknown top-level field', `${VALID}owner: finops\n`, `${FILE}:1:1: (top level): Unrecognized key: "owner"`],
    [
      'an unknown step field',
      VALID.replace('    action:', '    actoin: x\n    action:'),
      `${FILE}:9:5: steps[0]: Unrecognized key: "actoin"`,
    ],
    [
      'a missing field',
      VALID.replace('description: Cap the context length.\n', ''),
      `${FILE}:1:1: description: Invalid input: expected string, received undefined. Expected: what the playbook is for, in a sentence`,
    ],
    [
      'a missing severity',
      VALID.replace('severity: S2\n', ''),
      `${FILE}:1:1: severity: Invalid option. Expected: S1 (most severe), S2 or S3`,
    ],
    [
      'an unknown severity',
      VALID.replace('severity: S2', 'severity: S9'),
      `${FILE}:3:11: severity: Invalid option. Expected: S1 (most severe), S2 or S3`,
    ],
    [
      'an unknown target kind',
      VALID.replace('target: route', 'target: cluster'),
      `${FILE}:6:9: target: Invalid option. Expected: what the playbook acts on: route, tenant, deployment, bucket`,
    ],
    [
      'a name that is not a slug',
      VALID.replace('name: cap-context', 'name: Cap_Context'),
      `${FILE}:1:7: name: Invalid string: must match pattern /^[a-z0-9][a-z0-9-]{0,62}$/. Expected: the playbook's name: lower-case letters, digits and dashes, unique across playbooks/`,
    ],
    [
      'a wrong literal parameter',
      VALID.replace('8192', '-5'),
      `${FILE}:13:25: steps[0].params.policy.maxInputTokens: Too small: expected number to be >0. Expected: the largest prompt, in tokens, the route accepts (null: no cap)`,
    ],
    [
      'a parameter of the wrong type',
      VALID.replace('maxInputTokens: 8192', 'cacheMode: sometimes'),
      `${FILE}:13:20: steps[0].params.policy.cacheMode: Invalid option. Expected: off, standard or aggressive response caching`,
    ],
    [
      'an empty policy patch',
      VALID.replace('      policy:\n        maxInputTokens: 8192\n', '      policy: {}\n'),
      `${FILE}:12:15: steps[0].params.policy: the patch changes nothing: name at least one policy field. Expected: the policy fields to set, e.g. {maxInputTokens: 4096}`,
    ],
    [
      'missing params',
      VALID.replace('    params:\n      policy:\n        maxInputTokens: 8192\n', ''),
      `${FILE}:9:5: steps[0].params.policy: Invalid input: expected object, received undefined. Expected: the policy fields to set, e.g. {maxInputTokens: 4096}`,
    ],
    [
      'an action incompatible with the target kind',
      VALID.replace('target: route', 'target: bucket'),
      `${FILE}:10:13: steps[0].action: gateway.setRoutePolicy acts on route targets (or deployment targets with params.route), but this playbook's target is bucket`,
    ],
    [
      'a gateway action on a deployment target without the route it acts on',
      VALID.replace('target: route', 'target: deployment'),
      `${FILE}:12:7: steps[0].params: gateway.setRoutePolicy on a deployment target needs params.route: name what to act on`,
    ],
    [
      'an adapt step whose levels set different fields',
      VALID.replace(
        '    action: gateway.setRoutePolicy\n    params:\n      policy:\n        maxInputTokens: 8192\n',
        '    adapt:\n      every: 1m\n      measure: { check: prometheus.query, params: { query: up } }\n      action: gateway.setRoutePolicy\n      levels:\n        - { above: 1, params: { policy: { rateLimitRps: 40 } } }\n        - { above: 2, params: { policy: { rateLimitRps: 20, priority: 1 } } }\n',
      ),
      `${FILE}:16:31: steps[0].adapt.levels[1].params: sets policy.priority, policy.rateLimitRps, but the first level sets policy.rateLimitRps; every level must set the same fields`,
    ],
    [
      'a wait for the resolution after an adapt step',
      VALID.replace(
        '    action: gateway.setRoutePolicy\n    params:\n      policy:\n        maxInputTokens: 8192\n',
        '    adapt:\n      every: 1m\n      measure: { check: prometheus.query, params: { query: up } }\n      action: gateway.setRoutePolicy\n      levels:\n        - { above: 1, params: { policy: { rateLimitRps: 40 } } }\n  - id: wait\n    waitUntilResolved: true\n',
      ),
      `${FILE}:17:24: steps[1].waitUntilResolved: comes after the adapt step cap-context, which would adjust for as long as this waits; put the adapt step after it`,
    ],
    [
      'an adapt step whose levels are not by rising threshold',
      VALID.replace(
        '    action: gateway.setRoutePolicy\n    params:\n      policy:\n        maxInputTokens: 8192\n',
        '    adapt:\n      every: 1m\n      measure: { check: prometheus.query, params: { query: up } }\n      action: gateway.setRoutePolicy\n      levels:\n        - { above: 4, params: { policy: { rateLimitRps: 20 } } }\n        - { above: 2, params: { policy: { rateLimitRps: 40 } } }\n',
      ),
      `${FILE}:15:9: steps[0].adapt.levels: list the levels by rising threshold (above). Expected: the levels, lowest threshold first, e.g. [{above: 2, params: …}, {above: 4, params: …}]`,
    ],
    [
      'a check incompatible with the target kind',
      VALID.replace('target: route', 'target: bucket').replace(
        '    action: gateway.setRoutePolicy\n    params:\n      policy:\n        maxInputTokens: 8192\n',
        '    check: gateway.getRoutePolicy\n',
      ),
      `${FILE}:10:12: steps[0].check: gateway.getRoutePolicy acts on route targets (or deployment targets with params.route), but this playbook's target is bucket`,
    ],
    [
      'a step that does two things',
      `${VALID}    notify: { to: [a], message: hi }\n`,
      `${FILE}:9:5: steps[0]: a step does exactly one thing: give one of action, notify, approval, check, waitUntilResolved, warRoom, adapt, verify (found action and notify)`,
    ],
    [
      'a step that does nothing',
      VALID.replace(
        '    action: gateway.setRoutePolicy\n    params:\n      policy:\n        maxInputTokens: 8192\n',
        '    description: nothing\n',
      ),
      `${FILE}:9:5: steps[0]: a step does exactly one thing: give one of action, notify, approval, check, waitUntilResolved, warRoom, adapt, verify (found none)`,
    ],
    [
      'params on a notify step',
      VALID.replace('    action: gateway.setRoutePolicy\n', '    notify: { to: [a], message: hi }\n'),
      `${FILE}:12:7: steps[0].params: params belong to an action or a check step. Expected: the action's or check's parameters; strings may use {{ labels.NAME }} and {{ annotations.NAME }}`,
    ],
    [
      'an empty condition',
      VALID.replace('    action:', '    when: {}\n    action:'),
      `${FILE}:10:11: steps[0].when: an empty condition: give labels, severity or facts. Expected: run the step only when these conditions hold; otherwise it is skipped and the skip is recorded`,
    ],
    [
      'a fact no earlier check gathers',
      VALID.replace('    action:', '    when: { facts: [{ fact: nope.x, above: 1 }] }\n    action:'),
      `${FILE}:10:29: steps[0].when.facts[0].fact: "nope" is not a check step before this one; facts come from earlier check steps`,
    ],
    [
      'a bad approval timeout',
      `${VALID}  - id: ok\n    approval: { summary: s, timeout: soon }\n`,
      `${FILE}:15:38: steps[1].approval.timeout: "soon" is not a duration. Expected: how long to wait for a decision, e.g. 30m`,
    ],
    ['an empty file', '', `${FILE}: (top level): Invalid input: expected object, received null`],
    [
      'a list instead of a mapping',
      '- a\n- b\n',
      `${FILE}:1:1: (top level): Invalid input: expected object, received array`,
    ],
  ])('%s', (_case, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual([expected]);
  });

  describe('an approval that needs two people never times out into approval', () => {
    const throttle = (severity: string, approval: string) =>
      VALID.replace('severity: S2', `severity: ${severity}`)
        .replace('  - id: cap-context\n', `  - id: approve\n    approval:\n${approval}\n  - id: cap-context\n`)
        .replace('        maxInputTokens: 8192', '        rateLimitRps: 10');

    test('an S1 throttle made four-eyes by the engine, with onTimeout approve: refused at the field', () => {
      expect(
        problemsOf(throttle('S1', '      summary: throttle\n      timeout: 10m\n      onTimeout: approve')),
      ).toEqual([
        `${FILE}:13:18: steps[0].approval.onTimeout: needs 2 distinct approvers (it allows a destructive S1 change), but a timeout would approve it with none; set onTimeout: reject`,
      ]);
    });

    test('declared four-eyes in an S2 playbook, whose timeout approves by default: refused at the approval', () => {
      expect(
        problemsOf(throttle('S2', '      summary: throttle\n      timeout: 10m\n      approvalsNeeded: 2')),
      ).toEqual([
        `${FILE}:11:7: steps[0].approval: needs 2 distinct approvers, but a timeout would approve it with none; set onTimeout: reject`,
      ]);
    });

    test('params the action refuses are reported as such, not taken for a destructive change', () => {
      const noPolicy = throttle('S1', '      summary: throttle\n      timeout: 10m\n      onTimeout: approve').replace(
        '    params:\n      policy:\n        rateLimitRps: 10\n',
        '    params: {}\n',
      );
      expect(problemsOf(noPolicy)).toEqual([
        expect.stringMatching(/^playbooks\/test\.yaml:\d+:\d+: steps\[1\]\.params\.policy: /),
      ]);
    });

    test('the same with onTimeout reject, or an S1 default, or one approver: fine', () => {
      expect(problemsOf(throttle('S1', '      summary: throttle\n      timeout: 10m'))).toEqual([]);
      expect(
        problemsOf(
          throttle(
            'S2',
            '      summary: throttle\n      timeout: 10m\n      approvalsNeeded: 2\n      onTimeout: reject',
          ),
        ),
      ).toEqual([]);
      expect(
        problemsOf(throttle('S2', '      summary: throttle\n      timeout: 10m\n      onTimeout: approve')),
      ).toEqual([]);
    });
  });

  test('duplicate step ids are refused, pointing at the steps list', () => {
    const twice = `${VALID}  - id: cap-context\n    notify: { to: [finops], message: again }\n`;
    expect(problemsOf(twice)).toEqual([
      `${FILE}:9:3: steps: step ids must be unique. Expected: the steps, run in order`,
    ]);
  });

  test('a fact gathered by a later check is refused; one gathered earlier is fine', () => {
    const checkLater =
      VALID.replace('    action:', '    when: { facts: [{ fact: current.maxInputTokens, above: 1 }] }\n    action:') +
      '  - id: current\n    check: gateway.getRoutePolicy\n';
    expect(problemsOf(checkLater)).toEqual([
      expect.stringMatching(
        /^playbooks\/test\.yaml:10:29: steps\[0\]\.when\.facts\[0\]\.fact: "current" is not a check step before this one/,
      ),
    ]);
    const checkFirst = VALID.replace(
      'steps:\n',
      'steps:\n  - id: current\n    check: gateway.getRoutePolicy\n',
    ).replace('    action:', '    when: { facts: [{ fact: current.maxInputTokens, above: 1 }] }\n    action:');
    expect(problemsOf(checkFirst)).toEqual([]);
  });

  test('savings come from exactly one of costRate or measure, and a measure must fit the target', () => {
    const withSavings = (savings: string) => VALID.replace('cooldown: 10m\n', `cooldown: 10m\nsavings:\n${savings}`);
    expect(problemsOf(withSavings('  costRate: sum(rate(inference_cost_usd_total[5m])) * 3600\n'))).toEqual([]);
    expect(problemsOf(withSavings('  every: 5m\n'))).toEqual([
      expect.stringMatching(/^playbooks\/test\.yaml:9:3: savings: give exactly one of costRate \(PromQL\) or measure/),
    ]);
    const both = '  costRate: x\n  measure: { check: prometheus.query, params: { query: x } }\n';
    expect(problemsOf(withSavings(both))).toEqual([expect.stringMatching(/savings: give exactly one of/)]);
    // A deployment's GPU cost on a route target: refused at load, naming the field.
    expect(problemsOf(withSavings('  measure: { check: finops.gpuCostRate, fact: usdPerHour }\n'))).toEqual([
      expect.stringMatching(/^playbooks\/test\.yaml:9:21: savings\.measure\.check: finops\.gpuCostRate .*deployment/),
    ]);
  });

  test('several problems are all reported, each with its own line', () => {
    const problems = problemsOf(VALID.replace('severity: S2', 'severity: S9').replace('10m', 'soon'));
    expect(problems).toEqual([
      expect.stringMatching(/^playbooks\/test\.yaml:3:11: severity: /),
      expect.stringMatching(/^playbooks\/test\.yaml:7:11: cooldown: "soon" is not a duration/),
    ]);
  });

  test('invalid YAML is reported with the file and the parser message', () => {
    const problems = problemsOf('name: [unclosed\n');
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toMatch(/^playbooks\/test\.yaml: invalid YAML: /);
  });

  test('a problem never yields a playbook', () => {
    expect(parsePlaybook(FILE, VALID.replace('10m', 'soon')).playbook).toBeUndefined();
  });
});

describe('loadPlaybooks', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function folder(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'finops-soar-playbooks-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  function problemsLoading(dir: string): string[] {
    try {
      loadPlaybooks(dir);
    } catch (error) {
      expect(error).toBeInstanceOf(PlaybookError);
      expect((error as Error).name).toBe('PlaybookError');
      const { problems, message } = error as PlaybookError;
      for (const problem of problems) expect(message).toContain(problem);
      return problems;
    }
    throw new Error('expected a PlaybookError');
  }

  test('loads *.yaml and *.yml files in name order and ignores other files', () => {
    const dir = folder({
      'b.yml': VALID.replace('name: cap-context', 'name: b-playbook'),
      'a.yaml': VALID,
      'notes.md': '# not a playbook',
      'playbook.schema.json': '{}',
    });
    const playbooks = loadPlaybooks(dir);
    expect(playbooks.map((p) => p.spec.name)).toEqual(['cap-context', 'b-playbook']);
    expect(playbooks[0]?.file).toMatch(/a\.yaml$/);
    expect(playbooks[1]?.file).toMatch(/b\.yml$/);
  });

  test('two files with the same playbook name are refused, naming both files', () => {
    const dir = folder({ 'one.yaml': VALID, 'two.yaml': VALID });
    const problems = problemsLoading(dir);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /two\.yaml: name: "cap-context" is already the name of .*one\.yaml; playbook names must be unique$/,
    );
  });

  test('an empty folder is an error, not an engine with no playbooks', () => {
    const dir = folder({ 'README.md': 'nothing here' });
    expect(problemsLoading(dir)).toEqual([`${dir}: no playbook files (*.yaml) found`]);
  });

  test('a missing folder names the folder and the settings that choose it', () => {
    const dir = join(folder({}), 'missing');
    const problems = problemsLoading(dir);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read the playbooks folder \\(ENOENT`),
    );
    expect(problems[0]).toMatch(/set playbooks\.dir or FINOPS_SOAR_PLAYBOOKS_DIR$/);
  });

  test('problems from every file are reported together, and a valid file does not hide them', () => {
    const dir = folder({
      'good.yaml': VALID,
      'bad-action.yaml': VALID.replace('name: cap-context', 'name: bad-action').replace(
        'gateway.setRoutePolicy',
        'gateway.nope',
      ),
      'bad-yaml.yaml': 'name: [unclosed\n',
    });
    const problems = problemsLoading(dir);
    expect(problems.some((p) => /bad-action\.yaml:10:13: steps\[0\]\.action: /.test(p))).toBe(true);
    expect(problems.some((p) => /bad-yaml\.yaml: invalid YAML: /.test(p))).toBe(true);
    expect(problems.some((p) => p.includes('good.yaml'))).toBe(false);
  });

  test("a broken file and a name used twice are both reported, the file's problem first", () => {
    const dir = folder({
      'a.yaml': VALID,
      'b.yml': VALID,
      'c.yaml': VALID.replace('S2', 'S9'),
      'notes.txt': 'ignored',
    });
    const problems = problemsLoading(dir);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/c\.yaml:3:11: severity: Invalid option/);
    expect(problems[1]).toMatch(
      /b\.yml: name: "cap-context" is already the name of .*a\.yaml; playbook names must be unique/,
    );
  });

  describe('escalation between playbooks', () => {
    const s2 = (escalateTo: string, family = 'cost', target = 'route') =>
      VALID.replace(
        'name: cap-context',
        `name: cost-s2\nfamily: ${family}\nescalation: { after: 30m, to: ${escalateTo} }`,
      ).replace('target: route', `target: ${target}`);
    const s1 = (severity = 'S1', family = 'cost') =>
      VALID.replace('name: cap-context', `name: cost-s1\nfamily: ${family}`).replace(
        'severity: S2',
        `severity: ${severity}`,
      );

    test('a more severe playbook of the same family and target kind is fine', () => {
      expect(loadPlaybooks(folder({ 's1.yaml': s1(), 's2.yaml': s2('cost-s1') })).map((p) => p.spec.name)).toEqual([
        'cost-s1',
        'cost-s2',
      ]);
    });

    test.each([
      [
        'an unknown playbook',
        () => ({ 's2.yaml': s2('nope') }),
        /s2\.yaml: escalation\.to: no playbook is named "nope"$/,
      ],
      [
        'another family',
        () => ({ 's1.yaml': s1('S1', 'capacity'), 's2.yaml': s2('cost-s1') }),
        /s2\.yaml: escalation\.to: "cost-s1" is not of this playbook's family \(cost\); set the same family on both$/,
      ],
      [
        'a playbook that is not more severe',
        () => ({ 's1.yaml': s1('S3'), 's2.yaml': s2('cost-s1') }),
        /s2\.yaml: escalation\.to: "cost-s1" is S3, not more severe than S2$/,
      ],
      [
        'a playbook of the same severity',
        () => ({ 's1.yaml': s1('S2'), 's2.yaml': s2('cost-s1') }),
        /s2\.yaml: escalation\.to: "cost-s1" is S2, not more severe than S2$/,
      ],
    ])('escalating to %s is refused', (_case, files, expected) => {
      const problems = problemsLoading(folder(files()));
      expect(problems).toEqual([expect.stringMatching(expected)]);
    });

    test('escalating to a playbook acting on another target kind is refused', () => {
      const tenantS2 = s2('cost-s1', 'cost', 'tenant').replace(
        '    action: gateway.setRoutePolicy\n    params:\n      policy:\n        maxInputTokens: 8192\n',
        '    notify: { to: [finops], message: hi }\n',
      );
      const problems = problemsLoading(folder({ 's1.yaml': s1(), 's2.yaml': tenantS2 }));
      expect(problems).toEqual([
        expect.stringMatching(/s2\.yaml: escalation\.to: "cost-s1" acts on route targets, this playbook on tenant$/),
      ]);
    });
  });

  test("the repository's playbooks/ folder loads cleanly", () => {
    const playbooks = loadPlaybooks(join(__dirname, '..', '..', 'playbooks'));
    expect(playbooks.length).toBeGreaterThan(0);
    const names = playbooks.map((p) => p.spec.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('cost-s2');
    for (const playbook of playbooks) {
      expect(playbook.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(playbook.spec.steps.length).toBeGreaterThan(0);
    }
  });

  test('the test fixtures: the valid folder loads, the broken one reports its typo with the line', () => {
    expect(loadPlaybooks(join(__dirname, '..', 'fixtures', 'playbooks')).map((p) => p.spec.name)).toContain(
      'cap-context',
    );
    const problems = problemsLoading(join(__dirname, '..', 'fixtures', 'invalid-playbooks'));
    expect(problems).toEqual([expect.stringMatching(/broken\.yaml:\d+:\d+: steps\[0\]\.action: Invalid option/)]);
  });
});
