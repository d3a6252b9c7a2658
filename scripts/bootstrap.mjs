#!/usr/bin/env node
// Makes a fresh clone runnable, then runs the command given after `--`:
//   1. installs the npm packages when node_modules is missing or older than package-lock.json;
//   2. finds the Temporal CLI (TEMPORAL_CLI_PATH, then PATH, then the per-user cache) and, where it
//      is missing and Go is present, builds the pinned version into the per-user cache once;
//   3. runs the command with TEMPORAL_CLI_PATH set, forwarding its exit code.
// Plain Node with no dependencies: it runs before node_modules exists.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_CLI_VERSION = 'v1.5.1';
// Later tags carry a `replace` directive in go.mod, which `go install pkg@version` refuses.
const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

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

function temporalCacheDir() {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'finops-soar', `temporal-${TEMPORAL_CLI_VERSION}`);
}

function ensureTemporalCli() {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    fail(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file. Unset it, or point it at the temporal binary.`);
  }
  const found = onPath('temporal');
  if (found) return found;

  const cacheDir = temporalCacheDir();
  const cached = join(cacheDir, 'temporal');
  if (isExecutable(cached)) return cached;

  if (!onPath('go')) {
    fail(
      [
        'the Temporal CLI was not found (TEMPORAL_CLI_PATH, PATH, ' + cached + ') and Go is not installed to build it.',
        'Install it one of these ways, then run the command again:',
        `  go install ${TEMPORAL_CLI_MODULE}          (needs Go 1.24+)`,
        '  brew install temporal                     (macOS)',
        '  or download it from https://temporal.download/cli and set TEMPORAL_CLI_PATH=/path/to/temporal',
      ].join('\n'),
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  console.error(`finops-soar setup: building the Temporal CLI ${TEMPORAL_CLI_VERSION} into ${cacheDir} (first time only; a few minutes)…`);
  const status = run('go', ['install', TEMPORAL_CLI_MODULE], { env: { ...process.env, GOBIN: cacheDir, GOFLAGS: '-buildvcs=false' } });
  if (status !== 0 || !isExecutable(cached)) fail(`\`go install ${TEMPORAL_CLI_MODULE}\` failed; see the output above.`);
  return cached;
}

const separator = process.argv.indexOf('--');
const command = separator === -1 ? [] : process.argv.slice(separator + 1);
if (command.length === 0) fail('usage: node scripts/bootstrap.mjs -- <command> [args…]');

ensureNodeModules();
const temporalCli = ensureTemporalCli();

const child = spawn(command[0], command.slice(1), {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, TEMPORAL_CLI_PATH: temporalCli },
});
// Ctrl-C reaches the whole foreground process group, so the child already has its SIGINT: wait for
// it to shut down and report its exit code rather than die first. A SIGTERM is sent to us alone.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
