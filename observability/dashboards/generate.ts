// `npm run dashboards`: writes every dashboard to deploy/grafana/dashboards/<name>.json, where Grafana's file
// provisioning loads them. Never edit the JSON: change observability/dashboards/ and run this again.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DASHBOARDS, dashboardJson } from './index';

/** From dist/observability/dashboards or observability/dashboards: the repository root is where package.json is. */
const ROOT = resolve(__dirname, __dirname.includes(`${join('dist', 'observability')}`) ? '../../..' : '../..');
export const DASHBOARD_DIR = join(ROOT, 'deploy', 'grafana', 'dashboards');

if (require.main === module) {
  mkdirSync(DASHBOARD_DIR, { recursive: true });
  for (const [name, build] of Object.entries(DASHBOARDS)) {
    const file = join(DASHBOARD_DIR, `${name}.json`);
    writeFileSync(file, dashboardJson(build()));
    console.log(`wrote ${file}`);
  }
}
