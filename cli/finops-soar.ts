#!/usr/bin/env node
// The command line for platform engineers: check playbooks before merging them, and preview what
// an Alertmanager notification would do. Neither command touches Temporal or the gateway.
//   finops-soar validate [--dir playbooks]
//   finops-soar plan <payload.json> [--dir playbooks] [--json]
//   finops-soar schema            (the playbook JSON Schema, for editors)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { webhookPayloadSchema } from '../alerts/alertmanager';
import { routeAlerts, type RoutingDecision } from '../alerts/routing';
import { loadConfig } from '../config/load';
import { loadPlaybooks } from '../playbook/load';
import type { PlannedStep } from '../playbook/plan';
import { playbookSchema } from '../playbook/schema';
import { formatIssues } from '../validation/issues';
import { exitOnStartupError } from '../workers/startup';

const USAGE = `usage:
  finops-soar validate [--dir DIR]                 check every playbook in DIR (default: playbooks.dir)
  finops-soar plan PAYLOAD.json [--dir DIR] [--json]  what an Alertmanager notification would run
  finops-soar schema                                the playbook JSON Schema, for editors`;

/** The playbook format as JSON Schema (draft 2020-12), as written in YAML (durations and matchers as text). */
export const playbookJsonSchema = () => z.toJSONSchema(playbookSchema, { io: 'input', unrepresentable: 'any' });

function describeStep(step: PlannedStep): string {
  const when = step.when ? ' (when …)' : '';
  switch (step.kind) {
    case 'action':
      return `${step.action} ${JSON.stringify(step.params)}${when}`;
    case 'check':
      return `check ${step.check}${when}`;
    case 'notify':
      return `notify ${step.to.join(', ')}: ${step.message}${when}`;
    case 'approval':
      return `approval "${step.summary}", ${step.timeoutMs / 1000}s, on timeout ${step.onTimeout}, on reject ${step.onReject}${when}`;
    case 'warRoom':
      return `war-room ${step.name} with ${step.invite.join(', ')}${when}`;
    case 'waitUntilResolved':
      return `wait until resolved${when}`;
  }
}

function formatPlan(decisions: readonly RoutingDecision[]): string {
  return decisions
    .map((decision) => {
      const { alert } = decision;
      const head = `${alert.labels.alertname ?? '(no alertname)'} ${alert.status} [${alert.fingerprint}]`;
      if (decision.outcome === 'unrouted') return `${head}\n  no playbook matches`;
      if (decision.outcome === 'rejected') return `${head}\n  playbook ${decision.playbook}: cannot run: ${decision.reason}`;
      const { plan, workflowId } = decision;
      const lines = [
        `${head}`,
        `  playbook ${plan.playbook.name} (${plan.playbook.severity}${plan.playbook.dryRun ? ', dry run' : ''}) ${plan.playbook.digest}`,
        `  target   ${plan.target.key}`,
        `  run      ${workflowId}${alert.status === 'resolved' ? ' (a resolution: rolls back after the cooldown)' : ''}`,
        ...plan.steps.map((step, i) => `  ${String(i + 1).padStart(2)}. ${step.id.padEnd(20)} ${describeStep(step)}`),
        `  then     wait until resolved, ${plan.cooldownMs / 1000}s cooldown, roll back in reverse order`,
      ];
      if (plan.escalation) {
        lines.push(`  escalate to ${plan.escalation.plan.playbook.name} if still firing ${plan.escalation.afterMs / 1000}s after the steps:`);
        lines.push(...plan.escalation.plan.steps.map((step, i) => `  ${String(i + 1).padStart(2)}. ${step.id.padEnd(20)} ${describeStep(step)}`));
      }
      return lines.join('\n');
    })
    .join('\n\n');
}

export function main(argv: string[]): number {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { dir: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const [command, file] = positionals;
  const config = command === 'schema' ? undefined : loadConfig();
  const dir = values.dir ?? config?.playbooks.dir ?? 'playbooks';

  switch (command) {
    case 'validate': {
      const playbooks = loadPlaybooks(dir);
      for (const { file: path, spec, digest } of playbooks) console.log(`ok  ${path}  ${spec.name} (${spec.severity}, ${spec.steps.length} steps)  ${digest}`);
      console.log(`${playbooks.length} playbooks valid`);
      return 0;
    }
    case 'plan': {
      if (!file) {
        console.error(USAGE);
        return 2;
      }
      const parsed = webhookPayloadSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) {
        console.error(`${file}: not an Alertmanager webhook payload:\n${formatIssues(parsed.error, webhookPayloadSchema).map((line) => `  ${line}`).join('\n')}`);
        return 1;
      }
      const decisions = routeAlerts(parsed.data.alerts, loadPlaybooks(dir), { cooldownMs: config!.engine.cooldown, dryRun: config!.engine.dryRun });
      console.log(values.json ? JSON.stringify(decisions, null, 2) : formatPlan(decisions));
      return 0;
    }
    case 'schema':
      console.log(JSON.stringify(playbookJsonSchema(), null, 2));
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    exitOnStartupError('finops-soar', error);
  }
}
