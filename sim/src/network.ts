/**
 * The simulated network: directed links between nodes with delay, drop,
 * duplication, reordering (by delay variance and long tails), bounded
 * capacity, clogging and partitions of any shape.
 *
 * Faults also hit messages already in flight: a message is checked against
 * the partition and the destination's liveness when it arrives, not only when
 * it is sent.
 */
import { assert, type NetworkShape, type NodeId } from "@cairn/core"
import type { SeededSource } from "@cairn/runtime-test"
import { Effect } from "effect"
import { Inbox } from "./inbox.ts"
import type { FaultCounter } from "./fault-counter.ts"
import type { SimProcess } from "./process.ts"
import type { SimScheduler } from "./scheduler.ts"
import type { Trace } from "./trace.ts"

export interface NetworkFaultConfig {
  /** One-way delay, uniform in [min, max] nanoseconds. */
  readonly latencyNs: readonly [number, number]
  /** Per message: dropped. */
  readonly dropRate: number
  /** Per message: delivered twice (the copy with its own delay). */
  readonly duplicateRate: number
  /** Per message: a long-tail delay (10–50× the maximum), which reorders it. */
  readonly reorderRate: number
  /** Messages in flight per directed link; a send beyond it is dropped. */
  readonly linkCapacity: number
}

export const faultFreeNetwork: NetworkFaultConfig = {
  latencyNs: [100_000, 500_000],
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  linkCapacity: Number.MAX_SAFE_INTEGER
}

interface Endpoint {
  readonly process: SimProcess
  inbox: Inbox
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}>${to}`

export class SimNetwork {
  config: NetworkFaultConfig
  private readonly endpoints = new Map<NodeId, Endpoint>()
  /** Directed links that drop everything (partitions). */
  private readonly cut = new Set<string>()
  /** Directed links whose messages are held until the link unclogs. */
  private readonly clogged = new Map<string, Array<() => void>>()
  private readonly inFlight = new Map<string, number>()
  private readonly scheduler: SimScheduler
  private readonly random: SeededSource
  private readonly faults: FaultCounter
  private readonly trace: Trace

  constructor(options: {
    readonly scheduler: SimScheduler
    readonly random: SeededSource
    readonly faults: FaultCounter
    readonly trace: Trace
    readonly config: NetworkFaultConfig
  }) {
    this.scheduler = options.scheduler
    this.random = options.random
    this.faults = options.faults
    this.trace = options.trace
    this.config = options.config
  }

  /** Registers a node's process; call `attach` for each incarnation. */
  addNode(id: NodeId, process: SimProcess): void {
    assert(!this.endpoints.has(id), `node ${id} added twice`)
    this.endpoints.set(id, { process, inbox: new Inbox() })
  }

  get nodes(): ReadonlyArray<NodeId> {
    return [...this.endpoints.keys()]
  }

  /** A fresh inbox and Network service for the node's current incarnation. */
  attach(id: NodeId): NetworkShape {
    const endpoint = this.endpoints.get(id)
    assert(endpoint !== undefined, `unknown node ${id}`)
    endpoint.inbox = new Inbox()
    const inbox = endpoint.inbox
    const incarnation = endpoint.process.incarnation
    return {
      self: id,
      send: (to, payload) =>
        Effect.sync(() => {
          if (incarnation === endpoint.process.incarnation) this.send(id, to, payload)
        }),
      receive: inbox.take
    }
  }

  private send(from: NodeId, to: NodeId, payload: Uint8Array): void {
    const now = this.scheduler.now
    const key = linkKey(from, to)
    if (!this.endpoints.has(to)) {
      this.trace.record(now, `net drop-unknown ${key}`)
      return
    }
    if (this.random.chance(this.config.dropRate)) {
      this.faults.fired("net.drop")
      this.trace.record(now, `net drop ${key} ${payload.length}`)
      return
    }
    const inFlight = this.inFlight.get(key) ?? 0
    if (inFlight >= this.config.linkCapacity) {
      this.faults.fired("net.link-overflow")
      this.trace.record(now, `net overflow ${key}`)
      return
    }
    const copies = this.random.chance(this.config.duplicateRate) ? 2 : 1
    if (copies === 2) this.faults.fired("net.duplicate")
    const bytes = payload.slice()
    for (let copy = 0; copy < copies; copy++) {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
      this.trace.record(now, `net send ${key} ${bytes.length} copy=${copy}`)
      this.scheduler.setTimer(this.delay(), () => this.arrive(from, to, bytes))
    }
  }

  private delay(): number {
    const [min, max] = this.config.latencyNs
    const base = max > min ? this.random.intBetween(min, max) : min
    if (this.random.chance(this.config.reorderRate)) {
      this.faults.fired("net.reorder")
      return base + this.random.intBetween(10, 50) * Math.max(max, 1_000)
    }
    return base
  }

  private arrive(from: NodeId, to: NodeId, payload: Uint8Array): void {
    const key = linkKey(from, to)
    const held = this.clogged.get(key)
    if (held !== undefined) {
      this.faults.fired("net.clogged")
      held.push(() => this.arrive(from, to, payload))
      return
    }
    this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1)
    const now = this.scheduler.now
    if (this.cut.has(key)) {
      this.faults.fired("net.partition-drop")
      this.trace.record(now, `net cut ${key}`)
      return
    }
    const endpoint = this.endpoints.get(to)!
    if (endpoint.process.status === "crashed") {
      this.trace.record(now, `net dead ${key}`)
      return
    }
    const inbox = endpoint.inbox
    endpoint.process.deliver(endpoint.process.incarnation, () => {
      this.trace.record(this.scheduler.now, `net deliver ${key} ${payload.length}`)
      inbox.offer({ from, to, payload })
    })
  }

  // ---- partitions and clogs ---------------------------------------------------------

  /** Cuts the directed link from → to. */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(linkKey(from, to))
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  separate(a: ReadonlyArray<NodeId>, b: ReadonlyArray<NodeId>): void {
    for (const x of a) for (const y of b) {
      this.cutLink(x, y)
      this.cutLink(y, x)
    }
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear()
  }

  get cutLinks(): ReadonlyArray<string> {
    return [...this.cut].sort()
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(linkKey(from, to))
  }

  /** Holds every message arriving on from → to until `unclog`. */
  clog(from: NodeId, to: NodeId): void {
    const key = linkKey(from, to)
    if (!this.clogged.has(key)) this.clogged.set(key, [])
  }

  /** Releases a clogged link; its held messages arrive now, in order. */
  unclog(from: NodeId, to: NodeId): void {
    const key = linkKey(from, to)
    const held = this.clogged.get(key)
    if (held === undefined) return
    this.clogged.delete(key)
    for (const arrive of held) arrive()
  }

  unclogAll(): void {
    for (const key of [...this.clogged.keys()]) {
      const [from, to] = key.split(">") as [NodeId, NodeId]
      this.unclog(from, to)
    }
  }
}
