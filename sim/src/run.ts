/**
 * One simulator run: draw the seed's configuration, build the cluster, start
 * the workload and the nemesis, run virtual time to the end, check, report.
 *
 * Same seed and same configuration, same run: event for event, and so the
 * same trace hash, in one process or in two.
 */
import { assert, Disk, InvariantViolation, type NodeId } from "@cairn/core"
import { seededSource } from "@cairn/runtime-test"
import { Effect } from "effect"
import { SimCluster, type NodeProgram } from "./cluster.ts"
import { Nemesis } from "./nemesis.ts"
import { corruptingFaults, drawConfig, faultKinds, type ConfigOverrides, type FaultKind, type SimConfig } from "./swarm.ts"
import { durablePing } from "./workload/durable-ping.ts"

export interface RunResult {
  readonly seed: number
  readonly config: SimConfig
  readonly events: number
  readonly simulatedMs: number
  readonly traceHash: string
  /** Fault kind → how often it fired. */
  readonly faults: Record<string, number>
  /** Enabled fault kinds that never fired. */
  readonly silentFaults: ReadonlyArray<string>
  readonly result: "pass" | "fail"
  readonly violations: ReadonlyArray<string>
  /** The last trace events before the end (for a failing run). */
  readonly recentEvents: ReadonlyArray<string>
  /** The one command that replays this run. */
  readonly replay: string
  /** Wall-clock milliseconds the run took (not part of the trace). */
  readonly wallMs: number
}

export interface RunOptions extends ConfigOverrides {
  /** Test-only: plants a bug in the workload so tests can show the checks catch it. */
  readonly plantedBug?: "ack-before-sync" | undefined
}

/** The command line that replays a run with these options. */
export const replayCommand = (seed: number, options: RunOptions): string => {
  const parts = [`npx cairn sim --seed ${seed}`]
  if (options.nodes !== undefined) parts.push(`--nodes ${options.nodes}`)
  if (options.durationMs !== undefined) parts.push(`--duration-ms ${options.durationMs}`)
  if (options.only !== undefined) parts.push(`--only ${options.only.join(",") || "none"}`)
  if (options.disable !== undefined && options.disable.length > 0) parts.push(`--disable ${options.disable.join(",")}`)
  if (options.all === true) parts.push("--all-faults")
  if (options.plantedBug !== undefined) parts.push(`--planted-bug ${options.plantedBug}`)
  return parts.join(" ")
}

export const runSeed = (seed: number, options: RunOptions = {}): RunResult => {
  const started = globalThis.performance.now()
  const config = drawConfig(seed, options)
  const random = seededSource(`cairn-sim/${seed}`)
  const cluster = new SimCluster({
    random: random.split("cluster"),
    nodes: config.nodes,
    network: config.network,
    disk: config.disk,
    clocks: config.clocks
  })
  for (const kind of faultKinds) {
    if (config.faults[kind] !== undefined && !["clock.skew", "clock.drift"].includes(kind)) cluster.faults.enable(kind)
  }
  if (config.faults["process.crash"] !== undefined) {
    cluster.faults.enable("disk.lost-unsynced-write")
    cluster.faults.enable("disk.torn-write")
  }

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
  new Nemesis(cluster, config, random.split("nemesis")).start()

  const endNs = config.durationMs * 1e6
  try {
    cluster.scheduler.run({ untilNs: endNs })
  } catch (error) {
    // An assert in the simulator itself (not in a node fiber) stops the run too.
    if (error instanceof InvariantViolation) cluster.violation(`invariant: ${error.message}`)
    else throw error
  }

  if (cluster.violations.length === 0) {
    const healNs = config.healAtMs * 1e6
    for (const node of cluster.nodeIds) {
      if ((lastAckNs.get(node) ?? -1) < healNs) cluster.violation(`liveness: ${node} acknowledged nothing in the ${config.durationMs - config.healAtMs} ms after the heal`)
      else if (config.nodes > 1 && (lastPongNs.get(node) ?? -1) < healNs) cluster.violation(`liveness: ${node} heard no pong in the ${config.durationMs - config.healAtMs} ms after the heal`)
    }
  }
  const violations = cluster.violations
  return {
    seed,
    config,
    events: cluster.trace.events,
    simulatedMs: cluster.scheduler.now / 1e6,
    traceHash: cluster.trace.hash,
    faults: cluster.faults.snapshot(),
    silentFaults: cluster.faults.silent(),
    result: violations.length === 0 ? "pass" : "fail",
    violations,
    recentEvents: violations.length === 0 ? [] : cluster.trace.recent(),
    replay: replayCommand(seed, options),
    wallMs: globalThis.performance.now() - started
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

export type { FaultKind }
