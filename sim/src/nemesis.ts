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
 *
 * Membership: a `remove` fault asks the current leader to remove a voter
 * (joint consensus), never leaving fewer voters than a majority of the
 * original cluster; when it ends, an `add` fault brings the node back as a
 * learner and, once it holds its own learner entry, promotes it to voter.
 * A reconciler drives the leader toward these targets every 50 ms (leaders
 * change, proposals get dropped) and counts what the committed
 * configuration really did. The removed node keeps running with its disk:
 * it rejoins with its log and its durable term and vote, which the leader
 * repairs by the usual log matching. Wiping it instead would throw away the
 * vote it may have cast in the current term, and is only safe once no
 * configuration it belonged to can still elect a leader.
 */
import { nodeId, type NodeId } from "@cairn/core"
import { isJoint, members, type ClusterConfig, type ConfChange } from "@cairn/core/raft/membership"
import type { SeededSource } from "@cairn/runtime-test"
import { cutLinks, describeFault, describeShape, type Fault, type PartitionShape } from "@cairn/jepsen"
import { Effect } from "effect"
import type { SimCluster } from "./cluster.ts"
import type { SimClock } from "./clock.ts"
import type { SimNetwork } from "./network.ts"
import type { FaultKind, SimConfig } from "./swarm.ts"
import type { RaftServers } from "./workload/raft-kv.ts"

