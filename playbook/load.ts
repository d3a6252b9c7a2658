// Reads and validates the playbook files. Every problem is reported at once, each with the file,
// the line, the field path and what a valid value looks like.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { formatIssues, formatPath } from '../validation/issues';
import { ACTIONS } from './actions';
import { playbookSchema, type Playbook, type PlaybookSpec } from './schema';

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

export const playbookDigest = (spec: PlaybookSpec) => `sha256:${createHash('sha256').update(canonicalJson(spec)).digest('hex')}`;

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

const hasTemplate = (value: unknown) => JSON.stringify(value).includes('{{');

/** Problems a schema cannot see: actions that do not fit the target, literal params that are wrong. */
function semanticProblems(spec: PlaybookSpec): Array<{ path: PropertyKey[]; message: string }> {
  return spec.steps.flatMap((step, index) => {
    const action = ACTIONS[step.action];
    const problems: Array<{ path: PropertyKey[]; message: string }> = [];
    if (!(action.targets as readonly string[]).includes(spec.target)) {
      problems.push({ path: ['steps', index, 'action'], message: `${step.action} acts on ${action.targets.join(' or ')} targets, but this playbook's target is ${spec.target}` });
    }
    if (!hasTemplate(step.params)) {
      const params = action.params.safeParse(step.params);
      if (!params.success) {
        for (const [issueIndex, line] of formatIssues(params.error, action.params).entries()) {
          problems.push({ path: ['steps', index, 'params', ...params.error.issues[issueIndex]!.path], message: line.slice(line.indexOf(': ') + 2) });
        }
      }
    }
    return problems;
  });
}

/** Parses one playbook file's text; `file` is only used in messages. */
export function parsePlaybook(file: string, text: string): { playbook?: Playbook; problems: string[] } {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (document.errors.length > 0) return { problems: document.errors.map((e) => `${file}: invalid YAML: ${e.message}`) };

  const parsed = playbookSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const messages = formatIssues(parsed.error, playbookSchema);
    return { problems: parsed.error.issues.map((issue, i) => `${locate(file, document, lines, issue.path)}: ${messages[i]}`) };
  }
  const problems = semanticProblems(parsed.data).map(({ path, message }) => `${locate(file, document, lines, path)}: ${formatPath(path)}: ${message}`);
  if (problems.length > 0) return { problems };
  return { playbook: { file, digest: playbookDigest(parsed.data), spec: parsed.data }, problems: [] };
}

/** Loads every `*.yaml`/`*.yml` file in `dir`; throws a PlaybookError listing every problem found. */
export function loadPlaybooks(dir: string): Playbook[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).sort();
  } catch (error) {
    throw new PlaybookError([`${dir}: cannot read the playbooks folder (${(error as Error).message}); set playbooks.dir or FINOPS_SOAR_PLAYBOOKS_DIR`]);
  }
  const playbooks: Playbook[] = [];
  const problems: string[] = [];
  for (const name of files) {
    const path = join(dir, name);
    const result = parsePlaybook(relative(process.cwd(), path) || path, readFileSync(path, 'utf8'));
    problems.push(...result.problems);
    if (result.playbook) playbooks.push(result.playbook);
  }
  const seen = new Map<string, string>();
  for (const { file, spec } of playbooks) {
    const other = seen.get(spec.name);
    if (other) problems.push(`${file}: name: "${spec.name}" is already the name of ${other}; playbook names must be unique`);
    seen.set(spec.name, file);
  }
  if (files.length === 0) problems.push(`${dir}: no playbook files (*.yaml) found`);
  if (problems.length > 0) throw new PlaybookError(problems);
  return playbooks;
}
