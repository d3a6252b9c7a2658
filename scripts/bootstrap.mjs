#!/usr/bin/env node
// Makes a fresh clone runnable, then runs the command given after `--`:
//   1. installs the npm packages when node_modules is missing or older than package-lock.json;
//   2. finds the Temporal CLI (TEMPORAL_CLI_PATH, then PATH, then the per-user cache) and, where it
//      is missing and Go is present, builds the pinned version into the per-user cache once;
//   3. finds OPA the same way (OPA_PATH, PATH, cache, else built with Go); OPA is optional for the
//      engine (its built-in rules decide without it), so without Go a missing OPA is a warning;
//   4. runs the command with TEMPORAL_CLI_PATH (and OPA_PATH when found) set, forwarding its exit code.
// Plain Node with no dependencies: it runs before node_modules exists.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_CLI_VERSION = 'v1.5.1';
// Later tags carry a `replace` directive in go.mod, which `go install pkg@version` refuses.
const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;
const OPA_VERSION = 'v1.22.3';
const OPA_MODULE = `github.com/open-policy-agent/opa@${OPA_VERSION}`;

// The Go programs the project runs: where each is looked for, and how to get it.
const TEMPORAL_CLI = {
  title: 'the Temporal CLI',
  binary: 'temporal',
  envVar: 'TEMPORAL_CLI_PATH',
  version: TEMPORAL_CLI_VERSION,
  module: TEMPORAL_CLI_MODULE,
  otherWays: [
    '  brew install temporal                     (macOS)',
    '  or download it from https://temporal.download/cli and set TEMPORAL_CLI_PATH=/path/to/temporal',
  ],
};
const OPA = {
  title: 'OPA',
  binary: 'opa',
  envVar: 'OPA_PATH',
  version: OPA_VERSION,
  module: OPA_MODULE,
  otherWays: [
    '  brew install opa                          (macOS)',
    '  or download it from https://www.openpolicyagent.org/docs#running-opa and set OPA_PATH=/path/to/opa',
  ],
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  console.error(`\nfinops-soar setup: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function ensureNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error('finops-soar setup: installing npm packages (npm ci)…');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) fail('`npm ci` failed; see the output above.');
}

function cacheDirOf(tool) {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'finops-soar', `${tool.binary}-${tool.version}`);
}

/** The tool's path; where it is missing and Go cannot build it, a required tool fails the setup and an optional one is warned about (undefined). */
function ensureGoTool(tool, { required }) {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    fail(`${tool.envVar}=${fromEnv} is not an executable file. Unset it, or point it at the ${tool.binary} binary.`);
  }
  const found = onPath(tool.binary);
  if (found) return found;

  const cacheDir = cacheDirOf(tool);
  const cached = join(cacheDir, tool.binary);
  if (isExecutable(cached)) return cached;

  if (!onPath('go')) {
    const help = [
      `${tool.title} was not found (${tool.envVar}, PATH, ${cached}) and Go is not installed to build it.`,
      'Install it one of these ways, then run the command again:',
      `  go install ${tool.module}          (needs Go 1.24+)`,
      ...tool.otherWays,
    ];
    if (required) fail(help.join('\n'));
    console.error(`finops-soar setup: ${help.join('\n')}\n(going on without it)`);
    return undefined;
  }
  mkdirSync(cacheDir, { recursive: true });
  console.error(
    `finops-soar setup: building ${tool.title} ${tool.version} into ${cacheDir} (first time only; a few minutes)…`,
  );
  const status = run('go', ['install', tool.module], {
    env: { ...process.env, GOBIN: cacheDir, GOFLAGS: '-buildvcs=false' },
  });
  if (status !== 0 || !isExecutable(cached)) fail(`\`go install ${tool.module}\` failed; see the output above.`);
  return cached;
}

const separator = process.argv.indexOf('--');
const command = separator === -1 ? [] : process.argv.slice(separator + 1);
if (command.length === 0) fail('usage: node scripts/bootstrap.mjs -- <command> [args…]');

ensureNodeModules();
const temporalCli = ensureGoTool(TEMPORAL_CLI, { required: true });
const opa = ensureGoTool(OPA, { required: false });

const child = spawn(command[0], command.slice(1), {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, TEMPORAL_CLI_PATH: temporalCli, ...(opa && { OPA_PATH: opa }) },
});
// Ctrl-C reaches the whole foreground process group, so the child already has its SIGINT: wait for
// it to shut down and report its exit code rather than die first. A SIGTERM is sent to us alone.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
