/**
 * One simulator run: draw the seed's configuration, build the cluster, start
 * the workload and the nemesis, run virtual time to the end, check, report.
 *
 * Same seed and same configuration, same run: event for event, and so the
 * same trace hash, in one process or in two.
 */
import { assert, Disk, InvariantViolation, type NodeId } from "@cairn/core"
import { seededSource, type SeededSource } from "@cairn/runtime-test"
import { Effect } from "effect"
import { checkHistory, makeModel, type Fault, type Op } from "@cairn/jepsen"
import { SimCluster, type NodeProgram } from "./cluster.ts"
import { RaftInvariants } from "./raft/invariants.ts"
import { raftKvWorkload, type RaftServers } from "./workload/raft-kv.ts"
import { Nemesis } from "./nemesis.ts"
import { corruptingFaults, drawConfig, faultKinds, type ConfigOverrides, type FaultKind, type SimConfig } from "./swarm.ts"
import { durablePing } from "./workload/durable-ping.ts"
import { objectsWorkload } from "./workload/objects.ts"
import { defaultScheme } from "@cairn/core/object/scheme"
import type { RepairReport } from "@cairn/core/object/repair"

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
  readonly workload: WorkloadName
  readonly stats: WorkloadStats
  /** The client history (raft-kv), for reports and the checker. */
  readonly history: ReadonlyArray<Op>
  /** The faults the nemesis applied, in the Jepsen vocabulary (times in virtual ms, `end` when each really ended). */
  readonly episodes: ReadonlyArray<Fault>
  /** Scheduler steps (fiber tasks and timers) the run took. */
  readonly steps: number
}

export type WorkloadName = "raft-kv" | "objects" | "durable-ping"
export const workloadNames: ReadonlyArray<WorkloadName> = ["raft-kv", "objects", "durable-ping"]

export type PlantedBug = "ack-before-sync" | "commit-previous-term" | "vote-without-log-check" | "gc-without-grace"

export interface RunOptions extends ConfigOverrides {
  /** What the cluster runs (default raft-kv). */
  readonly workload?: WorkloadName | undefined
  /**
   * Test-only: plants a known bug so tests can show the checks catch it.
   * `ack-before-sync` (durable-ping): acknowledge before fsync.
   * `commit-previous-term` (raft-kv): count replicas of an old-term entry toward commit (Raft's Figure 8).
   * `vote-without-log-check` (raft-kv): grant votes without the election restriction.
   */
  readonly plantedBug?: PlantedBug | undefined
  /** Raft's read mode for the raft-kv workload (default read-index). */
  readonly readMode?: "read-index" | "lease" | undefined
}

/** What the run learned besides pass/fail: the workload's own figures. */
export interface WorkloadStats {
  readonly [name: string]: number | string
}

/** The command line that replays a run with these options. */
export const replayCommand = (seed: number, options: RunOptions): string => {
  const parts = [`npx cairn sim --seed ${seed}`]
  if (options.workload !== undefined && options.workload !== "raft-kv") parts.push(`--workload ${options.workload}`)
  if (options.nodes !== undefined) parts.push(`--nodes ${options.nodes}`)
  if (options.durationMs !== undefined) parts.push(`--duration-ms ${options.durationMs}`)
  if (options.only !== undefined) parts.push(`--only ${options.only.join(",") || "none"}`)
  if (options.disable !== undefined && options.disable.length > 0) parts.push(`--disable ${options.disable.join(",")}`)
  if (options.all === true) parts.push("--all-faults")
  if (options.plantedBug !== undefined) parts.push(`--planted-bug ${options.plantedBug}`)
  if (options.readMode === "lease") parts.push("--read-mode lease")
  return parts.join(" ")
}

