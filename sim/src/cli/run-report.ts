/** The HTML report of one simulator run: the Jepsen report with the run's faults and replay command. */
import { checkHistory, makeModel, toIntervals } from "@cairn/jepsen"
import { writeReport } from "@cairn/jepsen/report/write"
import type { RunResult } from "../run.ts"

export const writeRunReport = (dir: string, result: RunResult): string => {
  const check = result.history.length > 0 ? checkHistory(makeModel("kv"), result.history, { maxSteps: 5_000_000 }) : undefined
  return writeReport(dir, {
    title: `cairn sim seed ${result.seed} (${result.workload}): ${result.result}`,
    history: result.history,
    verdicts: [
      ...(check === undefined ? [] : [{ checker: "linearizability (kv, per key)", verdict: check.verdict, detail: `${check.operations} operations` }]),
      {
        checker: "simulator invariants",
        verdict: result.violations.length === 0 ? ("valid" as const) : ("invalid" as const),
        detail: result.violations.join("; ") || "election safety, state machine safety, leader completeness, liveness"
      }
    ],
    counterexample: check?.counterexample,
    // The history's times are virtual nanoseconds; faults are in the vocabulary's milliseconds.
    faults: toIntervals(result.episodes).map((f) => ({ ...f, start: Math.round(f.start * 1e6), end: Math.round(f.end * 1e6) })),
    reproduce: result.replay
  })
}
