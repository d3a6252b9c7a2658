// The Markdown pages point into a tree that gets reorganised: every relative link in every Markdown
// file git knows must lead to a file or folder that exists, and an anchor into a page to one of its
// headings (GitHub's slugs). Also keeps README.md a front page. No network: http(s) links are skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const README_MAX_LINES = 220;

/** What the check reads: the repository's files (paths relative to its root, with `/`) and their text. */
interface Repo {
  files: ReadonlySet<string>;
  folders: ReadonlySet<string>;
  read(file: string): string;
}

function repoOf(files: string[], read: (file: string) => string): Repo {
  const folders = new Set<string>(['']);
  for (const file of files) {
    for (let dir = posix.dirname(file); dir !== '.'; dir = posix.dirname(dir)) folders.add(dir);
  }
  return { files: new Set(files), folders, read };
}

/** Tracked files, and new ones git does not ignore, so a page is checked before its first commit. */
function workingTree(): Repo {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const files = listed
    .split('\0')
    .filter((file) => file !== '' && !file.split('/').includes('node_modules') && existsSync(join(ROOT, file)));
  return repoOf(files, (file) => readFileSync(join(ROOT, file), 'utf8'));
}

/** Code is not Markdown: fenced blocks and inline spans are blanked, keeping every offset and newline. */
function withoutCode(markdown: string): string {
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  return markdown
    .replace(/^( {0,3})(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^ {0,3}\2[^\n]*$|(?![\s\S]))/gm, blank)
    .replace(/(`+)[^`][\s\S]*?\1/g, blank);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a dash. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a page's headings get; a repeated heading gets -1, -2… as on GitHub. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const code = withoutCode(markdown).split('\n');
  markdown.split('\n').forEach((line, index) => {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!heading || code[index]!.trim() === '') return;
    const slug = githubSlug(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  });
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images `[text](target "title")`, and reference definitions `[name]: target`. */
function linksOf(markdown: string): Link[] {
  const text = withoutCode(markdown);
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  const links: Link[] = [];
  for (const match of text.matchAll(/\]\(\s*(<[^>\n]*>|[^)\s]*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g))
    links.push({ line: lineAt(match.index), target: match[1]!.replace(/^<(.*)>$/, '$1') });
  for (const match of text.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*(\S+)/gm))
    links.push({ line: lineAt(match.index), target: match[1]!.replace(/^<(.*)>$/, '$1') });
  return links;
}

/** Why a link from `file` leads nowhere, or undefined when it resolves. */
function problemOf(file: string, target: string, repo: Repo): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined; // http(s), mailto: not fetched
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved =
    pathPart === ''
      ? file
      : posix.normalize(pathPart.startsWith('/') ? pathPart.slice(1) : posix.join(posix.dirname(file), pathPart));
  const path = resolved.replace(/\/+$/, '').replace(/^\.$/, '');
  if (path === '..' || path.startsWith('../')) return `${pathPart} is outside the repository`;
  const isFile = repo.files.has(path);
  if (!isFile && !repo.folders.has(path)) return `${pathPart} does not exist (from ${posix.dirname(file) || '.'}/)`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!isFile || !path.endsWith('.md')) {
    return /^L\d+(-L\d+)?$/.test(anchor) && isFile ? undefined : `#${anchor}: ${path} has no headings to link to`;
  }
  if (anchorsOf(repo.read(path)).has(anchor)) return undefined;
  return `#${anchor} is not a heading of ${path} (its anchors: ${[...anchorsOf(repo.read(path))].join(', ')})`;
}

/** Every link in `file` that leads nowhere, as `file:line: target: why`. */
function brokenLinks(file: string, repo: Repo): string[] {
  return linksOf(repo.read(file)).flatMap(({ line, target }) => {
    const problem = problemOf(file, target, repo);
    return problem ? [`${file}:${line}: (${target}): ${problem}`] : [];
  });
}

const repo = workingTree();
const markdownFiles = [...repo.files].filter((file) => file.endsWith('.md')).sort();

test('the Markdown files include the front page and the reference pages', () => {
  expect(markdownFiles).toEqual(expect.arrayContaining(['README.md', 'docs/playbooks.md', 'test/README.md']));
});

test.each(markdownFiles)('every relative link in %s resolves', (file) => {
  expect(brokenLinks(file, repo)).toEqual([]);
});

test(`README.md is a front page: at most ${README_MAX_LINES} lines`, () => {
  const lines = repo.read('README.md').replace(/\n$/, '').split('\n').length;
  expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
});

describe('the check itself', () => {
  const page = [
    '# A page',
    '## Two words, and `code`!',
    '## Repeated',
    '## Repeated',
    '```md',
    '# not a heading',
    '[in a code block](missing.md)',
    '```',
    'Fine: [up](../README.md), [folder](../docs/), [self](#a-page), [there](other.md#two-words-and-code),',
    '[again](other.md#repeated-1), [web](https://example.com/nowhere), `[inline](missing.md)`,',
    '![image](other.md) and [line](../data.yaml#L3).',
    'Broken: [gone](gone.md), [anchor](other.md#nowhere), [deep](../../outside.md),',
    '[no heading](../data.yaml#top).',
    '',
    '[ref]: ../missing/',
  ].join('\n');
  const fake = repoOf(['README.md', 'docs/page.md', 'docs/other.md', 'data.yaml'], (file) =>
    file.endsWith('.md') ? page : 'a: 1\n',
  );

  test('finds each broken link, with its line, and nothing else', () => {
    const problems = brokenLinks('docs/page.md', fake);
    expect(problems.map((problem) => problem.slice(0, problem.indexOf('): ') + 1))).toEqual([
      'docs/page.md:12: (gone.md)',
      'docs/page.md:12: (other.md#nowhere)',
      'docs/page.md:12: (../../outside.md)',
      'docs/page.md:13: (../data.yaml#top)',
      'docs/page.md:15: (../missing/)',
    ]);
  });

  test("slugs follow GitHub's rules", () => {
    expect(githubSlug('Which tier: the `policy.tier` check')).toBe('which-tier-the-policytier-check');
    expect(githubSlug('replay/ and histories/')).toBe('replay-and-histories');
    expect(githubSlug('The shipped finops-soar.yaml')).toBe('the-shipped-finops-soaryaml');
    expect(githubSlug('Policies (OPA)')).toBe('policies-opa');
    expect(githubSlug('A & B')).toBe('a--b');
    expect(githubSlug('snake_case stays')).toBe('snake_case-stays');
  });
});
