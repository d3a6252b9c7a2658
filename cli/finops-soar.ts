#!/usr/bin/env node
// The command line for platform engineers: check playbooks before merging them and preview what an
// Alertmanager notification would do (validate, plan, schema: these touch nothing), and operate
// runs through the ingress's runs API (start, status, resolve, abort, approve, reject).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { renderAlertRules } from '../alert-rules/render-alert-rules';
import { REVIEW_OPTIONS, REVIEW_USAGE, reviewCommand } from '../reviews/review-cli';
import { renderKongRules } from '../alert-rules/render-kong-rules';
import { renderLiteLlmRules } from '../alert-rules/render-litellm-rules';
import { webhookPayloadSchema } from '../alerts/alertmanager';
import { routeAlerts, type RoutingDecision } from '../alerts/routing';
import { loadConfig } from '../config/config-load';
import { budgetAlertRules } from '../finops/budget-rules';
import { loadPlaybooks } from '../playbook/playbook-load';
import type { PlannedStep } from '../playbook/plan';
import { playbookSchema } from '../playbook/playbook-schema';
import { formatIssues } from '../validation/issues';
import { exitOnStartupError } from '../workers/startup';
import { callRunsApi, keyValues, runPath, runsApiTarget } from './runs';
import { CAPA_OPTIONS, CAPA_USAGE, capaCommand } from '../capa/capa-cli';

const USAGE = `usage:
  finops-soar validate [--dir DIR]                 check every playbook in DIR (default: playbooks.dir)
  finops-soar plan PAYLOAD.json [--dir DIR] [--json]  what an Alertmanager notification would run
  finops-soar schema                                the playbook JSON Schema, for editors
${REVIEW_USAGE}
  finops-soar rules [--out DIR]                     write every Prometheus rule file from the config (alerts, finops.budgets,
                                                    and for gateway.kind litellm or kong its metrics' mapping) into DIR
                                                    (default deploy/prometheus/rules)
  finops-soar rules alerts|budgets|litellm|kong     print one of them
  finops-soar start PLAYBOOK --label K=V... --by USER --reason TEXT [--annotation K=V...]
                                                    run a playbook by hand (e.g. war-room)
  finops-soar status RUN_ID                         a run's live status (JSON)
  finops-soar resolve RUN_ID --by USER --reason TEXT  end a run started by hand: rollback after the cooldown
  finops-soar abort RUN_ID --by USER --reason TEXT    stop a run and roll back everything it changed now
  finops-soar approve|reject RUN_ID STEP_ID [--reason TEXT]
                                                    decide a pending approval as the operator whose token
                                                    FINOPS_SOAR_OPERATOR_TOKEN holds (npm start: local-operator)
${CAPA_USAGE}
  start, status, resolve, abort, approve, reject, capas and capa talk to the ingress (--url, default ingress.host:port) with its token.`;

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
    case 'adapt': {
      const levels = step.levels.map(({ above, params }) => `above ${above}: ${JSON.stringify(params)}`).join('; ');
      return `every ${step.everyMs / 1000}s measure ${step.measure.check}.${step.measure.fact} ${JSON.stringify(step.measure.params)} and apply ${step.action} at ${levels}${when}`;
    }
    case 'verify': {
      const expected = step.expect.below === undefined ? `above ${step.expect.above}` : `below ${step.expect.below}`;
      return `verify within ${step.withinMs / 1000}s that ${step.measure.check}.${step.measure.fact} ${JSON.stringify(step.measure.params)} is ${expected}, else go on${when}`;
    }
  }
}

/** What the alert lacks that only text names: the run goes ahead with placeholders, and says so. */
const textGapLines = (gaps: readonly string[] | undefined) =>
  (gaps ?? []).map((gap) => `  note     ${gap}: the text shows a placeholder, the run goes ahead`);

function formatPlan(decisions: readonly RoutingDecision[]): string {
  return decisions
    .map((decision) => {
      const { alert } = decision;
      const head = `${alert.labels.alertname ?? '(no alertname)'} ${alert.status} [${alert.fingerprint}]`;
      if (decision.outcome === 'unrouted') return `${head}\n  no playbook matches`;
      if (decision.outcome === 'rejected')
        return `${head}\n  playbook ${decision.playbook}: cannot run: ${decision.reason}`;
      const { plan, workflowId } = decision;
      const lines = [
        `${head}`,
        `  playbook ${plan.playbook.name} (${plan.playbook.severity}${plan.playbook.dryRun ? ', dry run' : ''}) ${plan.playbook.digest}`,
        `  target   ${plan.target.key}`,
        `  run      ${workflowId}${alert.status === 'resolved' ? ' (a resolution: rolls back after the cooldown)' : ''}`,
        ...plan.steps.map((step, i) => `  ${String(i + 1).padStart(2)}. ${step.id.padEnd(20)} ${describeStep(step)}`),
        `  then     wait until resolved, ${plan.cooldownMs / 1000}s cooldown, roll back in reverse order`,
        ...textGapLines(plan.textGaps),
      ];
      if (plan.escalation) {
        lines.push(
          `  escalate to ${plan.escalation.plan.playbook.name} if still firing ${plan.escalation.afterMs / 1000}s after the steps:`,
        );
        lines.push(
          ...plan.escalation.plan.steps.map(
            (step, i) => `  ${String(i + 1).padStart(2)}. ${step.id.padEnd(20)} ${describeStep(step)}`,
          ),
          ...textGapLines(plan.escalation.plan.textGaps),
        );
      }
      return lines.join('\n');
    })
    .join('\n\n');
}

