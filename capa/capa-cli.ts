// `finops-soar capas` and `finops-soar capa show|fill|close`: the CAPA API (ingress/capa-api.ts) from a terminal, as
// the operator whose token FINOPS_SOAR_OPERATOR_TOKEN holds.
import type { Config } from '../config/config-schema';
import { callRunsApi, runsApiTarget } from '../cli/runs';

export const CAPA_USAGE = `  finops-soar capas [--state open|closed|all] [--owner USER] [--overdue]
                                                    the CAPAs (default: the open ones)
  finops-soar capa show CAPA_ID                     one CAPA, whole (JSON)
  finops-soar capa fill CAPA_ID [--root-cause T] [--corrective T] [--preventive T] [--owner USER] [--due YYYY-MM-DD]
  finops-soar capa close CAPA_ID [--note TEXT]      close it once every field is filled (closers only)`;

export const CAPA_OPTIONS = {
  state: { type: 'string' },
  owner: { type: 'string' },
  overdue: { type: 'boolean', default: false },
  'root-cause': { type: 'string' },
  corrective: { type: 'string' },
  preventive: { type: 'string' },
  due: { type: 'string' },
  note: { type: 'string' },
} as const;

export interface CapaCliValues {
  url?: string | undefined;
  state?: string | undefined;
  owner?: string | undefined;
  overdue?: boolean | undefined;
  'root-cause'?: string | undefined;
  corrective?: string | undefined;
  preventive?: string | undefined;
  due?: string | undefined;
  note?: string | undefined;
}

export const capaPath = (capaId: string) => `/v1/capas/${encodeURIComponent(capaId)}`;

/** Prints the API's answer: JSON on success, the error on stderr. Answers the exit status. */
function report({ status, body }: { status: number; body: unknown }): number {
  const ok = status >= 200 && status < 300;
  (ok ? console.log : console.error)(ok ? JSON.stringify(body, null, 2) : `HTTP ${status}: ${JSON.stringify(body)}`);
  return ok ? 0 : 1;
}

export async function capaCommand(command: string, positionals: string[], values: CapaCliValues, config: Config) {
  const api = () => runsApiTarget(config, values.url);
  if (command === 'capas') {
    const query = new URLSearchParams({
      state: values.state ?? 'open',
      ...(values.owner && { owner: values.owner }),
      ...(values.overdue && { overdue: 'true' }),
    });
    return report(await callRunsApi(api(), 'GET', `/v1/capas?${query.toString()}`));
  }
  const [verb, capaId] = positionals;
  if (!capaId || (verb !== 'show' && verb !== 'fill' && verb !== 'close')) {
    console.error(`capa takes show, fill or close and a CAPA_ID\n${CAPA_USAGE}`);
    return 2;
  }
  if (verb === 'show') return report(await callRunsApi(api(), 'GET', capaPath(capaId)));
  if (verb === 'close')
    return report(
      await callRunsApi(api(), 'POST', `${capaPath(capaId)}/close`, values.note ? { note: values.note } : {}),
    );
  const fields = {
    ...(values['root-cause'] && { rootCause: values['root-cause'] }),
    ...(values.corrective && { correctiveAction: values.corrective }),
    ...(values.preventive && { preventiveAction: values.preventive }),
    ...(values.owner && { owner: values.owner }),
    ...(values.due && { dueDate: values.due }),
  };
  if (Object.keys(fields).length === 0) {
    console.error(
      `capa fill needs at least one of --root-cause, --corrective, --preventive, --owner, --due\n${CAPA_USAGE}`,
    );
    return 2;
  }
  return report(await callRunsApi(api(), 'POST', `${capaPath(capaId)}/fill`, fields));
}
