/**
 * The simulator's nemesis: episodes of faults over virtual time, in the
 * project's one fault vocabulary (`Fault` from `@cairn/jepsen`, the same data
 * the real-cluster runner applies with process and network control). Every
 * episode kind the seed enabled gets a turn at random gaps; the nemesis draws
 * a `Fault`, applies it through the cluster's controls (crash, pause, clock
 * jumps, full disks, the network's cuts and clogs), and undoes it when it
 * ends. At the heal time every fault stops so that liveness can be checked.
 *
 * Partition shapes: one node isolated, two halves, random groups, one-way
 * cuts, and a bridge (two sides that only one node can reach both of).
 */
import { nodeId, type NodeId } from "@cairn/core"
import type { SeededSource } from "@cairn/runtime-test"
import { cutLinks, describeFault, describeShape, type Fault, type PartitionShape } from "@cairn/jepsen"
import type { SimCluster } from "./cluster.ts"
import type { SimClock } from "./clock.ts"
import type { SimNetwork } from "./network.ts"
import type { FaultKind, SimConfig } from "./swarm.ts"

const episodic: ReadonlyArray<FaultKind> = [
  "net.partition",
  "net.clog",
  "net.flapping",
  "process.crash",
  "process.pause",
  "clock.jump",
  "disk.full"
]

export const partitionShapes = ["isolate", "halves", "groups", "one-way", "bridge"] as const
export type PartitionShapeType = (typeof partitionShapes)[number]

/** Draws a partition of the given shape among `nodes`. */
export const drawPartition = (nodes: ReadonlyArray<NodeId>, type: PartitionShapeType, random: SeededSource): PartitionShape => {
  const shuffled = [...nodes]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random.intBetween(0, i)
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  switch (type) {
    case "isolate":
      return { type, node: shuffled[0]! }
    case "halves": {
      const cut = Math.max(1, Math.floor(shuffled.length / 2))
      return { type, sides: [shuffled.slice(0, cut), shuffled.slice(cut)] }
    }
    case "groups": {
      const groups = new Map<number, Array<NodeId>>()
      const count = random.intBetween(2, Math.max(2, shuffled.length))
      for (const node of shuffled) {
        const g = random.intBetween(0, count - 1)
        groups.set(g, [...(groups.get(g) ?? []), node])
      }
      return { type, groups: [...groups.values()] }
    }
    case "one-way": {
      const cut = random.intBetween(1, Math.max(1, shuffled.length - 1))
      return { type, from: shuffled.slice(0, cut), to: shuffled.slice(cut) }
    }
    case "bridge": {
      const [bridge, ...rest] = shuffled
      const half = Math.max(1, Math.floor(rest.length / 2))
      return { type, bridge: bridge!, sides: [rest.slice(0, half), rest.slice(half)] }
    }
  }
}

/** Cuts the directed links `shape` cuts among `nodes`. */
export const cutPartition = (network: SimNetwork, nodes: ReadonlyArray<string>, shape: PartitionShape): void => {
  for (const [from, to] of cutLinks(shape, nodes)) network.cutLink(nodeId(from), nodeId(to))
}

/** Draws a partition of `type` and cuts its links; returns its description for the trace. */
export const applyPartition = (cluster: SimCluster, nodes: ReadonlyArray<NodeId>, type: PartitionShapeType, random: SeededSource): string => {
  const shape = drawPartition(nodes, type, random)
  cutPartition(cluster.network, nodes, shape)
  return `${type} ${describeShape(shape)}`
}

/** Milliseconds of virtual time: the vocabulary's time unit. */
const ms = (ns: number): number => ns / 1e6

interface Episode {
  readonly fault: Fault
  /** When it actually ended (virtual ms); undefined while it lasts. */
  endedMs: number | undefined
}

export class Nemesis {
  private readonly cluster: SimCluster
  private readonly config: SimConfig
  private readonly random: SeededSource
  private readonly kinds: ReadonlyArray<FaultKind>
  private healed = false
  private readonly history: Array<Episode> = []
  /** Undo actions of the faults in effect. */
  private readonly endings = new Set<() => void>()
  /** Partitions in effect and flapping links that are down, each over its nodes: what the network must cut right now. */
  private readonly cuts = new Map<PartitionShape, ReadonlyArray<string>>()

