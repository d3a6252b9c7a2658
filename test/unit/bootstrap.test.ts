// scripts/bootstrap.mjs is what makes `npm start` and `npm test` work on a fresh clone.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const BOOTSTRAP = join(__dirname, '..', '..', 'scripts', 'bootstrap.mjs');
const home = mkdtempSync(join(tmpdir(), 'finops-soar-home-'));

/** Runs the bootstrap with PATH holding only node's folder (no temporal, no go) and an empty HOME. */
function bootstrap(command: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BOOTSTRAP, '--', ...command], {
    encoding: 'utf8',
    env: { PATH: dirname(process.execPath), HOME: home, ...env },
  });
}

test('runs the command with TEMPORAL_CLI_PATH set to the CLI it found, and forwards the exit code', () => {
  const cli = join(home, 'temporal');
  writeFileSync(cli, '#!/bin/sh\n');
  chmodSync(cli, 0o755);
  const result = bootstrap([process.execPath, '-e', 'console.log(process.env.TEMPORAL_CLI_PATH); process.exit(3)'], {
    TEMPORAL_CLI_PATH: cli,
  });
  expect(result.stdout.trim()).toBe(cli);
  expect(result.status).toBe(3);
});

test('finds the CLI in the per-user cache where an earlier run built it', () => {
  const cacheDir = join(home, '.cache', 'finops-soar', 'temporal-v1.5.1');
  const cached = join(cacheDir, 'temporal');
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cached, '#!/bin/sh\n');
  chmodSync(cached, 0o755);
  const result = bootstrap([process.execPath, '-e', 'console.log(process.env.TEMPORAL_CLI_PATH)'], {
    XDG_CACHE_HOME: join(home, '.cache'),
  });
  expect(result.stdout.trim()).toBe(cached);
  expect(result.status).toBe(0);
});

test('without the CLI and without Go it explains how to install it and fails', () => {
  const result = bootstrap(['true'], { XDG_CACHE_HOME: join(home, 'empty-cache') });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('the Temporal CLI was not found');
  expect(result.stderr).toContain('go install github.com/temporalio/cli/cmd/temporal@v1.5.1');
});

test('a TEMPORAL_CLI_PATH that is not executable is refused with the fix', () => {
  const result = bootstrap(['true'], { TEMPORAL_CLI_PATH: join(home, 'missing-temporal') });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/TEMPORAL_CLI_PATH=.*missing-temporal is not an executable file/);
});

/** An executable file standing in for a program the bootstrap only has to find. */
function program(path: string) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

const printPaths = [
  process.execPath,
  '-e',
  'console.log(JSON.stringify({ temporal: process.env.TEMPORAL_CLI_PATH, opa: process.env.OPA_PATH }))',
];

describe('OPA', () => {
  const temporal = program(join(home, 'opa-tests', 'temporal'));

  test('an OPA_PATH that is executable is passed to the command as it is', () => {
    const opa = program(join(home, 'opa-tests', 'bin', 'opa'));
    const result = bootstrap(printPaths, { TEMPORAL_CLI_PATH: temporal, OPA_PATH: opa });
    expect(JSON.parse(result.stdout)).toEqual({ temporal, opa });
  });

  test('is found on PATH, before the per-user cache', () => {
    const onPath = program(join(home, 'opa-tests', 'path', 'opa'));
    program(join(home, '.cache', 'finops-soar', 'opa-v1.22.3', 'opa'));
    const result = bootstrap(printPaths, {
      TEMPORAL_CLI_PATH: temporal,
      PATH: `${dirname(process.execPath)}:${dirname(onPath)}`,
      XDG_CACHE_HOME: join(home, '.cache'),
    });
    expect(JSON.parse(result.stdout)).toEqual({ temporal, opa: onPath });
  });

  test('is found in the per-user cache where an earlier run built it', () => {
    const cached = program(join(home, 'opa-cache', 'finops-soar', 'opa-v1.22.3', 'opa'));
    const result = bootstrap(printPaths, { TEMPORAL_CLI_PATH: temporal, XDG_CACHE_HOME: join(home, 'opa-cache') });
    expect(JSON.parse(result.stdout)).toEqual({ temporal, opa: cached });
  });

  test('without OPA and without Go it says how to install it and runs the command without OPA_PATH', () => {
    const result = bootstrap([...printPaths.slice(0, 2), `${printPaths[2]}; process.exit(4)`], {
      TEMPORAL_CLI_PATH: temporal,
      XDG_CACHE_HOME: join(home, 'empty-cache'),
    });
    expect(result.stderr).toContain('OPA was not found (OPA_PATH, PATH, ');
    expect(result.stderr).toContain('go install github.com/open-policy-agent/opa@v1.22.3');
    expect(result.stderr).toContain('(going on without it)');
    expect(JSON.parse(result.stdout)).toEqual({ temporal });
    expect(result.status).toBe(4);
  });

  test('an OPA_PATH that is not executable is refused with the fix', () => {
    const result = bootstrap(['true'], { TEMPORAL_CLI_PATH: temporal, OPA_PATH: join(home, 'missing-opa') });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /OPA_PATH=.*missing-opa is not an executable file\. Unset it, or point it at the opa binary\./,
    );
  });
});

test('without a command it prints its usage', () => {
  const result = spawnSync(process.execPath, [BOOTSTRAP], { encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('usage: node scripts/bootstrap.mjs -- <command>');
});

// The machine's own Node (Debian's /usr/bin/node here is Node 20, past its end of life) may be too old: the command
// must run under a supported Node all the same. Node 24 is taken from the cache where an earlier run put it (seeded
// here with the Node this test runs on), so no download is needed.
test('the command runs under Node 22 or 24 whatever Node started the bootstrap', () => {
  // Debian's Node where there is one (20 on these machines: the re-run under Node 24), else this one (run as it is).
  const machineNode = existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;
  const cacheHome = join(home, 'node-cache');
  const cachedBin = join(cacheHome, 'finops-soar', 'node-v24.22.3', 'bin');
  mkdirSync(cachedBin, { recursive: true });
  symlinkSync(process.execPath, join(cachedBin, 'node'));
  const temporal = program(join(home, 'node-tests', 'temporal'));
  const result = spawnSync(
    machineNode,
    [BOOTSTRAP, '--', 'node', '-e', 'console.log(process.versions.node); process.exit(5)'],
    {
      encoding: 'utf8',
      env: {
        PATH: dirname(machineNode),
        HOME: home,
        XDG_CACHE_HOME: cacheHome,
        TEMPORAL_CLI_PATH: temporal,
        OPA_PATH: program(join(home, 'node-tests', 'opa')),
      },
    },
  );
  expect(['22', '24']).toContain(result.stdout.trim().split('.')[0]);
  expect(result.status).toBe(5);
});

test('a command ended by a signal exits as a shell reports it (128 + the signal), so callers see why', () => {
  const temporal = program(join(home, 'signal-tests', 'temporal'));
  const result = bootstrap([process.execPath, '-e', "process.kill(process.pid, 'SIGTERM')"], {
    TEMPORAL_CLI_PATH: temporal,
    OPA_PATH: program(join(home, 'signal-tests', 'opa')),
  });
  expect(result.status).toBe(143);
});
