/**
 * A pure, in-memory harness for Raft unit tests: a set of `Raft` values, a
 * message queue, durable state kept in maps, and helpers to deliver, drop and
 * tick. No Effect, no simulator: the fastest way to drive the state machine
 * through exact scenarios.
 */
import { nodeId, type NodeId } from "../node/node-id.ts"
import { initialConfig } from "./membership.ts"
import { defaultRaftOptions, Raft, type RaftOptions, type ReadState } from "./raft.ts"
import type { Entry, HardState, Message, Snapshot } from "./types.ts"

export const ids = (n: number): ReadonlyArray<NodeId> => Array.from({ length: n }, (_, i) => nodeId(`n${i + 1}`))

interface Durable {
  hardState: HardState
  entries: Array<Entry>
  snapshot: Snapshot | undefined
}

export class RaftHarness {
  readonly rafts = new Map<NodeId, Raft>()
  readonly durable = new Map<NodeId, Durable>()
  readonly applied = new Map<NodeId, Array<Entry>>()
  readonly readStates = new Map<NodeId, Array<ReadState>>()
  queue: Array<Message> = []
  /** Directed links that drop messages. */
  readonly cut = new Set<string>()
  private seed = 1
  private readonly overrides: Partial<RaftOptions>
  readonly voters: ReadonlyArray<NodeId>

  constructor(voters: ReadonlyArray<NodeId>, overrides: Partial<RaftOptions> = {}, extra: ReadonlyArray<NodeId> = []) {
    this.voters = voters
    this.overrides = overrides
    for (const id of [...voters, ...extra]) {
      this.durable.set(id, { hardState: { term: 0, vote: undefined, commit: 0 }, entries: [], snapshot: undefined })
      this.boot(id)
    }
  }

  private random = (n: number): number => {
    // A tiny deterministic LCG: the harness must be reproducible.
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0
    return (this.seed >>> 8) % n
  }

  /** (Re)starts a node from its durable state, as after a crash. */
  boot(id: NodeId, damaged: ReadonlyArray<{ index: number; term: number | undefined }> = []): Raft {
    const d = this.durable.get(id)!
    const raft = new Raft({ ...defaultRaftOptions(id, this.random), ...this.overrides }, {
      hardState: d.hardState,
      snapshot: d.snapshot,
      entries: d.entries,
      config: initialConfig(this.voters),
      damaged
    })
    this.rafts.set(id, raft)
    this.applied.set(id, [])
    this.readStates.set(id, [])
    return raft
  }

  raft(id: NodeId): Raft {
    return this.rafts.get(id)!
  }

  /** Runs every node's ready loop: persist, collect messages, apply. */
  process(): void {
    for (const [id, raft] of this.rafts) {
      while (raft.hasReady()) {
        const rd = raft.ready()
        this.queue.push(...rd.messages)
        const d = this.durable.get(id)!
        if (rd.snapshot !== undefined) {
          d.snapshot = rd.snapshot
          d.entries = []
        }
        if (rd.truncateFrom !== undefined) d.entries = d.entries.filter((e) => e.index < rd.truncateFrom!)
        for (const e of rd.entries) {
          const at = d.entries.findIndex((x) => x.index === e.index)
          if (at >= 0) d.entries[at] = e
          else d.entries.push(e)
        }
        if (rd.hardState !== undefined) d.hardState = rd.hardState
        const last = rd.entries[rd.entries.length - 1]
        if (last !== undefined) raft.persisted(last.index, last.term)
        this.queue.push(...rd.messagesAfterPersist)
        this.applied.get(id)!.push(...rd.committed)
        if (rd.committed.length > 0) raft.appliedTo(rd.committed[rd.committed.length - 1]!.index)
        this.readStates.get(id)!.push(...rd.readStates)
      }
    }
  }

  /** Delivers queued messages (and the ones they cause) until quiet, or `max` deliveries. */
  deliverAll(max = 100_000): number {
    let delivered = 0
    this.process()
    while (this.queue.length > 0 && delivered < max) {
      const m = this.queue.shift()!
      const target = this.rafts.get(m.to)
      if (target === undefined || this.cut.has(`${m.from}>${m.to}`)) continue
      target.step(m)
      delivered++
      this.process()
    }
    return delivered
  }

  tick(times = 1, only?: ReadonlyArray<NodeId>): void {
    for (let t = 0; t < times; t++) {
      for (const [id, raft] of this.rafts) if (only === undefined || only.includes(id)) raft.tick()
      this.deliverAll()
    }
  }

  /** Ticks until some node leads (with everyone connected). */
  electLeader(maxTicks = 200): NodeId {
    for (let t = 0; t < maxTicks; t++) {
      const leader = this.leader()
      if (leader !== undefined) return leader
      this.tick()
    }
    throw new Error("no leader elected")
  }

  leader(): NodeId | undefined {
    const leaders = [...this.rafts.values()].filter((r) => r.role === "leader")
    const maxTerm = Math.max(...leaders.map((r) => r.term))
    return leaders.find((r) => r.term === maxTerm)?.id
  }

  isolate(id: NodeId): void {
    for (const other of this.rafts.keys()) {
      if (other === id) continue
      this.cut.add(`${id}>${other}`)
      this.cut.add(`${other}>${id}`)
    }
  }

  heal(): void {
    this.cut.clear()
  }

  commands(id: NodeId): ReadonlyArray<string> {
    return this.applied.get(id)!.filter((e) => e.kind === "command").map((e) => new TextDecoder().decode(e.data))
  }
}