export const runSeed = (seed: number, options: RunOptions = {}): RunResult => {
  const started = globalThis.performance.now()
  const workload = options.workload ?? "raft-kv"
  const config = drawConfig(seed, options)
  const random = seededSource(`cairn-sim/${seed}`)
  const cluster = new SimCluster({
    random: random.split("cluster"),
    nodes: config.nodes,
    clients: workload === "raft-kv" ? 3 : 0,
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
  const { finish, servers } = workload === "raft-kv"
    ? startRaftKv(cluster, config, options)
    : workload === "objects"
    ? { finish: startObjects(cluster, config, random.split("objects"), options), servers: undefined }
    : { finish: startDurablePing(cluster, config, options), servers: undefined }
  const nemesis = new Nemesis(cluster, config, random.split("nemesis"), servers)
  nemesis.start()

  const endNs = config.durationMs * 1e6
  // A livelock (messages bouncing without end) would never reach the deadline: bound the work per simulated ms.
  const maxSteps = config.durationMs * stepsPerSimulatedMs
  try {
    const outcome = cluster.scheduler.run({ untilNs: endNs, maxSteps })
    if (outcome === "steps") {
      cluster.violation(`livelock: more than ${stepsPerSimulatedMs} scheduler steps per simulated ms (stopped at ${(cluster.scheduler.now / 1e6).toFixed(3)} ms)`)
    }
  } catch (error) {
    // An assert in the simulator itself (not in a node fiber) stops the run too.
    if (error instanceof InvariantViolation) cluster.violation(`invariant: ${error.message}`)
    else throw error
  }
  const { stats, history } = finish()
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
    wallMs: globalThis.performance.now() - started,
    workload,
    stats,
    history,
    episodes: nemesis.episodes,
    steps: cluster.scheduler.stepCount
  }
}

/** Far above any healthy run (under 10); a run past it is spinning. */
const stepsPerSimulatedMs = 250

/** Checks a per-key register history; a violation names the key and where the checker got stuck. Returns the verdict. */
const checkLinearizable = (cluster: SimCluster, history: ReadonlyArray<Op>, what: string): string => {
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

type Finish = () => { readonly stats: WorkloadStats; readonly history: ReadonlyArray<Op> }

/** The Raft KV workload: start servers and clients; at the end check the history and liveness. */
const startRaftKv = (cluster: SimCluster, config: SimConfig, options: RunOptions): { readonly finish: Finish; readonly servers: RaftServers } => {
  const invariants = new RaftInvariants((violation) => cluster.violation(violation))
  const endNs = config.durationMs * 1e6
  const workload = raftKvWorkload({
    voters: cluster.nodeIds,
    keys: 3,
    observer: invariants.observer(),
    now: () => cluster.scheduler.now,
    // Clients stop invoking shortly before the end so their last operations can finish.
    stopAtNs: endNs - Math.min(1e9, ((config.durationMs - config.healAtMs) * 1e6) / 2),
    raft: {
      ...(options.plantedBug === "commit-previous-term" || options.plantedBug === "vote-without-log-check" ? { plantedBug: options.plantedBug } : {}),
      ...(options.readMode === undefined ? {} : { readMode: options.readMode }),
      ...(config.raftMaxBytesPerMessage === undefined ? {} : { maxBytesPerMessage: config.raftMaxBytesPerMessage })
    }
  })
  cluster.start(workload.server)
  cluster.startClients(workload.client)
  const finish: Finish = () => {
    let verdict = "skipped"
    if (cluster.violations.length === 0) {
      const healNs = config.healAtMs * 1e6
      for (const client of cluster.clientIds) {
        if ((workload.lastOk.get(client) ?? -1) < healNs) {
          cluster.violation(`liveness: client ${client} completed no operation in the ${config.durationMs - config.healAtMs} ms after the heal`)
        }
      }
      if (cluster.violations.length > 0) {
        // Each server's Raft state at the end: the first thing to read when liveness fails.
        for (const node of cluster.nodeIds) cluster.event(`state: ${workload.servers.raft(node)?.describe() ?? `${node} not running`}`)
      }
      verdict = checkLinearizable(cluster, workload.history, "client")
    }
    return {
      stats: {
        ok: workload.counts.ok,
        fail: workload.counts.fail,
        info: workload.counts.info,
        elections: invariants.elections,
        ...invariants.coverage(),
        linearizability: verdict
      },
      history: workload.history
    }
  }
  return { finish, servers: workload.servers }
}

/**
 * The object workload: erasure-coded objects, their bytes, linearizability
 * per key, liveness and full redundancy after repair (see workload/objects.ts).
 */
const startObjects = (cluster: SimCluster, config: SimConfig, random: SeededSource, options: RunOptions): Finish => {
  // Shards survive any m losses: disk loss and corruption may hit at most m nodes (the scheme's parity count).
  const parity = defaultScheme(config.nodes).parityShards
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
      for (const problem of workload.archive().problems) cluster.violation(`durability: archive object ${problem}`)
      const repairs = workload.repairs()
      if (repairs === undefined || repairs.length < 2) cluster.violation("redundancy: the repair sweeps after the heal did not complete")
      else {
        const [first, second] = repairs as [RepairReport, RepairReport]
        // Nothing may damage a committed body's shards on a node outside the fault budget.
        const undamaged = [...workload.totals.rebuiltFrom, ...first.rebuiltFrom].filter((node) => !damageable.includes(node as NodeId))
        if (undamaged.length > 0) {
          cluster.violation(`redundancy: repair had to rebuild shards on ${[...new Set(undamaged)].join(", ")}, which no fault could have damaged`)
        }
        if (first.lost.length > 0) cluster.violation(`redundancy: stripes lost within the fault budget: ${first.lost.slice(0, 5).join(", ")}`)
        if (second.shardsRebuilt > 0 || second.lost.length > 0 || second.unavailable.length > 0) {
          cluster.violation(`redundancy: a second repair sweep still rebuilt ${second.shardsRebuilt} shards (lost: ${second.lost.length}, unavailable: ${second.unavailable.length})`)
        }
      }
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
        gcRemoved: workload.totals.gcRemoved,
        archived: workload.archive().written,
        records: repairs?.[0]?.records ?? 0,
        linearizability: verdict
      },
      history: workload.history
    }
  }
}

/** The durable-ping test protocol: start it; at the end check liveness. */
const startDurablePing = (cluster: SimCluster, config: SimConfig, options: RunOptions): Finish => {
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

export type { FaultKind }
