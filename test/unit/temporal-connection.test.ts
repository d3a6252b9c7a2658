import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../config/config-schema';
import { isEmbedded, temporalConnectionOptions } from '../../temporal/connection';
import { DEV_SERVER_DYNAMIC_CONFIG, devServerArgs } from '../../temporal/dev-server';
import { searchAttributeFlags } from '../../workflows/search-attributes';
import { parse } from 'yaml';

const temporalConfig = (temporal: Record<string, unknown>) => configSchema.parse({ temporal }).temporal;

test('no address: the embedded dev server on its configured host and port', () => {
  const temporal = temporalConfig({ embedded: { port: 17233 } });
  expect(isEmbedded(temporal)).toBe(true);
  expect(temporalConnectionOptions(temporal)).toEqual({ address: '127.0.0.1:17233' });
});

test('an address without TLS settings connects in plain text', () => {
  expect(temporalConnectionOptions(temporalConfig({ address: 'temporal.internal:7233' }))).toEqual({
    address: 'temporal.internal:7233',
  });
});

test('an API key (Temporal Cloud) turns TLS on', () => {
  const options = temporalConnectionOptions(temporalConfig({ address: 'ns.a1b2.tmprl.cloud:7233', apiKey: 'key-123' }));
  expect(options).toEqual({ address: 'ns.a1b2.tmprl.cloud:7233', tls: true, apiKey: 'key-123' });
});

test('mTLS reads the client certificate pair, the CA and the server name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finops-soar-tls-'));
  for (const name of ['client.pem', 'client.key', 'ca.pem']) writeFileSync(join(dir, name), `${name} contents`);
  const options = temporalConnectionOptions(
    temporalConfig({
      address: 'ns.a1b2.tmprl.cloud:7233',
      tls: {
        clientCertPath: join(dir, 'client.pem'),
        clientKeyPath: join(dir, 'client.key'),
        serverCaCertPath: join(dir, 'ca.pem'),
        serverName: 'ns.a1b2.tmprl.cloud',
      },
    }),
  );
  expect(options).toEqual({
    address: 'ns.a1b2.tmprl.cloud:7233',
    tls: {
      clientCertPair: { crt: Buffer.from('client.pem contents'), key: Buffer.from('client.key contents') },
      serverRootCACertificate: Buffer.from('ca.pem contents'),
      serverNameOverride: 'ns.a1b2.tmprl.cloud',
    },
  });
});

test('a client certificate without its key is a configuration error', () => {
  const parsed = configSchema.safeParse({ temporal: { address: 'x:7233', tls: { clientCertPath: '/c.pem' } } });
  expect(parsed.success).toBe(false);
  expect(parsed.error?.issues[0]?.message).toMatch(/clientCertPath and clientKeyPath go together/);
});

test('the dev server keeps its SQLite file in the data folder, with WAL and every search attribute', () => {
  const config = configSchema.parse({ dataDir: '/var/lib/finops-soar' });
  const args = devServerArgs(config);
  expect(args.slice(0, 4)).toEqual(['server', 'start-dev', '--db-filename', '/var/lib/finops-soar/temporal.sqlite']);
  expect(args.join(' ')).toContain('--sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=NORMAL');
  expect(args.join(' ')).toContain('--ip 127.0.0.1 --port 7233 --ui-port 8233 --namespace default');
  const attributes = args.filter((_, i) => args[i - 1] === '--search-attribute');
  expect(attributes).toEqual([
    'FinopsPlaybook=Keyword',
    'FinopsPlaybookDigest=Keyword',
    'FinopsSeverity=Keyword',
    'FinopsTenant=Keyword',
    'FinopsRoute=Keyword',
    'FinopsModel=Keyword',
    'FinopsTarget=Keyword',
    'FinopsState=Keyword',
    'FinopsWaitingFor=Keyword',
    'FinopsWaitPosition=Int',
    'FinopsCapaOwner=Keyword',
    'FinopsCapaDue=Datetime',
  ]);
});

test('docker-compose starts the dev server as npm start does: every search attribute, eager activities', () => {
  const compose = parse(readFileSync(join(__dirname, '../../docker-compose.yml'), 'utf8')) as {
    services: { temporal: { command: string[] } };
  };
  const { command } = compose.services.temporal;
  const values = (flag: string) =>
    command.filter((arg) => arg.startsWith(`${flag}=`)).map((arg) => arg.slice(flag.length + 1));
  expect(values('--search-attribute')).toEqual(searchAttributeFlags());
  expect(values('--dynamic-config-value')).toEqual(DEV_SERVER_DYNAMIC_CONFIG);
  const args = devServerArgs(configSchema.parse({}));
  expect(args.filter((_, i) => args[i - 1] === '--dynamic-config-value')).toEqual([
    'system.enableActivityEagerExecution=true',
  ]);
});
