/**
 * A leader's linearizable reads (etcd's `read_only.go`): ReadIndex rounds,
 * reads waiting for the leader's first commit in its term, and the lease.
 *
 * A read is served at the commit index the leader had when a round began,
 * once a quorum has answered a heartbeat of that round or a later one: no
 * other leader can have committed anything then. Every heartbeat starts a
 * round; rounds nobody waits for only extend the lease — a quorum
 * acknowledged us after the round began, so no one can be elected until at
 * least `leaseTicks` later on their clocks. A new leader does not know the
 * true commit index until it commits an entry of its own term, so reads
 * wait for that first.
 *
 * Invariants: rounds are numbered in increasing order and kept in that
 * order; the lease only moves forward.
 */
import { assert } from "../invariant/invariant.ts"
import type { NodeId } from "../node/node-id.ts"

/** A read asked of this leader: its context, and who asked (this node or a follower). */
export interface ReadRequest {
  readonly context: number
  readonly from: NodeId
}

/** A read that may be served once `index` is applied. */
export interface ReadAnswer extends ReadRequest {
  readonly index: number
}

interface PendingRound {
  readonly round: number
  readonly index: number
  readonly startTick: number
  readonly acks: Set<NodeId>
  readonly requests: Array<ReadRequest>
}

/** Rounds nobody waits for beyond this many are forgotten (they only extend the lease). */
const MAX_IDLE_ROUNDS = 64

export class ReadOnly {
  private readonly self: NodeId
  /** Ticks a quorum's acknowledgement keeps the lease, counted from the round's start. */
  private readonly leaseTicks: number
  private lastRound = 0
  private readonly pending: Array<PendingRound> = []
  /** Reads waiting for this leader's first commit in its term. */
  private readonly beforeCommit: Array<ReadRequest> = []
  private leaseUntilTick = -1

  constructor(self: NodeId, leaseTicks: number) {
    this.self = self
    this.leaseTicks = leaseTicks
  }

  /** A new term or role: pending rounds, waiting reads and the lease are gone (round numbers go on). */
  reset(): void {
    this.pending.length = 0
    this.beforeCommit.length = 0
    this.leaseUntilTick = -1
  }

  /** Is the lease valid at `tick`? */
  leaseValid(tick: number): boolean {
    return tick < this.leaseUntilTick
  }

  /** Starts a round at commit index `committed`; its heartbeats carry the returned number. */
  startRound(committed: number, tick: number): number {
    const round = ++this.lastRound
    assert(this.pending.length === 0 || this.pending[this.pending.length - 1]!.round < round, "read rounds in order")
    this.pending.push({ round, index: committed, startTick: tick, acks: new Set([this.self]), requests: [] })
    // Rounds nobody waits for only extend the lease; keep the list short.
    while (this.pending.length > MAX_IDLE_ROUNDS && this.pending[0]!.requests.length === 0) this.pending.shift()
    return round
  }

  /** Starts a round for `request`, served when a quorum answers it. */
  startRoundFor(request: ReadRequest, committed: number, tick: number): number {
    const round = this.startRound(committed, tick)
    this.pending[this.pending.length - 1]!.requests.push(request)
    return round
  }

  /**
   * `from` (a voter) answered a heartbeat of `round`, and so every earlier round. Returns the
   * reads the rounds a quorum now confirmed may serve, oldest first, and extends the lease.
   */
  acknowledge(from: NodeId, round: number, isQuorum: (acks: ReadonlySet<NodeId>) => boolean): ReadonlyArray<ReadAnswer> {
    let confirmed = -1
    for (let i = 0; i < this.pending.length; i++) {
      const pending = this.pending[i]!
      if (pending.round > round) break
      pending.acks.add(from)
      if (isQuorum(pending.acks)) confirmed = i
    }
    if (confirmed < 0) return []
    const done = this.pending.splice(0, confirmed + 1)
    const last = done[done.length - 1]!
    // A quorum acknowledged us after this round began: nobody can have been elected
    // until at least electionTicks later on their clocks.
    this.leaseUntilTick = Math.max(this.leaseUntilTick, last.startTick + this.leaseTicks)
    const answers: Array<ReadAnswer> = []
    for (const pending of done) for (const r of pending.requests) answers.push({ context: r.context, from: r.from, index: pending.index })
    return answers
  }

  /** Holds a read until this leader commits in its own term. */
  waitForCommit(request: ReadRequest): void {
    this.beforeCommit.push(request)
  }

  /** The reads held by `waitForCommit`, oldest first; none are held after. */
  takeWaitingForCommit(): ReadonlyArray<ReadRequest> {
    return this.beforeCommit.splice(0)
  }
}