const OPTIONS = {
  dir: { type: 'string' },
  ...REVIEW_OPTIONS,
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  url: { type: 'string' },
  label: { type: 'string', multiple: true },
  annotation: { type: 'string', multiple: true },
  by: { type: 'string' },
  reason: { type: 'string' },
  ...CAPA_OPTIONS,
} as const;

/** Prints the runs API's answer; a 2xx is success. */
function report({ status, body }: { status: number; body: unknown }): number {
  const ok = status >= 200 && status < 300;
  (ok ? console.log : console.error)(ok ? JSON.stringify(body, null, 2) : `HTTP ${status}: ${JSON.stringify(body)}`);
  return ok ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const [command, file] = positionals;
  const config = command === 'schema' ? undefined : loadConfig();
  const dir = values.dir ?? config?.playbooks.dir ?? 'playbooks';

  switch (command) {
    case 'reviews':
    case 'review':
      return reviewCommand(command, positionals.slice(1), values, config!, USAGE);
    case 'validate': {
      const gateway = config!.gateway.kind;
      const playbooks = loadPlaybooks(dir, { gateway });
      for (const { file: path, spec, digest } of playbooks)
        console.log(`ok  ${path}  ${spec.name} (${spec.severity}, ${spec.steps.length} steps)  ${digest}`);
      console.log(`${playbooks.length} playbooks valid for a ${gateway} gateway (gateway.kind)`);
      return 0;
    }
    case 'plan': {
      if (!file) {
        console.error(USAGE);
        return 2;
      }
      const parsed = webhookPayloadSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) {
        console.error(
          `${file}: not an Alertmanager webhook payload:\n${formatIssues(parsed.error, webhookPayloadSchema)
            .map((line) => `  ${line}`)
            .join('\n')}`,
        );
        return 1;
      }
      const gateway = config!.gateway.kind;
      const decisions = routeAlerts(parsed.data.alerts, loadPlaybooks(dir, { gateway }), {
        cooldownMs: config!.engine.cooldown,
        dryRun: config!.engine.dryRun,
        gateway,
      });
      console.log(values.json ? JSON.stringify(decisions, null, 2) : formatPlan(decisions));
      return 0;
    }
    case 'schema':
      console.log(JSON.stringify(playbookJsonSchema(), null, 2));
      return 0;
    case 'rules': {
      const files = {
        alerts: ['finops-soar.rules.yml', renderAlertRules(config!.alerts)],
        budgets: ['budgets.rules.yml', budgetAlertRules(config!.finops.budgets)],
        // LiteLLM's metrics as the series the rules read: only for a LiteLLM gateway (the simulator exports them).
        litellm: ['litellm.rules.yml', renderLiteLlmRules(config!.gateway.litellm.tiers)],
        // Kong's metrics as the same series, as far as Kong labels them by consumer and route: only for a Kong gateway.
        kong: ['kong.rules.yml', renderKongRules()],
      } as const;
      if (file === 'alerts' || file === 'budgets' || file === 'litellm' || file === 'kong') {
        console.log(files[file][1].trimEnd());
        return 0;
      }
      if (file !== undefined) {
        console.error(`rules takes alerts, budgets, litellm, kong or nothing, not ${file}\n${USAGE}`);
        return 2;
      }
      const out = values.out ?? join('deploy', 'prometheus', 'rules');
      mkdirSync(out, { recursive: true });
      const { kind } = config!.gateway;
      const written = [files.alerts, files.budgets, ...(kind === 'litellm' || kind === 'kong' ? [files[kind]] : [])];
      for (const [name, text] of written) {
        writeFileSync(join(out, name), text);
        console.log(`wrote ${join(out, name)}`);
      }
      return 0;
    }
    case 'start':
    case 'resolve':
    case 'abort': {
      if (!file || !values.by || !values.reason) {
        console.error(
          `${command} needs ${command === 'start' ? 'a PLAYBOOK' : 'a RUN_ID'}, --by USER and --reason TEXT\n${USAGE}`,
        );
        return 2;
      }
      const api = runsApiTarget(config!, values.url);
      const who = { by: values.by, reason: values.reason };
      if (command !== 'start') return report(await callRunsApi(api, 'POST', `${runPath(file)}/${command}`, who));
      const start = {
        playbook: file,
        labels: keyValues('label', values.label),
        annotations: keyValues('annotation', values.annotation),
        startedBy: who.by,
        reason: who.reason,
      };
      return report(await callRunsApi(api, 'POST', '/v1/runs', start));
    }
    case 'approve':
    case 'reject': {
      const stepId = positionals[2];
      if (!file || !stepId) {
        console.error(`${command} needs a RUN_ID and a STEP_ID\n${USAGE}`);
        return 2;
      }
      const decision = {
        stepId,
        approve: command === 'approve',
        ...(values.by && { by: values.by }),
        ...(values.reason && { reason: values.reason }),
      };
      return report(await callRunsApi(runsApiTarget(config!, values.url), 'POST', `${runPath(file)}/decide`, decision));
    }
    case 'capas':
    case 'capa':
      return capaCommand(command, positionals.slice(1), values, config!);
    case 'status':
      if (!file) {
        console.error(USAGE);
        return 2;
      }
      return report(await callRunsApi(runsApiTarget(config!, values.url), 'GET', runPath(file)));
    default:
      console.error(USAGE);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => (process.exitCode = status),
    (error: unknown) => exitOnStartupError('finops-soar', error),
  );
}
