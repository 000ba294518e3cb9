/**
 * A simulated cluster: nodes, each a process with its own clock, disk and
 * network endpoint, running a node program as Effect fibers on the
 * simulator's scheduler. The cluster is what the nemesis acts on: crash,
 * restart, pause, resume, clock jumps, full disks, and the network's
 * partitions and clogs.
 *
 * A node program failing with a defect (an `InvariantViolation` thrown by an
 * `assert`, or any other bug) stops the run: the simulator reports it with the
 * seed.
 */
import { Clock, Disk, Network, nodeId, Random, type NodeId } from "@cairn/core"
import { seededRandom, seededSource, type SeededSource } from "@cairn/runtime-test"
import { Cause, Clock as EffectClock, Context, Effect, type Fiber } from "effect"
import { SimClock, type ClockConfig } from "./clock.ts"
import { ClusterDamage } from "./disk-damage.ts"
import { faultFreeDisk, SimDisk, type DiskFaultConfig } from "./disk.ts"
import { FaultCounter } from "./fault-counter.ts"
import { faultFreeNetwork, SimNetwork, type NetworkFaultConfig } from "./network.ts"
import { SimProcess, type ProcessStatus } from "./process.ts"
import { SimScheduler } from "./scheduler.ts"
import { Trace } from "./trace.ts"

export type NodeServices = Clock | Random | Disk | Network

/** What a node runs; started again, from scratch, after every crash. */
export type NodeProgram = (node: { readonly id: NodeId; readonly incarnation: number }) => Effect.Effect<
  void,
  never,
  NodeServices
>

interface SimNode {
  readonly id: NodeId
  readonly process: SimProcess
  readonly disk: SimDisk
  readonly clockConfig: ClockConfig
  clock: SimClock
  readonly random: SeededSource
  fiber: Fiber.Fiber<void, never> | undefined
}

export interface ClusterOptions {
  readonly random: SeededSource
  readonly nodes: number
  /** Client processes c1..cN: network endpoints with a clock, never faulted by the nemesis. */
  readonly clients?: number
  readonly network: NetworkFaultConfig
  readonly disk: DiskFaultConfig
  readonly clocks: ReadonlyArray<ClockConfig>
}

export class SimCluster {
  readonly scheduler = new SimScheduler()
  readonly trace = new Trace()
  readonly faults = new FaultCounter()
  readonly network: SimNetwork
  private readonly nodes = new Map<NodeId, SimNode>()
  private readonly clientNodes = new Map<NodeId, SimNode>()
  private readonly diskConfig: DiskFaultConfig
  private program: NodeProgram | undefined
  private readonly violationList: Array<string> = []

  constructor(options: ClusterOptions) {
    this.diskConfig = options.disk
    this.network = new SimNetwork({
      scheduler: this.scheduler,
      random: options.random.split("network"),
      faults: this.faults,
      trace: this.trace,
      config: options.network
    })
    // Corruption on one node's disk avoids places another node's copy has lost (disk-damage.ts).
    const damage = new ClusterDamage()
    for (let i = 1; i <= options.nodes; i++) {
      const id = nodeId(`n${i}`)
      const random = options.random.split(`node/${id}`)
      const process = new SimProcess(id, this.scheduler)
      const clockConfig = options.clocks[i - 1] ?? { skewMs: 0, driftPpm: 0 }
      const disk = new SimDisk({
        label: id,
        process,
        random: random.split("disk"),
        faults: this.faults,
        trace: this.trace,
        config: options.disk,
        damage
      })
      this.nodes.set(id, { id, process, disk, clockConfig, clock: new SimClock(process, clockConfig, 0), random, fiber: undefined })
      this.network.addNode(id, process)
      if (clockConfig.skewMs !== 0) this.faults.fired("clock.skew")
      if (clockConfig.driftPpm !== 0) this.faults.fired("clock.drift")
    }
    for (let i = 1; i <= (options.clients ?? 0); i++) {
      const id = nodeId(`c${i}`)
      const random = options.random.split(`client/${id}`)
      const process = new SimProcess(id, this.scheduler)
      const clockConfig = { skewMs: 0, driftPpm: 0 }
      const disk = new SimDisk({ label: id, process, random: random.split("disk"), faults: this.faults, trace: this.trace, config: faultFreeDisk })
      this.clientNodes.set(id, { id, process, disk, clockConfig, clock: new SimClock(process, clockConfig, 0), random, fiber: undefined })
      this.network.addNode(id, process)
    }
  }

  get clientIds(): ReadonlyArray<NodeId> {
    return [...this.clientNodes.keys()]
  }

  /** Starts `program` on every client process. */
  startClients(program: NodeProgram): void {
    for (const client of this.clientNodes.values()) this.spawnWith(client, program)
  }

  get nodeIds(): ReadonlyArray<NodeId> {
    return [...this.nodes.keys()]
  }

  get violations(): ReadonlyArray<string> {
    return this.violationList
  }

