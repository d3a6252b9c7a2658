// The workflows the worker registers (its workflowsPath points here).
export { engineLimits } from './engine-limits';
export { playbookRun } from './playbook-run';
