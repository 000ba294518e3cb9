/**
 * The log workload's run and its end-of-run checks (see workload/log.ts):
 * the log checker over the whole history (no acknowledged record lost, no
 * offset holding two records, no gaps, no duplicates, no unexpected records,
 * per-producer order), consumer group offsets never read back lower than
 * committed, and liveness: every client completes operations after the heal.
 */
import type { ReplicaPlantedBug } from "@cairn/core/log/replication/planted-bugs"
import { checkLog } from "@cairn/jepsen"
import type { SimCluster } from "../cluster.ts"
import type { RunOptions } from "../run.ts"
import type { SimConfig } from "../swarm.ts"
import { logWorkload } from "./log.ts"
import type { Finish } from "./oracle.ts"

/** Reports every problem the log checker and the workload found as a violation; returns the checker's verdict. */
export const reportLogProblems = (cluster: SimCluster, workload: ReturnType<typeof logWorkload>, healNs: number): string => {
  const result = checkLog({ sends: workload.sends, polls: workload.polls, final: workload.final })
  const groups: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["lost acknowledged record", result.lost],
    ["inconsistent offset", result.inconsistent],
    ["read record vanished", result.vanished],
    ["gap or misordered poll", result.gaps],
    ["duplicate", result.duplicated],
    ["duplicate from an idempotent producer", result.idempotentDuplicates],
    ["unexpected record", result.unexpected],
    ["producer order", result.reordered],
    ["consumer offset went backwards", workload.offsetRegressions],
    ["workload", workload.problems],
    // Its acknowledged records are unchecked, not lost: the seed still fails, saying what went wrong.
    ["final read never completed", result.unread.map((partition) => `${partition} (its acknowledged records are unchecked)`)]
  ]
  for (const [what, problems] of groups) for (const p of problems.slice(0, 3)) cluster.violation(`log: ${what}: ${p}`)
  for (const client of cluster.clientIds) {
    if ((workload.lastOk.get(client) ?? -1) < healNs) cluster.violation(`liveness: log client ${client} completed no operation after the heal`)
  }
  return result.verdict
}

/** The replica's planted bug a `log-…` planted bug names. */
const logPlantedBug = (bug: RunOptions["plantedBug"]): ReplicaPlantedBug | undefined =>
  bug === "log-ack-before-commit" ? "ack-before-commit" : bug === "log-read-above-hw" ? "read-above-hw" : bug === "log-forget-producer-seq" ? "forget-producer-seq" : undefined

export const startLog = (cluster: SimCluster, config: SimConfig, options: RunOptions): Finish => {
  const healNs = config.healAtMs * 1e6
  const after = (config.durationMs - config.healAtMs) * 1e6
  const workload = logWorkload({
    voters: cluster.nodeIds,
    partitions: 3,
    now: () => cluster.scheduler.now,
    report: (violation) => cluster.violation(violation),
    stopAtNs: healNs + after * 0.6,
    finalAtNs: healNs + after * 0.7,
    ...(logPlantedBug(options.plantedBug) === undefined ? {} : { plantedBug: logPlantedBug(options.plantedBug)! })
  })
  cluster.start(workload.server)
  cluster.startClients(workload.client)
  return () => {
    const verdict = cluster.violations.length === 0 ? reportLogProblems(cluster, workload, healNs) : "skipped"
    return {
      stats: { ...workload.counts, ...workload.snapshots(), finalRecords: [...workload.final.values()].reduce((n, p) => n + p.records.length, 0), log: verdict },
      history: []
    }
  }
}
