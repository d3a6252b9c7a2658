// The weekly review's open and overdue CAPAs (issue 18 §4), as capa/capa-query.ts's openCapas answers them.
// The shape is that function's contract (CapaSummary), without its state: every CAPA it lists is open.
import type { CapaSummary } from '../capa/capa-query';

export type CapaSummaryLike = Omit<CapaSummary, 'state'>;

/** One line per CAPA, the overdue ones first, then the oldest. */
export function capaLines(capas: CapaSummaryLike[]): string[] {
  return [...capas]
    .sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.openedAt.localeCompare(b.openedAt))
    .map(
      (capa) =>
        `${capa.overdue ? 'OVERDUE ' : ''}${capa.capaId}: ${capa.title} (${capa.playbook} on ${capa.target}), owner ${capa.owner ?? 'none yet'}, due ${capa.dueAt?.slice(0, 10) ?? 'not set'}, opened ${capa.openedAt.slice(0, 10)}`,
    );
}
