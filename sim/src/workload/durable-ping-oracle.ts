/**
 * The durable-ping workload's run: its oracle checks every acknowledged
 * record survives (or is reported damaged under a corrupting fault), and at
 * the end liveness after the heal. Also the planted ack-before-sync bug.
 */
import { assert, Disk, type NodeId } from "@cairn/core"
import { Effect } from "effect"
import type { NodeProgram, SimCluster } from "../cluster.ts"
import type { RunOptions } from "../run.ts"
import { corruptingFaults, type SimConfig } from "../swarm.ts"
import { durablePing } from "./durable-ping.ts"
import type { Finish } from "./oracle.ts"

/** The durable-ping test protocol: start it; at the end check liveness. */
export const startDurablePing = (cluster: SimCluster, config: SimConfig, options: RunOptions): Finish => {
  const corrupting = corruptingFaults.some((kind) => config.faults[kind] !== undefined)
  const acked = new Map<NodeId, number>()
  const lastAckNs = new Map<NodeId, number>()
  const lastPongNs = new Map<NodeId, number>()
  const oracle = {
    acknowledged: (node: NodeId, seq: number) => {
      if (options.plantedBug === undefined) assert(seq > (acked.get(node) ?? 0), `${node} acknowledged ${seq} twice`)
      acked.set(node, Math.max(seq, acked.get(node) ?? 0))
      lastAckNs.set(node, cluster.scheduler.now)
    },
    recovered: (node: NodeId, seq: number, damage: "none" | "torn" | "checksum" | "read-error") => {
      const promised = acked.get(node) ?? 0
      if (seq < promised) {
        if (corrupting && damage !== "none") {
          cluster.faults.fired("detected.corruption")
        } else {
          cluster.violation(`durability: ${node} recovered ${seq} records but ${promised} were acknowledged as durable (stopped: ${damage})`)
        }
      }
      acked.set(node, seq)
    },
    pong: (node: NodeId) => {
      lastPongNs.set(node, cluster.scheduler.now)
    },
    scrubbed: (node: NodeId, seq: number, outcome: "intact" | "checksum" | "read-error") => {
      if (outcome === "intact") return
      if (!corrupting) cluster.violation(`integrity: ${node} record ${seq} was acknowledged but reads back damaged (${outcome}) with no corrupting fault enabled`)
      else cluster.faults.fired("detected.corruption")
    }
  }
  const workload = durablePing(oracle, cluster.nodeIds)
  cluster.start(options.plantedBug === "ack-before-sync" ? plantAckBeforeSync(workload) : workload)
  return () => {
    if (cluster.violations.length === 0) {
      const healNs = config.healAtMs * 1e6
      for (const node of cluster.nodeIds) {
        if ((lastAckNs.get(node) ?? -1) < healNs) cluster.violation(`liveness: ${node} acknowledged nothing in the ${config.durationMs - config.healAtMs} ms after the heal`)
        else if (config.nodes > 1 && (lastPongNs.get(node) ?? -1) < healNs) cluster.violation(`liveness: ${node} heard no pong in the ${config.durationMs - config.healAtMs} ms after the heal`)
      }
    }
    return { stats: {}, history: [] }
  }
}

/**
 * The planted bug: acknowledge a record before its sync. A crash can then
 * lose an acknowledged record, which the durability check must catch.
 */
const plantAckBeforeSync = (program: NodeProgram): NodeProgram => (node) =>
  Effect.updateService(program(node), Disk, (disk) => ({
    ...disk,
    open: (path, mode) =>
      Effect.map(disk.open(path, mode), (file) => ({ ...file, sync: Effect.void }))
  }))
