// Replays every recorded history in test/histories/ against today's workflow code: a change that
// would break running workflows (non-determinism) fails here. Re-record with `npm run histories:record`
// only for a deliberate, versioned change (patched()).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '../helpers/histories';
import { workflowBundle } from '../helpers/temporal';

const files = readdirSync(HISTORIES_DIR).filter((name) => name.endsWith('.json'));

test('recorded histories are present', () => {
  expect(files).toEqual(
    expect.arrayContaining([
      'playbook-run-resolved.json',
      'playbook-run-refire-cancel.json',
      'playbook-run-step-failed.json',
      'playbook-run-approved.json',
      'playbook-run-aborted.json',
      'playbook-run-escalated.json',
      'adapt.json',
      'cost-s2.json',
      'cost-s2-escalated.json',
      'cost-s1.json',
      'capacity-s2.json',
      'capacity-s2-escalated.json',
      'capacity-s1.json',
      'storage-egress.json',
      'war-room.json',
      'slack-four-eyes.json',
      'slack-war-room.json',
      // Recorded before approvals were posted and war-rooms kept current (patched()).
      'cost-s2.before-approval-messages.json',
      'capacity-s1.before-approval-messages.json',
      'war-room.before-approval-messages.json',
      'engine-limits.json',
      // The limits since issue 14: a shard, the waitlist, and a run that waited for its slot.
      'limit-shard.json',
      'admission-waitlist.json',
      'limits-waited.json',
      'limits-first-change.json',
      // Staged rollback: five stages; a breach, holds and a re-fire; the target's next run, a flap.
      'capacity-s2-staged.json',
      'capacity-s2-staged-held.json',
      'capacity-s2-flap.json',
      // Capacity runs' GPU cost, sampled around each stage; the verify step before traffic moves (both ways).
      'capacity-s2-costed.json',
      'capacity-s2-gpus-cooled.json',
      // cost-s2's verify step: the cheaper requests brought the burn under the budget's pace.
      'cost-s2-burn-eased.json',
      'savings-attributed.json',
      'verify-moved.json',
      'verify-escalated.json',
      'policy-opa.json',
      'policy-tier.json',
      'cost-s2-policy-tier.json',
      'cost-s1-policy-tier.json',
      'budget-watch.json',
      'budget-watch-retry.json',
      'lost-resolution-unreachable.json',
      // A cost run that opened a CAPA (patched: capa-for-cost-runs), and the CAPA: reminded, refused, filled, closed.
      'capa-cost-run.json',
      'capa.json',
    ]),
  );
});

test.each(files)('%s replays without non-determinism', async (file) => {
  const history: unknown = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'));
  await expect(
    Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file),
  ).resolves.toBeUndefined();
});