  constructor(cluster: SimCluster, config: SimConfig, random: SeededSource) {
    this.cluster = cluster
    this.config = config
    this.random = random
    this.kinds = episodic.filter((kind) => config.faults[kind] !== undefined)
  }

  /** Every fault the nemesis applied, with the time it really ended (ms of virtual time). */
  get episodes(): ReadonlyArray<Fault> {
    const nowMs = ms(this.cluster.scheduler.now)
    return this.history.map((e) => ({ ...e.fault, end: e.endedMs ?? Math.max(e.fault.start, nowMs) }))
  }

  start(): void {
    for (const kind of this.kinds) this.cluster.faults.enable(kind)
    if (this.kinds.length > 0) this.scheduleNext()
    this.cluster.scheduler.setTimer(this.config.healAtMs * 1e6, () => this.healAll())
  }

  private scheduleNext(): void {
    const gapMs = this.random.float() * 2 * this.config.nemesisMeanGapMs
    this.cluster.scheduler.setTimer(gapMs * 1e6, () => {
      if (this.healed) return
      const kind = this.kinds[this.random.intBetween(0, this.kinds.length - 1)]!
      const intensity = this.config.faults[kind] ?? 0
      if (this.random.chance(intensity)) {
        const fault = this.draw(kind)
        if (fault !== undefined) this.apply(fault)
      }
      this.scheduleNext()
    })
  }

  /** Draws a fault of the simulator's kind `kind` as vocabulary data, planned to last 50 ms–3 s. */
  private draw(kind: FaultKind): Fault | undefined {
    const nodes = this.cluster.nodeIds
    const pick = () => nodes[this.random.intBetween(0, nodes.length - 1)]!
    const start = ms(this.cluster.scheduler.now)
    const end = start + this.random.intBetween(50, 3_000)
    switch (kind) {
      case "net.partition": {
        const type = partitionShapes[this.random.intBetween(0, partitionShapes.length - 1)]!
        return { kind: "partition", shape: drawPartition(nodes, type, this.random), start, end }
      }
      case "net.clog": {
        const from = pick()
        const to = pick()
        return from === to ? undefined : { kind: "clog", from, to, start, end }
      }
      case "net.flapping": {
        const a = pick()
        const b = pick()
        return a === b ? undefined : { kind: "flapping", nodes: [a, b], start, end }
      }
      case "process.crash":
        return { kind: "kill", nodes: [pick()], start, end }
      case "process.pause":
        return { kind: "pause", nodes: [pick()], start, end }
      case "clock.jump":
        return { kind: "clock-skew", node: pick(), offsetMs: this.random.intBetween(-5_000, 5_000), start, end }
      case "disk.full":
        return { kind: "disk-fault", node: pick(), fault: "full", rate: 1, start, end }
      default:
        return undefined
    }
  }

  /**
   * Applies `fault` now through the cluster's controls and schedules its end
   * at `fault.end`. Returns false when it does not apply (a crash of a node
   * that is down, a disk fault the simulator injects per operation instead).
   */
  apply(fault: Fault): boolean {
    const undo = this.perform(fault)
    if (undo === undefined) return false
    const cluster = this.cluster
    cluster.event(`nemesis ${describeFault(fault)}`)
    for (const counter of counters(fault)) cluster.faults.fired(counter)
    const episode: Episode = { fault, endedMs: undefined }
    this.history.push(episode)
    const finish = () => {
      episode.endedMs = ms(cluster.scheduler.now)
      cluster.event(`nemesis end ${describeFault(fault)}`)
      undo()
    }
    this.endings.add(finish)
    cluster.scheduler.setTimer(Math.max(0, fault.end - ms(cluster.scheduler.now)) * 1e6, () => {
      if (!this.endings.delete(finish)) return
      finish()
    })
    return true
  }

