import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';

function configFile(yaml: string, extraFiles: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'finops-soar-config-'));
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'finops-soar.yaml'), yaml);
  return join(dir, 'finops-soar.yaml');
}

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

test('defaults: the embedded dev server, loopback ports, a 5 minute cooldown', () => {
  const config = loadConfig({ file: configFile(''), env: {} });
  expect(config.temporal.address).toBeUndefined();
  expect(config.temporal).toMatchObject({
    namespace: 'default',
    taskQueue: 'finops-soar',
    embedded: { cliPath: 'temporal', host: '127.0.0.1', port: 7233, uiPort: 8233 },
  });
  expect(config.ingress).toMatchObject({ host: '127.0.0.1', port: 8088, maxInFlight: 64, temporalTimeout: 5_000 });
  expect(config.engine.cooldown).toBe(300_000);
});

test('the environment overrides the file', () => {
  const file = configFile('temporal:\n  namespace: from-file\ningress:\n  port: 9000\n');
  const config = loadConfig({
    file,
    env: {
      TEMPORAL_ADDRESS: 'temporal.prod:7233',
      TEMPORAL_NAMESPACE: 'finops',
      FINOPS_SOAR_INGRESS_PORT: '9100',
      FINOPS_SOAR_COOLDOWN: '90s',
    },
  });
  expect(config.temporal.address).toBe('temporal.prod:7233');
  expect(config.temporal.namespace).toBe('finops');
  expect(config.ingress.port).toBe(9100);
  expect(config.engine.cooldown).toBe(90_000);
});

test('FINOPS_SOAR_CONFIG names the file; a missing one is an error', () => {
  const file = configFile('ingress:\n  port: 9001\n');
  expect(loadConfig({ env: { FINOPS_SOAR_CONFIG: file } }).ingress.port).toBe(9001);
  expect(errorOf(() => loadConfig({ env: { FINOPS_SOAR_CONFIG: '/nonexistent.yaml' } }))).toMatch(
    /config file \/nonexistent\.yaml does not exist \(from FINOPS_SOAR_CONFIG\)/,
  );
});

describe('secrets', () => {
  test('read from a file named in YAML, relative to the config file', () => {
    const file = configFile('ingress:\n  tokenFile: ingress-token\n', { 'ingress-token': 'token-from-a-file-0123\n' });
    expect(loadConfig({ file, env: {} }).ingress.token).toBe('token-from-a-file-0123');
  });

  test('precedence: the variable, then its _FILE, then the YAML value, then the YAML file', () => {
    const file = configFile('gateway:\n  token: from-yaml\n  tokenFile: gw\n', {
      gw: 'from-yaml-file',
      'gw-env': 'from-env-file',
    });
    const dir = join(file, '..');
    expect(loadConfig({ file, env: {} }).gateway.token).toBe('from-yaml');
    expect(loadConfig({ file, env: { FINOPS_SOAR_GATEWAY_TOKEN_FILE: join(dir, 'gw-env') } }).gateway.token).toBe(
      'from-env-file',
    );
    expect(
      loadConfig({
        file,
        env: { FINOPS_SOAR_GATEWAY_TOKEN: 'from-env', FINOPS_SOAR_GATEWAY_TOKEN_FILE: join(dir, 'gw-env') },
      }).gateway.token,
    ).toBe('from-env');
    const onlyFile = configFile('gateway:\n  tokenFile: gw\n', { gw: 'from-yaml-file' });
    expect(loadConfig({ file: onlyFile, env: {} }).gateway.token).toBe('from-yaml-file');
  });

  test('an unreadable secret file names its source and the fix', () => {
    expect(
      errorOf(() =>
        loadConfig({ file: configFile(''), env: { FINOPS_SOAR_INGRESS_TOKEN_FILE: '/nonexistent/token' } }),
      ),
    ).toMatch(
      /^environment variable FINOPS_SOAR_INGRESS_TOKEN_FILE: cannot read the secret file \/nonexistent\/token \(ENOENT.*\)\. Fix the path or the file's permissions\.$/,
    );
  });

  test('error messages never contain the secret', () => {
    const message = errorOf(() =>
      loadConfig({ file: configFile(''), env: { FINOPS_SOAR_INGRESS_TOKEN: 'tooshort-secret' } }),
    );
    expect(message).toContain('environment variable FINOPS_SOAR_INGRESS_TOKEN: ingress.token: Too small');
    expect(message).not.toContain('tooshort-secret');
  });
});

describe('errors name the source, the field and the fix', () => {
  test('a bad value from the environment', () => {
    expect(errorOf(() => loadConfig({ file: configFile(''), env: { FINOPS_SOAR_INGRESS_PORT: 'eighty' } }))).toBe(
      'invalid configuration:\n  environment variable FINOPS_SOAR_INGRESS_PORT: ingress.port: Invalid input: expected number, received NaN. Expected: a TCP port (1-65535) for the webhook server',
    );
  });

  test('bad values in the file, all at once', () => {
    const file = configFile('temporal:\n  address: "not an address"\nlog:\n  level: loud\nengine:\n  cooldown: soon\n');
    const message = errorOf(() => loadConfig({ file, env: {} }));
    expect(message).toContain(`${file}: temporal.address: Invalid string: must match pattern`);
    expect(message).toContain('Expected: host:port of an existing Temporal frontend');
    expect(message).toContain(
      `${file}: log.level: Invalid option. Expected: one of fatal, error, warn, info, debug, trace`,
    );
    expect(message).toContain(`${file}: engine.cooldown: "soon" is not a duration`);
  });

  test('an unknown field (a typo) is not silently ignored', () => {
    expect(errorOf(() => loadConfig({ file: configFile('ingres:\n  port: 1\n'), env: {} }))).toMatch(
      /\(top level\): Unrecognized key: "ingres"/,
    );
  });

  test('invalid YAML names the file', () => {
    const file = configFile('ingress: [unclosed\n');
    expect(errorOf(() => loadConfig({ file, env: {} }))).toMatch(new RegExp(`^${file}: invalid YAML:`));
  });
});
