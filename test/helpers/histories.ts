// Recorded histories guard determinism: `npm run histories:record` re-records them from the
// workflow tests; the replay test replays every file in test/histories/ against today's code.
// The files are what `temporal workflow show --output json` prints, the format replay reads.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporalCliPath } from './temporal';

export const HISTORIES_DIR = join(__dirname, '..', 'histories');

export function recordHistoryIfAsked(address: string, handle: WorkflowHandle, name: string): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = execFileSync(
    temporalCliPath(),
    ['workflow', 'show', '--address', address, '--workflow-id', handle.workflowId, '--output', 'json'],
    { encoding: 'utf8' },
  );
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), history);
}