  /** Does what `fault` says; returns how to undo it, or undefined when it does not apply. */
  private perform(fault: Fault): (() => void) | undefined {
    const cluster = this.cluster
    switch (fault.kind) {
      case "partition": {
        const shape = fault.shape
        this.cuts.set(shape, cluster.nodeIds)
        cutPartition(cluster.network, cluster.nodeIds, shape)
        return () => {
          this.cuts.delete(shape)
          this.recut()
        }
      }
      case "clog": {
        const [from, to] = [nodeId(fault.from), nodeId(fault.to)]
        cluster.network.clog(from, to)
        return () => cluster.network.unclog(from, to)
      }
      case "flapping": {
        const [a, b] = fault.nodes
        const link: PartitionShape = { type: "groups", groups: [[a], [b]] }
        let stopped = false
        const flip = () => {
          if (stopped) return
          if (this.cuts.has(link)) {
            this.cuts.delete(link)
            this.recut()
          } else {
            this.cuts.set(link, fault.nodes)
            cutPartition(cluster.network, fault.nodes, link)
          }
          cluster.scheduler.setTimer(this.random.intBetween(5, 200) * 1e6, flip)
        }
        flip()
        return () => {
          stopped = true
          this.cuts.delete(link)
          this.recut()
        }
      }
      case "kill": {
        const down = fault.nodes.map(nodeId).filter((node) => cluster.status(node) !== "crashed")
        if (down.length === 0) return undefined
        for (const node of down) cluster.crash(node)
        return () => {
          for (const node of down) cluster.restart(node)
        }
      }
      case "pause": {
        const frozen = fault.nodes.map(nodeId).filter((node) => cluster.status(node) === "running")
        if (frozen.length === 0) return undefined
        for (const node of frozen) cluster.pause(node)
        return () => {
          for (const node of frozen) cluster.resume(node)
        }
      }
      case "clock-skew": {
        const node = nodeId(fault.node)
        const clock: SimClock = cluster.clock(node)
        cluster.jumpClock(node, fault.offsetMs)
        return () => {
          // A node that restarted meanwhile has a fresh clock without the offset.
          if (cluster.clock(node) === clock) cluster.jumpClock(node, -fault.offsetMs)
        }
      }
      case "disk-fault": {
        const node = nodeId(fault.node)
        if (fault.fault === "full") {
          cluster.fillDisk(node, true)
          return () => cluster.fillDisk(node, false)
        }
        const field = diskRate[fault.fault]
        if (field === undefined) return undefined
        const disk = cluster.disk(node)
        const before = disk.config[field]
        disk.config = { ...disk.config, [field]: fault.rate }
        return () => {
          disk.config = { ...disk.config, [field]: before }
        }
      }
      case "membership":
        return undefined
    }
  }

  /** Heals the network and cuts again what the faults still in effect cut (one fault's end must not heal another). */
  private recut(): void {
    const network = this.cluster.network
    network.heal()
    for (const [shape, nodes] of this.cuts) cutPartition(network, nodes, shape)
  }

  /** Ends every fault: the rest of the run is for liveness. */
  private healAll(): void {
    this.healed = true
    for (const end of this.endings) end()
    this.endings.clear()
    this.cuts.clear()
    this.cluster.healEverything()
  }
}

/** The per-operation disk rates a `disk-fault` sets for its interval; torn writes happen only on crashes. */
const diskRate = {
  "read-error": "readErrorRate",
  "write-error": "writeErrorRate",
  corruption: "bitRotRate",
  "fsync-failure": "syncFailureRate",
  slow: "slowRate",
  "torn-write": undefined,
  full: undefined
} as const

/** The fault-coverage counters a fault fires (the simulator's kind names, which tests and docs use). */
export const counters = (fault: Fault): ReadonlyArray<string> => {
  switch (fault.kind) {
    case "partition":
      return ["net.partition", `net.partition.${fault.shape.type}`]
    case "clog":
      return ["net.clog"]
    case "flapping":
      return ["net.flapping"]
    case "kill":
      return ["process.crash"]
    case "pause":
      return ["process.pause"]
    case "clock-skew":
      return ["clock.jump"]
    case "disk-fault":
      return fault.fault === "full" ? ["disk.full"] : []
    case "membership":
      return ["membership", `membership.${fault.change}`]
  }
}