  /** Records a violation and stops the run at the end of the current step. */
  violation(message: string): void {
    this.violationList.push(message)
    this.trace.record(this.scheduler.now, `VIOLATION ${message}`)
    this.scheduler.stop()
  }

  /** Adds a cluster-level event to the trace. */
  event(description: string): void {
    this.trace.record(this.scheduler.now, description)
  }

  private node(id: NodeId): SimNode {
    const node = this.nodes.get(id)
    if (node === undefined) throw new Error(`unknown node ${id}`)
    return node
  }

  disk(id: NodeId): SimDisk {
    return this.node(id).disk
  }

  clock(id: NodeId): SimClock {
    return this.node(id).clock
  }

  status(id: NodeId): ProcessStatus {
    return this.node(id).process.status
  }

  /** Starts `program` on every node. */
  start(program: NodeProgram): void {
    this.program = program
    for (const node of this.nodes.values()) this.spawn(node)
  }

  private spawn(node: SimNode): void {
    if (this.program !== undefined) this.spawnWith(node, this.program)
  }

  private spawnWith(node: SimNode, program: NodeProgram): void {
    const incarnation = node.process.incarnation
    const context = Context.make(Clock, node.clock.service()).pipe(
      Context.add(Random, seededRandom(node.random.split(`incarnation/${incarnation}`))),
      Context.add(Disk, node.disk.service()),
      Context.add(Network, this.network.attach(node.id)),
      Context.add(EffectClock.Clock, node.clock.effectClock())
    )
    this.event(`start ${node.id} incarnation=${incarnation}`)
    const fiber = Effect.runFork(Effect.provideContext(program({ id: node.id, incarnation }), context), {
      scheduler: this.scheduler
    })
    node.fiber = fiber
    fiber.addObserver((exit) => {
      if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
        this.violation(`${node.id} died: ${Cause.pretty(exit.cause)}`)
      }
    })
  }

  /** Power loss on one node: fibers gone, unsynced writes lost or torn. */
  crash(id: NodeId): void {
    const node = this.node(id)
    if (node.process.status === "crashed") return
    this.event(`crash ${id}`)
    const fiber = node.fiber
    node.fiber = undefined
    node.process.markCrashed()
    fiber?.interruptUnsafe()
    node.disk.crash()
  }

  restart(id: NodeId): void {
    const node = this.node(id)
    if (node.process.status !== "crashed") return
    node.process.markRestarted()
    // A rebooted machine's monotonic clock starts again from its own origin.
    node.clock = new SimClock(node.process, node.clockConfig, this.scheduler.now)
    this.spawn(node)
  }

  pause(id: NodeId): void {
    this.event(`pause ${id}`)
    this.node(id).process.pause()
  }

  resume(id: NodeId): void {
    this.event(`resume ${id}`)
    this.node(id).process.resume()
  }

  jumpClock(id: NodeId, ms: number): void {
    this.event(`clock-jump ${id} ${ms}`)
    this.node(id).clock.jump(ms)
  }

  /** Makes the node's disk full (every extending write fails) or gives the space back. */
  fillDisk(id: NodeId, full: boolean): void {
    this.event(`disk-${full ? "full" : "space"} ${id}`)
    const disk = this.node(id).disk
    disk.config = { ...disk.config, capacityBytes: full ? 0 : this.diskConfig.capacityBytes }
  }

  /** Ends every fault: restarts crashed nodes, resumes paused ones, heals the network and disks. */
  healEverything(): void {
    this.event("heal everything")
    this.network.heal()
    this.network.unclogAll()
    this.network.config = { ...this.network.config, dropRate: 0, duplicateRate: 0, reorderRate: 0, linkCapacity: Number.MAX_SAFE_INTEGER }
    for (const node of this.nodes.values()) {
      node.disk.config = {
        ...node.disk.config,
        readErrorRate: 0,
        writeErrorRate: 0,
        syncFailureRate: 0,
        latentSectorRate: 0,
        bitRotRate: 0,
        misdirectedWriteRate: 0,
        slowRate: 0,
        capacityBytes: this.diskConfig.capacityBytes
      }
      if (node.process.status === "crashed") this.restart(node.id)
      if (node.process.status === "paused") node.process.resume()
    }
  }
}

/** A cluster with every fault off unless overridden: for tests and benchmarks. */
export const faultFreeCluster = (options: {
  readonly nodes?: number
  readonly seed?: string
  readonly disk?: Partial<DiskFaultConfig>
  readonly network?: Partial<NetworkFaultConfig>
  readonly clocks?: ReadonlyArray<ClockConfig>
} = {}): SimCluster =>
  new SimCluster({
    random: seededSource(options.seed ?? "fault-free"),
    nodes: options.nodes ?? 1,
    disk: { ...faultFreeDisk, ...options.disk },
    network: { ...faultFreeNetwork, ...options.network },
    clocks: options.clocks ?? []
  })
