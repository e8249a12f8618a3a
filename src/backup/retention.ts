/** Placeholder: the forget helper fills this in (restic's --keep-* meaning). */
export interface KeepPolicy {
  readonly last?: number | undefined;
  readonly hourly?: number | undefined;
  readonly daily?: number | undefined;
  readonly weekly?: number | undefined;
  readonly monthly?: number | undefined;
  readonly yearly?: number | undefined;
}

/**
 * Which points a policy keeps, each with the rules that keep it (e.g. ['last', 'daily']).
 * Points not in the map go.
 */
export function keptPoints(points: ReadonlyArray<{ readonly id: string; readonly time: string }>, policy: KeepPolicy): Map<string, string[]> {
  void points;
  void policy;
  return new Map();
}
