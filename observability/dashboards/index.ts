// Every finops-soar dashboard by file name: the generator writes them, the test compares and queries them.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { capacity } from './capacity';
import { egressStorage } from './egress-storage';
import { engine } from './engine';
import { executive } from './executive';
import { llm } from './llm';

export const DASHBOARDS: Record<string, () => Dashboard> = {
  executive,
  llm,
  capacity,
  'egress-storage': egressStorage,
  engine,
};

/** A dashboard as the committed file holds it: two-space JSON and a final newline. */
export const dashboardJson = (dashboard: Dashboard) => `${JSON.stringify(dashboard, null, 2)}\n`;
