/**
 * What every workload's end-of-run check shares: the figures it reports and
 * the linearizability check of a per-key history.
 */
import { checkHistory, makeModel, type Op } from "@cairn/jepsen"
import type { SimCluster } from "../cluster.ts"

/** What the run learned besides pass/fail: the workload's own figures. */
export interface WorkloadStats {
  readonly [name: string]: number | string
}

/** Runs a workload's checks at the end of a run; returns its figures and its client history. */
export type Finish = () => { readonly stats: WorkloadStats; readonly history: ReadonlyArray<Op> }

/** Checks a per-key register history; a violation names the key and where the checker got stuck. Returns the verdict. */
export const checkLinearizable = (cluster: SimCluster, history: ReadonlyArray<Op>, what: string): string => {
  const check = checkHistory(makeModel("kv"), history, { maxSteps: 5_000_000 })
  if (check.verdict === "invalid") {
    const ce = check.counterexample
    cluster.violation(
      `linearizability: the ${what} history is not linearizable (key ${String(ce?.partition)}; stuck after ${ce?.linearized.length ?? 0} ops at state ${ce?.state ?? "?"}; ` +
        `could not place: ${ce?.blocked?.description ?? "?"})`
    )
  }
  return check.verdict
}
