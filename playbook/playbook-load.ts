// Reads and validates the playbook files. Every problem is reported at once, each with the file,
// the line, the field path and what a valid value looks like.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { matches } from '../alerts/matchers';
import { formatIssues, formatPath } from '../validation/issues';
import { lackedKnobs, type GatewayKind } from '../gateway/gateway-knobs';
import { ACTION_NAMES, stepsBack, stepSpec, type ActionName, type CheckName } from './step-registry';
import { approvalsNeededBySteps, onTimeoutOf } from './plan';
import { playbookSchema, type Playbook, type PlaybookSpec, type PlaybookStep } from './playbook-schema';

export class PlaybookError extends Error {
  override name = 'PlaybookError';
  constructor(readonly problems: string[]) {
    super(`invalid playbooks:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** JSON with object keys sorted, so equal playbooks have equal digests whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const playbookDigest = (spec: PlaybookSpec) =>
  `sha256:${createHash('sha256').update(canonicalJson(spec)).digest('hex')}`;

/** `file:line:column` of the deepest YAML node on `path` that exists. */
function locate(file: string, document: Document, lines: LineCounter, path: readonly PropertyKey[]): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = document.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return `${file}:${line}:${col}`;
    }
  }
  return file;
}

const hasTemplate = (value: unknown) => JSON.stringify(value ?? null).includes('{{');

type Problem = { path: PropertyKey[]; message: string };

/** A step's use of an action or check: its name, its params, and where each sits in the file. */
interface StepUse {
  name: ActionName | CheckName;
  params: Record<string, unknown> | undefined;
  namePath: PropertyKey[];
  paramsPath: PropertyKey[];
}

function usesOf(step: PlaybookStep, index: number): StepUse[] {
  const at = (...path: PropertyKey[]) => ['steps', index, ...path];
  if (step.action)
    return [{ name: step.action, params: step.params, namePath: at('action'), paramsPath: at('params') }];
  if (step.check) return [{ name: step.check, params: step.params, namePath: at('check'), paramsPath: at('params') }];
  const measuring = step.adapt ? 'adapt' : step.verify ? 'verify' : undefined;
  if (!measuring) return [];
  const { measure } = (step.adapt ?? step.verify)!;
  const measureUse: StepUse = {
    name: measure.check,
    params: measure.params,
    namePath: at(measuring, 'measure', 'check'),
    paramsPath: at(measuring, 'measure', 'params'),
  };
  if (!step.adapt) return [measureUse];
  const { action, levels } = step.adapt;
  return [
    measureUse,
    ...levels.map((level, levelIndex) => ({
      name: action,
      params: level.params,
      namePath: at('adapt', 'action'),
      paramsPath: at('adapt', 'levels', levelIndex, 'params'),
    })),
  ];
}

/** Dotted paths of the leaves of `value`, e.g. policy.rateLimitRps. */
const leafPaths = (value: unknown, prefix = ''): string[] =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.entries(value).flatMap(([key, item]) => leafPaths(item, prefix ? `${prefix}.${key}` : key))
    : [prefix];

function useProblems({ name, params, namePath, paramsPath }: StepUse, target: PlaybookSpec['target']): Problem[] {
  const problems: Problem[] = [];
  const { targets, namedBy, params: schema } = stepSpec(name);
  const namesItsObject = namedBy && (namedBy.targets as readonly string[]).includes(target);
  if (namesItsObject && params?.[namedBy.param] === undefined) {
    problems.push({
      path: paramsPath,
      message: `${name} on a ${target} target needs params.${namedBy.param}: name what to act on`,
    });
  } else if (!namesItsObject && !(targets as readonly string[]).includes(target)) {
    const also = namedBy ? ` (or ${namedBy.targets.join(' or ')} targets with params.${namedBy.param})` : '';
    problems.push({
      path: namePath,
      message: `${name} acts on ${targets.join(' or ')} targets${also}, but this playbook's target is ${target}`,
    });
  }
  if (!hasTemplate(params)) {
    const parsed = schema.safeParse(params ?? {});
    if (!parsed.success) {
      for (const [issueIndex, line] of formatIssues(parsed.error, schema).entries()) {
        problems.push({
          path: [...paramsPath, ...parsed.error.issues[issueIndex]!.path],
          message: line.slice(line.indexOf(': ') + 2),
        });
      }
    }
  }
  return problems;
}

/**
 * Problems a schema cannot see: steps that do not fit the target, wrong literal params, facts
 * nobody gathers, an approval that needs two people but lets the change through when nobody decides.
 */
