/**
 * The simulator's nemesis: episodes of faults over virtual time. Every
 * episode kind the seed enabled gets a turn at random gaps; each one starts,
 * lasts a random while and heals. At the heal time every fault stops so that
 * liveness can be checked.
 *
 * Partition shapes: one node isolated, two halves, random groups, one-way
 * cuts, and a bridge (two sides that only one node can reach both of).
 */
import type { NodeId } from "@cairn/core"
import type { SeededSource } from "@cairn/runtime-test"
import type { SimCluster } from "./cluster.ts"
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
export type PartitionShape = (typeof partitionShapes)[number]

/** Cuts the links of `shape` among `nodes`; returns a description for the trace. */
export const applyPartition = (
  cluster: SimCluster,
  nodes: ReadonlyArray<NodeId>,
  shape: PartitionShape,
  random: SeededSource
): string => {
  const shuffled = [...nodes]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random.intBetween(0, i)
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  const net = cluster.network
  switch (shape) {
    case "isolate": {
      const [alone, ...rest] = shuffled
      net.separate([alone!], rest)
      return `isolate ${alone}`
    }
    case "halves": {
      const cut = Math.max(1, Math.floor(shuffled.length / 2))
      net.separate(shuffled.slice(0, cut), shuffled.slice(cut))
      return `halves ${shuffled.slice(0, cut).join(",")} | ${shuffled.slice(cut).join(",")}`
    }
    case "groups": {
      const groups = new Map<number, Array<NodeId>>()
      const count = random.intBetween(2, Math.max(2, shuffled.length))
      for (const node of shuffled) {
        const g = random.intBetween(0, count - 1)
        groups.set(g, [...(groups.get(g) ?? []), node])
      }
      const list = [...groups.values()]
      for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) net.separate(list[i]!, list[j]!)
      return `groups ${list.map((g) => g.join(",")).join(" | ")}`
    }
    case "one-way": {
      const cuts: Array<string> = []
      for (const from of shuffled) for (const to of shuffled) {
        if (from !== to && random.chance(0.3)) {
          net.cutLink(from, to)
          cuts.push(`${from}>${to}`)
        }
      }
      return `one-way ${cuts.join(" ")}`
    }
    case "bridge": {
      const [bridge, ...rest] = shuffled
      const half = Math.max(1, Math.floor(rest.length / 2))
      net.separate(rest.slice(0, half), rest.slice(half))
      return `bridge ${bridge} between ${rest.slice(0, half).join(",")} | ${rest.slice(half).join(",")}`
    }
  }
}

/** A fault episode as it happened, in virtual nanoseconds, named with the Jepsen report's kinds. */
export interface FaultEpisode {
  readonly kind: string
  readonly start: number
  end: number
  readonly label: string
}

const reportKind = (kind: FaultKind): string =>
  kind.startsWith("net.") ? "partition" : kind === "process.crash" ? "kill" : kind === "process.pause" ? "pause" : kind.startsWith("clock.") ? "clock-skew" : "disk-fault"

export class Nemesis {
  /** Every episode, for reports. */
  readonly episodes: Array<FaultEpisode> = []
  private readonly cluster: SimCluster
  private readonly config: SimConfig
  private readonly random: SeededSource
  private readonly kinds: ReadonlyArray<FaultKind>
  private healed = false
  private readonly endings = new Set<() => void>()

  constructor(cluster: SimCluster, config: SimConfig, random: SeededSource) {
    this.cluster = cluster
    this.config = config
    this.random = random
    this.kinds = episodic.filter((kind) => config.faults[kind] !== undefined)
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
      if (this.random.chance(intensity)) this.begin(kind)
      this.scheduleNext()
    })
  }

  private begin(kind: FaultKind): void {
    const cluster = this.cluster
    const nodes = cluster.nodeIds
    const pick = () => nodes[this.random.intBetween(0, nodes.length - 1)]!
    const durationNs = this.random.intBetween(50, 3_000) * 1e6
    let end: () => void
    switch (kind) {
      case "net.partition": {
        const shape = partitionShapes[this.random.intBetween(0, partitionShapes.length - 1)]!
        cluster.event(`nemesis partition ${applyPartition(cluster, nodes, shape, this.random)}`)
        cluster.faults.fired(kind)
        cluster.faults.fired(`net.partition.${shape}`)
        end = () => {
          cluster.network.heal()
          cluster.event("nemesis heal partition")
        }
        break
      }
      case "net.clog": {
        const from = pick()
        const to = pick()
        if (from === to) return
        cluster.network.clog(from, to)
        cluster.faults.fired(kind)
        cluster.event(`nemesis clog ${from}>${to}`)
        end = () => cluster.network.unclog(from, to)
        break
      }
      case "net.flapping": {
        const a = pick()
        const b = pick()
        if (a === b) return
        cluster.faults.fired(kind)
        cluster.event(`nemesis flap ${a}<>${b}`)
        let up = true
        let stopped = false
        const flip = () => {
          if (stopped) return
          up = !up
          if (up) cluster.network.heal()
          else cluster.network.separate([a], [b])
          cluster.scheduler.setTimer(this.random.intBetween(5, 200) * 1e6, flip)
        }
        flip()
        end = () => {
          stopped = true
          cluster.network.heal()
        }
        break
      }
      case "process.crash": {
        const node = pick()
        if (cluster.status(node) === "crashed") return
        cluster.crash(node)
        cluster.faults.fired(kind)
        end = () => cluster.restart(node)
        break
      }
      case "process.pause": {
        const node = pick()
        if (cluster.status(node) !== "running") return
        cluster.pause(node)
        cluster.faults.fired(kind)
        end = () => cluster.resume(node)
        break
      }
      case "clock.jump": {
        const node = pick()
        const ms = this.random.intBetween(-5_000, 5_000)
        cluster.jumpClock(node, ms)
        cluster.faults.fired(kind)
        return
      }
      case "disk.full": {
        const node = pick()
        cluster.fillDisk(node, true)
        cluster.faults.fired(kind)
        end = () => cluster.fillDisk(node, false)
        break
      }
      default:
        return
    }
    const episode: FaultEpisode = { kind: reportKind(kind), start: cluster.scheduler.now, end: cluster.scheduler.now + durationNs, label: kind }
    this.episodes.push(episode)
    const finish = () => {
      episode.end = cluster.scheduler.now
      end()
    }
    this.endings.add(finish)
    cluster.scheduler.setTimer(durationNs, () => {
      if (!this.endings.delete(finish)) return
      finish()
    })
  }

  /** Ends every fault: the rest of the run is for liveness. */
  private healAll(): void {
    this.healed = true
    for (const end of this.endings) end()
    this.endings.clear()
    this.cluster.healEverything()
  }
}
