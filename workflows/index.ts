// The workflows the worker registers (its workflowsPath points here).
export { budgetWatch } from './budget-watch';
export { lifecycleReview, weeklyReview } from '../reviews/review-workflows';
export { engineLimits } from './engine-limits';
export { playbookRun } from './playbook-run/playbook-run';
export { limitShard } from './limits/limit-shard';
export { admissionWaitlist } from './limits/admission-waitlist';
export { capa } from './capa/capa';
