/**
 * Swarm testing: each seed draws which fault kinds are on, at what intensity,
 * and the cluster size. Different seeds explore different corners (a run with
 * only bit rot finds different bugs from one with every fault at once), and the
 * run prints the whole drawn configuration so that a failure can be read.
 */
import { assert } from "@cairn/core"
import { seededSource } from "@cairn/runtime-test"
import type { ClockConfig } from "./clock.ts"
import { faultFreeDisk, type DiskFaultConfig } from "./disk.ts"
import { faultFreeNetwork, type NetworkFaultConfig } from "./network.ts"

export const faultKinds = [
  "net.drop",
  "net.duplicate",
  "net.reorder",
  "net.link-overflow",
  "net.partition",
  "net.clog",
  "net.flapping",
  "process.crash",
  "process.pause",
  "clock.skew",
  "clock.drift",
  "clock.jump",
  "disk.read-error",
  "disk.write-error",
  "disk.fsync-failure",
  "disk.latent-sector",
  "disk.bit-rot",
  "disk.misdirected-write",
  "disk.full",
  "disk.slow",
  "membership"
] as const
export type FaultKind = (typeof faultKinds)[number]

/**
 * Kinds added after the first twenty draw after the clocks, so that adding
 * one leaves every older seed's configuration as it was.
 */
const lateKinds: ReadonlyArray<FaultKind> = ["membership"]

/** Kinds only a Raft workload can exercise: other workloads leave them off. */
export const raftOnlyFaults: ReadonlyArray<FaultKind> = ["membership"]

/** Disk faults that damage stored bytes: the engine must detect them, not survive them unharmed. */
export const corruptingFaults: ReadonlyArray<FaultKind> = [
  "disk.read-error",
  "disk.latent-sector",
  "disk.bit-rot",
  "disk.misdirected-write"
]

export interface SimConfig {
  readonly seed: number
  readonly nodes: number
  /** Total simulated time. */
  readonly durationMs: number
  /** When every fault stops and the cluster is healed; the rest checks liveness. */
  readonly healAtMs: number
  /** Enabled fault kinds and their intensity in (0, 1]. */
  readonly faults: Partial<Record<FaultKind, number>>
  readonly network: NetworkFaultConfig
  readonly disk: DiskFaultConfig
  readonly clocks: ReadonlyArray<ClockConfig>
  /** Mean virtual time between nemesis episodes. */
  readonly nemesisMeanGapMs: number
  /**
   * Raft's byte limit per append (undefined: the default, 1 MiB). Small limits make every append
   * one or two entries, so repair, backtracking and flow control run entry by entry.
   */
  readonly raftMaxBytesPerMessage: number | undefined
}

/** The byte limits a quarter of raft-kv seeds run with: one entry per append, or a few. */
const smallRaftMessageLimits = [1, 256] as const

export interface ConfigOverrides {
  readonly nodes?: number | undefined
  readonly durationMs?: number | undefined
  /** Only these kinds may be enabled (each still drawn); `[]` for a fault-free run. */
  readonly only?: ReadonlyArray<FaultKind> | undefined
  /** These kinds are off. */
  readonly disable?: ReadonlyArray<FaultKind> | undefined
  /** Every kind in `only` (or every kind) on, none left to chance. */
  readonly all?: boolean | undefined
  /** The workload (default raft-kv); kinds it cannot exercise stay off. */
  readonly workload?: "raft-kv" | "objects" | "durable-ping" | "log" | undefined
}

/** Draws the configuration of seed `seed`. Pure: the same inputs give the same config. */
export const drawConfig = (seed: number, overrides: ConfigOverrides = {}): SimConfig => {
  assert(Number.isSafeInteger(seed) && seed >= 0, `seed must be a non-negative integer, got ${seed}`)
  const random = seededSource(`cairn-sim/${seed}`).split("config")
  const nodes = overrides.nodes ?? random.intBetween(3, 5)
  const durationMs = overrides.durationMs ?? 20_000
  assert(nodes >= 1 && nodes <= 64, "nodes must be in 1..64")
  assert(durationMs >= 1_000, "duration must be at least 1 s of simulated time")
  // Membership changes need the raft-kv workload's operator handles.
  const raft = (overrides.workload ?? "raft-kv") === "raft-kv"
  const candidates = faultKinds.filter(
    (kind) =>
      (overrides.only === undefined || overrides.only.includes(kind)) &&
      !(overrides.disable ?? []).includes(kind) &&
      (raft || !raftOnlyFaults.includes(kind))
  )
  const faults: Partial<Record<FaultKind, number>> = {}
  const drawKind = (kind: FaultKind) => {
    // Draw for every kind, allowed or not, so filters never shift the other draws.
    const on = random.chance(0.5)
    const intensity = 0.1 + 0.9 * random.float()
    if (candidates.includes(kind) && (overrides.all === true || on)) faults[kind] = Math.round(intensity * 1000) / 1000
  }
  for (const kind of faultKinds) if (!lateKinds.includes(kind)) drawKind(kind)
  const level = (kind: FaultKind) => faults[kind] ?? 0
  const network: NetworkFaultConfig = {
    latencyNs: faultFreeNetwork.latencyNs,
    dropRate: 0.2 * level("net.drop"),
    duplicateRate: 0.1 * level("net.duplicate"),
    reorderRate: 0.1 * level("net.reorder"),
    linkCapacity: faults["net.link-overflow"] === undefined ? faultFreeNetwork.linkCapacity : Math.round(4 + 60 * (1 - level("net.link-overflow")))
  }
  const disk: DiskFaultConfig = {
    ...faultFreeDisk,
    latencyNs: [20_000, 200_000],
    readErrorRate: 0.01 * level("disk.read-error"),
    writeErrorRate: 0.01 * level("disk.write-error"),
    syncFailureRate: 0.02 * level("disk.fsync-failure"),
    latentSectorRate: 0.005 * level("disk.latent-sector"),
    bitRotRate: 0.005 * level("disk.bit-rot"),
    misdirectedWriteRate: 0.003 * level("disk.misdirected-write"),
    slowRate: 0.01 * level("disk.slow")
  }
  const clocks: Array<ClockConfig> = []
  for (let i = 0; i < nodes; i++) {
    const skew = (random.float() * 2 - 1) * 2_000 * level("clock.skew")
    const drift = (random.float() * 2 - 1) * 500 * level("clock.drift")
    clocks.push({ skewMs: Math.round(skew), driftPpm: Math.round(drift) })
  }
  for (const kind of lateKinds) drawKind(kind)
  // From a stream of its own, so that seeds without a small limit keep their traces.
  const limits = seededSource(`cairn-sim/${seed}`).split("raft-limits")
  const small = limits.chance(0.25)
  const limit = smallRaftMessageLimits[limits.intBetween(0, smallRaftMessageLimits.length - 1)]
  return {
    seed,
    nodes,
    durationMs,
    healAtMs: Math.round(durationMs * 0.7),
    faults,
    network,
    disk,
    clocks,
    nemesisMeanGapMs: 400,
    raftMaxBytesPerMessage: raft && small ? limit : undefined
  }
}
