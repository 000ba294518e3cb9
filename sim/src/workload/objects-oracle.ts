/**
 * The objects workload's run and its end-of-run checks: integrity of every
 * body read, liveness after the heal, durability of the archive, full
 * redundancy after the repair sweeps, linearizability per key.
 */
import type { NodeId } from "@cairn/core"
import { bodyIdOfShard } from "@cairn/core/object/object-data"
import type { LostStripe, RepairReport } from "@cairn/core/object/repair"
import { defaultScheme } from "@cairn/core/object/scheme"
import type { SeededSource } from "@cairn/runtime-test"
import type { SimCluster } from "../cluster.ts"
import type { RunOptions } from "../run.ts"
import type { SimConfig } from "../swarm.ts"
import { objectsWorkload } from "./objects.ts"
import { checkLinearizable, type Finish } from "./oracle.ts"

/**
 * The object workload: erasure-coded objects, their bytes, linearizability
 * per key, liveness and full redundancy after repair (see workload/objects.ts).
 */
export const startObjects = (cluster: SimCluster, config: SimConfig, random: SeededSource, options: RunOptions): Finish => {
  // Half the seeds of four nodes or more add the last node to the members at a drawn time (from a stream
  // of its own, so that the other seeds draw, and run, exactly as before node additions existed).
  const growth = random.split("grow")
  const grows = config.nodes >= 4 && growth.chance(0.5)
  const growAtNs = growth.intBetween(Math.floor(config.healAtMs * 0.1), Math.floor(config.healAtMs * 0.6)) * 1e6
  const joining = cluster.nodeIds[cluster.nodeIds.length - 1]!
  // Shards survive any m losses: disk loss and corruption may hit at most m nodes (the scheme's parity count).
  // With a node to add, the scheme may be chosen before it joins: the smaller member count's m.
  const parity = defaultScheme(grows ? config.nodes - 1 : config.nodes).parityShards
  const damageable = cluster.nodeIds.slice(0, parity)
  // Most seeds lose 1..m shard disks once, at a drawn time before the heal.
  const lost = random.chance(0.75) ? damageable.slice(0, random.intBetween(1, parity)) : []
  const lossAtNs = random.intBetween(Math.floor(config.healAtMs * 0.2), Math.floor(config.healAtMs * 0.8)) * 1e6
  for (const node of cluster.nodeIds.slice(parity)) {
    const disk = cluster.disk(node)
    disk.config = { ...disk.config, readErrorRate: 0, latentSectorRate: 0, bitRotRate: 0, misdirectedWriteRate: 0 }
  }
  const workload = objectsWorkload({
    voters: cluster.nodeIds,
    keys: 6,
    now: () => cluster.scheduler.now,
    // After the heal: clients work (liveness), stop, then the repair sweeps run on a quiet cluster.
    stopAtNs: (config.healAtMs + (config.durationMs - config.healAtMs) * 0.4) * 1e6,
    repairAtNs: (config.healAtMs + (config.durationMs - config.healAtMs) * 0.5) * 1e6,
    diskLoss: lost.length === 0 ? undefined : { atNs: lossAtNs, nodes: lost },
    ...(options.plantedBug === "gc-without-grace" ? { plantedBug: options.plantedBug } : {}),
    grow: grows ? { atNs: growAtNs, node: joining } : undefined,
    fired: (kind) => cluster.faults.fired(kind)
  })
  cluster.start(workload.server)
  return () => {
    let verdict = "skipped"
    for (const read of workload.corruptReads.slice(0, 5)) cluster.violation(`integrity: ${read}`)
    if (cluster.violations.length === 0) {
      const healNs = config.healAtMs * 1e6
      for (const node of cluster.nodeIds) {
        if ((workload.lastOk.get(node) ?? -1) < healNs) {
          cluster.violation(`liveness: the client on ${node} completed no object operation in the ${config.durationMs - config.healAtMs} ms after the heal`)
        }
      }
      const repairs = workload.repairs()
      // Stripes a degraded write left short, then lost to damage on fault-budget nodes only: the promise
      // for them was m − j further losses (j shards missing), and the faults took more (see ADR 0012).
      const explained = new Set((repairs?.[0]?.lostDetail ?? []).filter((l) => explainedLoss(l, damageable)).map((l) => l.stripe))
      const explainedBodies = new Set([...explained].map(bodyIdOfShard))
      for (const problem of workload.archive().problems) {
        if (problem.unreadable && problem.bodies.some((id) => explainedBodies.has(id))) continue
        cluster.violation(`durability: archive object ${problem.message}`)
      }
      if (repairs === undefined || repairs.length < 2) cluster.violation("redundancy: the repair sweeps after the heal did not complete")
      else {
        const [first, second] = repairs as [RepairReport, RepairReport]
        // Nothing may damage a committed body's shards on a node outside the fault budget.
        const undamaged = [...workload.totals.rebuiltFrom, ...first.rebuiltFrom].filter((node) => !damageable.includes(node as NodeId))
        if (undamaged.length > 0) {
          cluster.violation(`redundancy: repair had to rebuild shards on ${[...new Set(undamaged)].join(", ")}, which no fault could have damaged`)
        }
        const lost = first.lost.filter((stripe) => !explained.has(stripe))
        if (lost.length > 0) cluster.violation(`redundancy: stripes lost within the fault budget: ${lost.slice(0, 5).join(", ")}`)
        const stillLost = second.lost.filter((stripe) => !explained.has(stripe))
        if (second.shardsRebuilt > 0 || stillLost.length > 0 || second.unavailable.length > 0) {
          cluster.violation(`redundancy: a second repair sweep still rebuilt ${second.shardsRebuilt} shards (lost: ${stillLost.length}, unavailable: ${second.unavailable.length})`)
        }
      }
      const missed = workload.missedByPasses()
      if (missed !== undefined && missed > 0) {
        cluster.violation(`rebalance: ${missed} shards misplaced in records the last background pass must have seen (acknowledged before it began, or placed before the join)`)
      }
      const misplaced = workload.misplacedAtEnd()
      if (grows && (misplaced === undefined || missed === undefined)) cluster.violation("rebalance: the final rebalance pass did not complete")
      else if (misplaced !== undefined && misplaced > 0) cluster.violation(`rebalance: ${misplaced} shards still misplaced after the final rebalance pass`)
      verdict = checkLinearizable(cluster, workload.history, "object")
    }
    const repairs = workload.repairs()
    return {
      stats: {
        ok: workload.counts.ok,
        fail: workload.counts.fail,
        info: workload.counts.info,
        shardsWiped: workload.totals.shardsWiped,
        shardsRebuilt: workload.totals.shardsRebuilt + (repairs?.[0]?.shardsRebuilt ?? 0),
        // Shards a degraded write left missing that repair later found in place or wrote.
        missingWritten: workload.totals.missingWritten + (repairs?.[0]?.marksCleared ?? 0),
        gcRemoved: workload.totals.gcRemoved,
        ...(grows ? { rebalanced: workload.totals.rebalanced } : {}),
        archived: workload.archive().written,
        degradedLost: (repairs?.[0]?.lostDetail ?? []).filter((l) => explainedLoss(l, damageable)).length,
        records: repairs?.[0]?.records ?? 0,
        linearizability: verdict
      },
      history: workload.history
    }
  }
}

/**
 * Whether losing `stripe` is within what Cairn promises: it was written
 * degraded (shards missing from the start), and every other shard it lost
 * was on a node the fault budget may damage.
 */
export const explainedLoss = (stripe: LostStripe, damageable: ReadonlyArray<NodeId>): boolean =>
  stripe.missingAtWrite.length > 0 && stripe.bad.every((node) => damageable.includes(node as NodeId))
