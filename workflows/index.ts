// The workflows the worker registers (its workflowsPath points here).
export { playbookRun } from './playbook-run';