function semanticProblems(spec: PlaybookSpec): Problem[] {
  const checksSoFar = new Set<string>();
  let adaptBefore: string | undefined;
  const approvalsNeeded = approvalsNeededBySteps(spec);
  return spec.steps.flatMap((step, index) => {
    const problems = usesOf(step, index).flatMap((use) => useProblems(use, spec.target));
    const needed = approvalsNeeded.get(index) ?? 1;
    if (step.approval && needed > 1 && onTimeoutOf(step.approval.onTimeout, spec.severity) === 'approve') {
      problems.push({
        path: ['steps', index, 'approval', ...(step.approval.onTimeout ? ['onTimeout'] : [])],
        message: `needs ${needed} distinct approvers${step.approval.approvalsNeeded === undefined ? ' (it allows a destructive S1 change)' : ''}, but a timeout would approve it with none; set onTimeout: reject`,
      });
    }
    // Adapt steps keep measuring while the run waits; waiting inside the steps, the run could not
    // continue as new, and its history would grow for as long as the alert fires.
    if (step.waitUntilResolved && adaptBefore) {
      problems.push({
        path: ['steps', index, 'waitUntilResolved'],
        message: `comes after the adapt step ${adaptBefore}, which would adjust for as long as this waits; put the adapt step after it`,
      });
    }
    if (step.adapt) adaptBefore ??= step.id;
    // Undoing an adapt step restores the fields its first level set: every level must set the same ones.
    const levels = step.adapt?.levels ?? [];
    const fields = levels.map(({ params }) => leafPaths(params).sort().join(', '));
    for (const [levelIndex, levelFields] of fields.entries()) {
      if (levelFields !== fields[0]) {
        problems.push({
          path: ['steps', index, 'adapt', 'levels', levelIndex, 'params'],
          message: `sets ${levelFields}, but the first level sets ${fields[0]}; every level must set the same fields`,
        });
      }
    }
    for (const [factIndex, { fact }] of (step.when?.facts ?? []).entries()) {
      const source = fact.slice(0, fact.indexOf('.'));
      if (!checksSoFar.has(source)) {
        problems.push({
          path: ['steps', index, 'when', 'facts', factIndex, 'fact'],
          message: `"${source}" is not a check step before this one; facts come from earlier check steps`,
        });
      }
    }
    if (step.check) checksSoFar.add(step.id);
    return problems;
  });
}

/**
 * A staged rollback's stages must name change steps of this playbook, take each further back stage by stage and all
 * the way in the end, and step part of the way only with actions that can (ActionSpec.stepBack).
 */
function rollbackProblems(spec: PlaybookSpec): Problem[] {
  if (!spec.rollback) return [];
  const { stages, guard, hold, maxHold } = spec.rollback;
  const problems: Problem[] = [];
  const steps = new Map(spec.steps.map((step) => [step.id, step]));
  const partly = ACTION_NAMES.filter(stepsBack).join(', ');
  const lastBy = new Map<string, { by: number; stage: number; path: PropertyKey[] }>();
  stages.forEach(({ undo, by }, stageIndex) => {
    undo.forEach((id, index) => {
      const path = ['rollback', 'stages', stageIndex, 'undo', index];
      const step = steps.get(id);
      if (!step) return problems.push({ path, message: `"${id}" is not a step of this playbook` });
      if (!step.action && !step.adapt)
        return problems.push({ path, message: `"${id}" changes nothing (only action and adapt steps come back)` });
      if (by < 1 && (step.adapt || !stepsBack(step.action!)))
        problems.push({
          path: ['rollback', 'stages', stageIndex, 'by'],
          message: `"${id}" (${step.action ?? 'an adapt step'}) comes back all at once; only ${partly} come back part of the way: leave by out, or name only those here`,
        });
      const before = lastBy.get(id);
      if (before && before.by >= by)
        problems.push({
          path: ['rollback', 'stages', stageIndex, 'by'],
          message: `"${id}" came back by ${before.by} at stage ${before.stage + 1} already; a later stage must take it further (a larger by)`,
        });
      lastBy.set(id, { by, stage: stageIndex, path });
    });
  });
  for (const [id, { by, path }] of lastBy) {
    if (by < 1)
      problems.push({
        path,
        message: `"${id}" only comes back ${by} of the way; add a later stage that undoes it with by: 1`,
      });
  }
  if (hold > maxHold)
    problems.push({
      path: ['rollback', 'hold'],
      message: 'is longer than rollback.maxHold; the hold only grows up to maxHold',
    });
  if (guard) {
    const at = ['rollback', 'guard', 'measure'];
    const use = {
      name: guard.measure.check,
      params: guard.measure.params,
      namePath: [...at, 'check'],
      paramsPath: [...at, 'params'],
    };
    problems.push(...useProblems(use, spec.target));
  }
  return problems;
}

/** A savings measure is a check like any other: it must fit the target and take its params. */
function savingsProblems(spec: PlaybookSpec): Problem[] {
  const measure = spec.savings?.measure;
  if (!measure) return [];
  const at = ['savings', 'measure'];
  const use = {
    name: measure.check,
    params: measure.params,
    namePath: [...at, 'check'],
    paramsPath: [...at, 'params'],
  };
  return useProblems(use, spec.target);
}