const episodic: ReadonlyArray<FaultKind> = [
  "net.partition",
  "net.clog",
  "net.flapping",
  "process.crash",
  "process.pause",
  "clock.jump",
  "disk.full",
  "membership"
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
  private readonly servers: RaftServers | undefined
  /** Nodes a membership fault wants out of the cluster; the reconciler brings the others back. */
  private readonly out = new Set<NodeId>()
  /** Open `add` faults, closed when their node is a voter again. */
  private readonly adding = new Map<NodeId, Episode>()
  /** Each original node's place in the committed configuration, as last seen. */
  private readonly seen = new Map<NodeId, "voter" | "learner" | "out">()
  private reconciling = false

  /** `servers`: the Raft workload's handles; without them membership faults do not apply. */
  constructor(cluster: SimCluster, config: SimConfig, random: SeededSource, servers?: RaftServers) {
    this.cluster = cluster
    this.config = config
    this.random = random
    this.servers = servers
    this.kinds = episodic.filter((kind) => config.faults[kind] !== undefined && (kind !== "membership" || servers !== undefined))
  }

  /** Every fault the nemesis applied, with the time it really ended (ms of virtual time). */
  get episodes(): ReadonlyArray<Fault> {
    const nowMs = ms(this.cluster.scheduler.now)
    return this.history.map((e) => ({ ...e.fault, end: e.endedMs ?? Math.max(e.fault.start, nowMs) }))
  }

  start(): void {
    for (const kind of this.kinds) this.cluster.faults.enable(kind)
    if (this.kinds.includes("membership")) {
      // A membership fault that never changed the committed configuration proves nothing: report it as silent.
      this.cluster.faults.enable("membership.remove")
      this.cluster.faults.enable("membership.add")
    }
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
        return { kind: "kill", nodes: [this.pickTarget(pick)], start, end }
      case "process.pause":
        return { kind: "pause", nodes: [this.pickTarget(pick)], start, end }
      case "clock.jump":
        return { kind: "clock-skew", node: pick(), offsetMs: this.random.intBetween(-5_000, 5_000), start, end }
      case "disk.full":
        return { kind: "disk-fault", node: pick(), fault: "full", rate: 1, start, end }
      case "membership": {
        const config = this.servers?.committedConfig()
        if (config === undefined) return undefined
        const candidates = nodes.filter((n) => config.voters.includes(n) && !this.out.has(n))
        if (candidates.length === 0) return undefined
        return { kind: "membership", change: "remove", node: candidates[this.random.intBetween(0, candidates.length - 1)]!, start, end }
      }
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
      case "membership": {
        const node = nodeId(fault.node)
        if (this.servers === undefined || !this.cluster.nodeIds.includes(node)) return undefined
        if (fault.change === "add") {
          this.out.delete(node)
          this.startReconciler()
          return () => {}
        }
        // Never fewer voters than a majority of the original cluster.
        const majority = Math.floor(this.cluster.nodeIds.length / 2) + 1
        if (this.out.has(node) || this.cluster.nodeIds.length - this.out.size - 1 < majority) return undefined
        this.out.add(node)
        this.startReconciler()
        return () => this.bringBack(node)
      }
    }
  }

  /** Ends a removal: an `add` fault that lasts until the node is a voter again. */
  private bringBack(node: NodeId): void {
    this.out.delete(node)
    const now = ms(this.cluster.scheduler.now)
    const fault: Fault = { kind: "membership", change: "add", node, start: now, end: now }
    const episode: Episode = { fault, endedMs: undefined }
    this.history.push(episode)
    this.adding.set(node, episode)
    this.cluster.event(`nemesis ${describeFault(fault)}`)
    for (const counter of counters(fault)) this.cluster.faults.fired(counter)
  }

  private startReconciler(): void {
    if (this.reconciling) return
    this.reconciling = true
    const step = () => {
      this.reconcile()
      this.cluster.scheduler.setTimer(50e6, step)
    }
    step()
  }

  /**
   * Counts what the committed configuration did since the last look, then
   * asks the leader for the next change toward the targets: remove a node
   * that should be out; add a returning node as a learner; promote it once
   * it has applied its own learner entry. One change at a time, never in the
   * joint phase (the leader would drop it anyway).
   */
  private reconcile(): void {
    const servers = this.servers
    if (servers === undefined) return
    const cluster = this.cluster
    const committed = servers.committedConfig()
    for (const node of cluster.nodeIds) {
      const place = placeOf(committed, node)
      const before = this.seen.get(node) ?? "voter"
      if (place !== before) {
        this.seen.set(node, place)
        cluster.event(`membership ${node} ${before} -> ${place}`)
        cluster.faults.fired(place === "out" ? "membership.remove" : place === "learner" ? "membership.learner" : "membership.add")
      }
      const adding = this.adding.get(node)
      if (adding !== undefined && place === "voter" && !isJoint(committed)) {
        adding.endedMs = ms(cluster.scheduler.now)
        this.adding.delete(node)
        cluster.event(`nemesis end ${describeFault(adding.fault)}`)
      }
    }
    const leader = this.leader()
    if (leader === undefined || isJoint(leader.config)) return
    for (const node of cluster.nodeIds) {
      const place = placeOf(leader.config, node)
      const step = this.out.has(node)
        ? place === "out" ? undefined : ({ op: "remove", node } as const)
        : place === "out"
        ? ({ op: "add-learner", node } as const)
        : place === "learner" && this.caughtUp(node)
        ? ({ op: "add-voter", node } as const)
        : undefined
      if (step === undefined) continue
      // The rule holds against the configuration in force, not only the faults asked for:
      // re-added nodes are learners for a while, so counting `out` alone is not enough.
      const majority = Math.floor(cluster.nodeIds.length / 2) + 1
      if (step.op === "remove" && leader.config.voters.filter((v) => v !== node).length < majority) continue
      const change: ConfChange = { kind: "enter-joint", steps: [step] }
      const handle = servers.node(leader.id)
      if (handle === undefined) return
      Effect.runFork(
        Effect.map(handle.changeMembership(change), (outcome) => {
          cluster.event(`membership ${leader.id} ${step.op} ${node}: ${outcome}`)
        }),
        { scheduler: cluster.scheduler }
      )
      return
    }
  }

  /** The running leader of the highest term, with its (applied) configuration. */
  /**
   * Half the time the current Raft leader (as Jepsen's "kill the leader"
   * nemeses do: leader changes are where consensus bugs live), otherwise any node.
   */
  private pickTarget(pick: () => NodeId): NodeId {
    const leader = this.leader()
    const targetLeader = this.random.chance(0.5)
    return targetLeader && leader !== undefined ? leader.id : pick()
  }

  private leader(): { readonly id: NodeId; readonly config: ClusterConfig } | undefined {
    let best: { readonly id: NodeId; readonly config: ClusterConfig; readonly term: number } | undefined
    for (const id of this.cluster.nodeIds) {
      if (this.cluster.status(id) !== "running") continue
      const raft = this.servers?.raft(id)
      if (raft === undefined || raft.role !== "leader") continue
      if (best === undefined || raft.term > best.term) best = { id, config: raft.config, term: raft.term }
    }
    return best
  }

  /** A learner is ready for promotion once it has applied the entry that made it one. */
  private caughtUp(node: NodeId): boolean {
    const raft = this.servers?.raft(node)
    return raft !== undefined && this.cluster.status(node) === "running" && raft.config.learners.includes(node)
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
      // membership.remove / .learner / .add count what the committed configuration did (see `reconcile`).
      return ["membership"]
  }
}

const placeOf = (config: ClusterConfig, node: NodeId): "voter" | "learner" | "out" =>
  config.voters.includes(node) || config.outgoing.includes(node) ? "voter" : members(config).includes(node) ? "learner" : "out"
