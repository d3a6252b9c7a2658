// The fault matrix's figures: each test file records its cases, and with FINOPS_SOAR_FAULT_REPORT set writes its
// part beside that path and merges every part written so far into it (jest runs files in separate processes, so
// the last file to finish writes the whole summary). docs/faults.md shows a measured summary.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface FaultCase {
  name: string;
  /** Faults injected: processes killed or stopped, servers restarted, wire answers refused, delayed or held. */
  faultsInjected: number;
  alertsSent: number;
  /** Alerts that led to no run, or to a run that did not end rolled back. */
  alertsLost: number;
  /** Changes applied (forward and undo) counted at the servers. */
  effects: number;
  /** Changes applied more than once at the servers. */
  effectsDuplicated: number;
  /** The seed of seeded faults, to reproduce the case. */
  seed?: number;
}

export class FaultReport {
  readonly cases: FaultCase[] = [];

  constructor(private readonly file: string) {}

  record(entry: FaultCase): void {
    this.cases.push(entry);
  }

  write(): void {
    const path = process.env.FINOPS_SOAR_FAULT_REPORT;
    if (!path) return;
    const parts = `${path}.parts`;
    mkdirSync(parts, { recursive: true });
    const part = join(parts, `${basename(this.file)}.json`);
    writeFileSync(`${part}.tmp`, JSON.stringify(this.cases));
    renameSync(`${part}.tmp`, part);
    const cases = readdirSync(parts)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .flatMap((name) =>
        (JSON.parse(readFileSync(join(parts, name), 'utf8')) as FaultCase[]).map((c) => ({
          file: name.replace(/\.json$/, ''),
          ...c,
        })),
      );
    const sum = (field: 'faultsInjected' | 'alertsSent' | 'alertsLost' | 'effects' | 'effectsDuplicated') =>
      cases.reduce((total, c) => total + c[field], 0);
    const summary = {
      faultCasesRun: cases.length,
      faultsInjected: sum('faultsInjected'),
      alertsSent: sum('alertsSent'),
      alertsLost: sum('alertsLost'),
      effects: sum('effects'),
      effectsDuplicated: sum('effectsDuplicated'),
      cases,
    };
    writeFileSync(`${path}.tmp`, `${JSON.stringify(summary, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
  }
}

/** How many of `items` repeat an earlier one (by `key`): a change applied twice counts once here. */
export function duplicates<T>(items: readonly T[], key: (item: T) => string): number {
  const seen = new Set<string>();
  let repeated = 0;
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) repeated += 1;
    seen.add(k);
  }
  return repeated;
}