/**
 * Changes the configured gateway cannot make (gateway/gateway-knobs.ts), found now rather than at 3 a.m.: each knob a
 * step needs and the gateway lacks, unless the step says `unsupported: skip` (the plan then skips it, saying why).
 */
function gatewayProblems(spec: PlaybookSpec, gateway: GatewayKind | undefined): Problem[] {
  if (!gateway) return [];
  // A route step acts for the alert's tenant, or for the whole route when the alert has none: both, unless the
  // playbook matches only alerts with a tenant label (tenant=~".+").
  const tenantAlways = (spec.match ?? []).some((matcher) => matcher.name === 'tenant' && !matches(matcher, {}));
  return spec.steps.flatMap((step, index) => {
    if (step.unsupported === 'skip') return [];
    return usesOf(step, index).flatMap(({ name, params, paramsPath }) =>
      lackedKnobs(gateway, name, params, tenantAlways ? 'a tenant' : undefined).map(({ knob, why }) => ({
        path: [...paramsPath, ...knob.split('.')],
        message: `step ${step.id}: the ${gateway} gateway (gateway.kind) cannot do this: ${why}. Remove the step, or give it unsupported: skip to skip it on this gateway${why.startsWith('for a whole route') ? ', or match only alerts with a tenant label (tenant=~".+")' : ''} (docs/gateways.md)`,
      })),
    );
  });
}

/** Escalation must name a more severe playbook of the same family that acts on the same kind of target. */
function escalationProblems(playbooks: readonly Playbook[]): string[] {
  const byName = new Map(playbooks.map((playbook) => [playbook.spec.name, playbook]));
  return playbooks.flatMap(({ file, spec }) => {
    if (!spec.escalation) return [];
    const to = byName.get(spec.escalation.to);
    const where = `${file}: escalation.to`;
    if (!to) return [`${where}: no playbook is named "${spec.escalation.to}"`];
    if (!spec.family || to.spec.family !== spec.family)
      return [
        `${where}: "${to.spec.name}" is not of this playbook's family (${spec.family ?? 'none'}); set the same family on both`,
      ];
    if (to.spec.severity >= spec.severity)
      return [`${where}: "${to.spec.name}" is ${to.spec.severity}, not more severe than ${spec.severity}`];
    if (to.spec.target !== spec.target)
      return [`${where}: "${to.spec.name}" acts on ${to.spec.target} targets, this playbook on ${spec.target}`];
    return [];
  });
}

export interface LoadOptions {
  /** The configured gateway (gateway.kind): a step that needs a change it cannot make is a problem. */
  gateway?: GatewayKind | undefined;
}

/** Parses one playbook file's text; `file` is only used in messages. */
export function parsePlaybook(
  file: string,
  text: string,
  options: LoadOptions = {},
): { playbook?: Playbook; problems: string[] } {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (document.errors.length > 0)
    return { problems: document.errors.map((e) => `${file}: invalid YAML: ${e.message}`) };

  const parsed = playbookSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const messages = formatIssues(parsed.error, playbookSchema);
    return {
      problems: parsed.error.issues.map((issue, i) => `${locate(file, document, lines, issue.path)}: ${messages[i]}`),
    };
  }
  const problems = [
    ...semanticProblems(parsed.data),
    ...rollbackProblems(parsed.data),
    ...savingsProblems(parsed.data),
    ...gatewayProblems(parsed.data, options.gateway),
  ].map(({ path, message }) => `${locate(file, document, lines, path)}: ${formatPath(path)}: ${message}`);
  if (problems.length > 0) return { problems };
  return { playbook: { file, digest: playbookDigest(parsed.data), spec: parsed.data }, problems: [] };
}

/** Loads every `*.yaml`/`*.yml` file in `dir`; throws a PlaybookError listing every problem found. */
export function loadPlaybooks(dir: string, options: LoadOptions = {}): Playbook[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .sort();
  } catch (error) {
    throw new PlaybookError([
      `${dir}: cannot read the playbooks folder (${(error as Error).message}); set playbooks.dir or FINOPS_SOAR_PLAYBOOKS_DIR`,
    ]);
  }
  const playbooks: Playbook[] = [];
  const problems: string[] = [];
  for (const name of files) {
    const path = join(dir, name);
    const result = parsePlaybook(relative(process.cwd(), path) || path, readFileSync(path, 'utf8'), options);
    problems.push(...result.problems);
    if (result.playbook) playbooks.push(result.playbook);
  }
  const seen = new Map<string, string>();
  for (const { file, spec } of playbooks) {
    const other = seen.get(spec.name);
    if (other)
      problems.push(`${file}: name: "${spec.name}" is already the name of ${other}; playbook names must be unique`);
    seen.set(spec.name, file);
  }
  problems.push(...escalationProblems(playbooks));
  if (files.length === 0) problems.push(`${dir}: no playbook files (*.yaml) found`);
  if (problems.length > 0) throw new PlaybookError(problems);
  return playbooks;
}
