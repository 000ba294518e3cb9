/**
 * One simulator run: draw the seed's configuration, build the cluster, start
 * the workload and the nemesis, run virtual time to the end, check, report.
 *
 * Same seed and same configuration, same run: event for event, and so the
 * same trace hash, in one process or in two. Each workload's start and
 * end-of-run checks live beside it, in `workload/*-oracle.ts`.
 */
import { InvariantViolation } from "@cairn/core"
import { seededSource } from "@cairn/runtime-test"
import type { Fault, Op } from "@cairn/jepsen"
import { SimCluster } from "./cluster.ts"
import { Nemesis } from "./nemesis.ts"
import { drawConfig, faultKinds, type ConfigOverrides, type FaultKind, type SimConfig } from "./swarm.ts"
import { startDurablePing } from "./workload/durable-ping-oracle.ts"
import { startLog } from "./workload/log-oracle.ts"
import { startObjects } from "./workload/objects-oracle.ts"
import type { WorkloadStats } from "./workload/oracle.ts"
import { startRaftKv } from "./workload/raft-kv-oracle.ts"

export type { WorkloadStats } from "./workload/oracle.ts"

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

export type WorkloadName = "raft-kv" | "objects" | "durable-ping" | "log"
export const workloadNames: ReadonlyArray<WorkloadName> = ["raft-kv", "objects", "durable-ping", "log"]

export type PlantedBug =
  | "ack-before-sync"
  | "commit-previous-term"
  | "vote-without-log-check"
  | "gc-without-grace"
  | "log-ack-before-commit"
  | "log-read-above-hw"
  | "log-forget-producer-seq"

/** Every planted bug (the CLI's choices). */
export const plantedBugs: ReadonlyArray<PlantedBug> = [
  "ack-before-sync",
  "commit-previous-term",
  "vote-without-log-check",
  "gc-without-grace",
  "log-ack-before-commit",
  "log-read-above-hw",
  "log-forget-producer-seq"
]

export interface RunOptions extends ConfigOverrides {
  /** What the cluster runs (default raft-kv). */
  readonly workload?: WorkloadName | undefined
  /**
   * Test-only: plants a known bug so tests can show the checks catch it.
   * `ack-before-sync` (durable-ping): acknowledge before fsync.
   * `commit-previous-term` (raft-kv): count replicas of an old-term entry toward commit (Raft's Figure 8).
   * `vote-without-log-check` (raft-kv): grant votes without the election restriction.
   * `log-ack-before-commit` (log): answer appends before a quorum has them, with guessed offsets.
   * `log-read-above-hw` (log): serve reads above the high watermark (a replica's own unapplied proposals).
   * `log-forget-producer-seq` (log): partition snapshots leave out the idempotent producers' sequences.
   */
  readonly plantedBug?: PlantedBug | undefined
  /** Raft's read mode for the raft-kv workload (default read-index). */
  readonly readMode?: "read-index" | "lease" | undefined
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
    clients: workload === "raft-kv" || workload === "log" ? 3 : 0,
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
    : workload === "log"
    ? { finish: startLog(cluster, config, options), servers: undefined }
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

export type { FaultKind }
