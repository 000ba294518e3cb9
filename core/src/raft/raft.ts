/**
 * Raft as a pure state machine, in the shape of etcd's `raft` package: inputs
 * go in through `step` (a message), `tick` (logical time), `propose`,
 * `readIndex`, `proposeConfChange`, `transferLeadership`; everything the node
 * must do comes out of `ready()` as data — messages, entries and hard state to
 * persist, committed entries to apply, read states — and the driver reports
 * back with `persisted` and `appliedTo`. No I/O, no clock, no randomness of
 * its own (the election jitter comes from an injected function), so the same
 * inputs always give the same outputs.
 *
 * Features: PreVote, CheckQuorum, leader stickiness; batched, pipelined
 * replication with flow control (in-flight window, message size, uncommitted
 * bytes cap) and fast backtracking; commit only by a current-term quorum
 * (Figure 8); ReadIndex and optional lease reads; snapshots in chunks;
 * joint-consensus membership changes with learners; leadership transfer;
 * proposal and read forwarding; Protocol-Aware Recovery of damaged entries.
 *
 * This file holds the rules: elections, appends, commit, snapshots and
 * membership. Its rooms: `progress.ts` (the leader's view of each follower
 * and the in-flight window), `read-only.ts` (ReadIndex rounds and the lease),
 * `recovery.ts` (repair of damaged entries, and voting with a damaged log),
 * `membership.ts` (configurations and quorums), `log.ts` (the log in memory).
 */
import { assert, unreachable } from "../invariant/invariant.ts"
import type { NodeId } from "../node/node-id.ts"
import { decodeConfChange, encodeConfChange } from "./codec.ts"
import { RaftLog } from "./log.ts"
import {
  applyConfChange,
  confChangeProblem,
  type ClusterConfig,
  type ConfChange,
  entersJoint,
  isJoint,
  isQuorumAll,
  isVoter,
  membersAll,
  quorumIndexAll,
  voteResultAll
} from "./membership.ts"
import {
  acknowledged,
  appendSent,
  becomeProbe,
  becomeReplicate,
  becomeSnapshot,
  freeInflight,
  freeOldestInflight,
  inflightFull,
  lowerMatchForDamage,
  newProgress,
  type Progress,
  snapshotDone
} from "./progress.ts"
import { ReadOnly } from "./read-only.ts"
import { Recovery, type RecoveryView } from "./recovery.ts"
import type {
  AppendRequest,
  AppendResponse,
  Entry,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Message,
  ReadIndexRequest,
  RepairRequest,
  RepairResponse,
  RepairSnapshot,
  Role,
  Snapshot,
  SnapshotChunk,
  SnapshotMeta,
  SnapshotResponse,
  VoteRequest,
  VoteResponse
} from "./types.ts"

export interface RaftOptions {
  readonly id: NodeId
  /** Minimum election timeout in ticks; each timeout is drawn from [electionTicks, 2 × electionTicks). */
  readonly electionTicks: number
  readonly heartbeatTicks: number
  /** Byte budget of one append message's entries. */
  readonly maxBytesPerMessage: number
  /** Append messages in flight to one follower in the replicate state. */
  readonly maxInflightMessages: number
  /** Bytes of entries in flight to one follower in the replicate state (a slow follower holds no more of the leader's memory and bandwidth). */
  readonly maxInflightBytes: number
  /** Proposals are refused while this many uncommitted bytes are in the leader's log. */
  readonly maxUncommittedBytes: number
  readonly preVote: boolean
  readonly checkQuorum: boolean
  /**
   * "read-index": every read confirms leadership with a heartbeat quorum.
   * "lease": reads within the leader lease are served without that round
   * trip; safe only while clocks drift less than `leaseDriftFraction`.
   */
  readonly readMode: "read-index" | "lease"
  readonly leaseDriftFraction: number
  readonly snapshotChunkBytes: number
  /** Uniform integer in [0, n): the election jitter, from the Random service. */
  readonly randomInt: (n: number) => number
  /**
   * Test only: a known Raft bug the simulator must find.
   * - `commit-previous-term`: count replicas of an old-term entry toward commit, with no no-op
   *   on election (Figure 8).
   * - `vote-without-log-check`: grant votes without the election restriction (§5.4.1).
   */
  readonly plantedBug?: "commit-previous-term" | "vote-without-log-check" | undefined
}

export const defaultRaftOptions = (id: NodeId, randomInt: (n: number) => number): RaftOptions => ({
  id,
  electionTicks: 10,
  heartbeatTicks: 2,
  maxBytesPerMessage: 1 << 20,
  maxInflightMessages: 64,
  maxInflightBytes: 16 << 20,
  maxUncommittedBytes: 64 << 20,
  preVote: true,
  checkQuorum: true,
  readMode: "read-index",
  leaseDriftFraction: 0.1,
  snapshotChunkBytes: 64 << 10,
  randomInt
})

/** A read that may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly context: number
  readonly index: number
}

export interface SoftState {
  readonly role: Role
  readonly leader: NodeId | undefined
  readonly term: number
}

/** Everything the driver must do, in this order: send, persist, send-after-persist, apply. */
export interface Ready {
  readonly softState: SoftState
  /** Persist when defined (it changed). */
  readonly hardState: HardState | undefined
  /** Drop stored entries from this index before writing `entries`. */
  readonly truncateFrom: number | undefined
  /** Entries to write at their indexes. */
  readonly entries: ReadonlyArray<Entry>
  /** A snapshot received from the leader: persist it and restore the state machine from it. */
  readonly snapshot: Snapshot | undefined
  /**
   * A peer's snapshot that replaced our damaged prefix (our later entries stay): save it as a
   * local snapshot and restore the state machine from it.
   */
  readonly repairSnapshot: Snapshot | undefined
  /** Send now (they do not depend on this node's unpersisted state). */
  readonly messages: ReadonlyArray<Message>
  /** Send only after the hard state, entries and snapshot above are durable. */
  readonly messagesAfterPersist: ReadonlyArray<Message>
  /** Apply in order. Config entries were already applied to membership by Raft. */
  readonly committed: ReadonlyArray<Entry>
  readonly readStates: ReadonlyArray<ReadState>
}

interface SnapshotAssembly {
  readonly meta: SnapshotMeta
  readonly total: number
  readonly parts: Array<Uint8Array>
  received: number
}

const textEncoder = new TextEncoder()

export type ProposeOutcome = "appended" | "forwarded" | "dropped"

export class Raft {
  readonly id: NodeId
  readonly options: RaftOptions
  term = 0
  vote: NodeId | undefined = undefined
  leader: NodeId | undefined = undefined
  role: Role = "follower"
  readonly log: RaftLog
  config: ClusterConfig
  private readonly progress = new Map<NodeId, Progress>()
  private votes = new Map<NodeId, boolean>()
  /** This election's vote requests, re-sent each heartbeat to voters that have not answered. */
  private voteRequests: ReadonlyArray<VoteRequest> = []
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private ticks = 0
  private randomizedElectionTimeout: number
  private leadTransferee: NodeId | undefined = undefined
  private transferElapsed = 0
  private pendingConfIndex = 0
  private readonly reads: ReadOnly
  private messages: Array<Message> = []
  private messagesAfterPersist: Array<Message> = []
  private readStates: Array<ReadState> = []
  private lastHardState: HardState
  private snapshotToApply: Snapshot | undefined = undefined
  private repairSnapshotToApply: Snapshot | undefined = undefined
  private readonly recovery = new Recovery()
  /** Did this node become leader in its current term? Durable (see HardState.led). */
  private led = false
  /** A term no earlier than the one the commit index was learned in (HardState.commitTerm). */
  private commitTerm: number
  /** The commit index `commitTerm` was last settled for. */
  private commitNoted: number
  private assembly: SnapshotAssembly | undefined = undefined
  /** The latest local snapshot, for followers that fell behind the compacted log. */
  private snapshot: Snapshot | undefined
  /** Committed entries handed out for applying but not yet reported applied. */
  private handedOut = 0
  private readonly decisionCache: {
    config: ClusterConfig | undefined
    logVersion: number
    scannedThrough: number
    configs: ReadonlyArray<ClusterConfig>
  } = { config: undefined, logVersion: -1, scannedThrough: 0, configs: [] }
  /** Counters for tests, metrics and the simulator's coverage report. */
  readonly counters = { snapshotsSent: 0, snapshotsInstalled: 0, compactions: 0, elections: 0, repairsFilled: 0, ignoredConfChanges: 0 }

  constructor(options: RaftOptions, restored: {
    readonly hardState: HardState
    readonly snapshot: Snapshot | undefined
    readonly entries: ReadonlyArray<Entry>
    readonly config: ClusterConfig
    /** Entries the disk reported damaged, with the term their metadata still vouches for. */
    readonly damaged?: ReadonlyArray<{ readonly index: number; readonly term: number | undefined }>
  }) {
    assert(options.electionTicks > options.heartbeatTicks, "election timeout must exceed the heartbeat interval")
    this.id = options.id
    this.options = options
    this.term = restored.hardState.term
    this.vote = restored.hardState.vote
    this.led = restored.hardState.led === true
    this.snapshot = restored.snapshot
    this.log = RaftLog.restore(restored.snapshot?.meta, restored.entries, restored.hardState.commit)
    this.commitTerm = restored.hardState.commitTerm ?? restored.hardState.term
    this.commitNoted = this.log.committed
    for (const d of restored.damaged ?? []) this.log.markDamaged(d.index, d.term)
    this.recovery.restored(this.log, restored.hardState.term)
    this.handedOut = this.log.applied
    // The snapshot's configuration; config entries after it apply again as they are handed out.
    this.config = restored.snapshot?.meta.config ?? restored.config
    this.lastHardState = restored.hardState
    this.randomizedElectionTimeout = this.drawElectionTimeout()
    // A quorum acknowledged us after a round began: nobody can have been elected until at least
    // electionTicks later on their clocks, less the drift we allow for.
    this.reads = new ReadOnly(this.id, Math.floor(options.electionTicks * (1 - options.leaseDriftFraction)))
  }

  // ---- inputs ---------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    this.ticks++
    if (this.role === "leader") this.tickLeader()
    else this.tickFollower()
    if (this.log.hasDamage()) this.requestRepair()
  }

  private tickFollower(): void {
    this.electionElapsed++
    // A voter with a damaged tail stays silent until enough witnesses prove that tail
    // uncommitted (see handleVote); asking again lets it grant once they have (seed 3472).
    if (this.role === "candidate" && this.electionElapsed % this.options.heartbeatTicks === 0) {
      for (const request of this.voteRequests) {
        if (!this.votes.has(request.to)) this.messagesAfterPersist.push(request)
      }
    }
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      // No word from a leader for a whole timeout: stop deferring to it, even if this node cannot
      // campaign itself (a damaged log), or it would ignore every other candidate forever.
      this.leader = undefined
      // A snapshot transfer from that leader will not finish either (review of ec873ae).
      this.assembly = undefined
      this.campaign(this.options.preVote ? "pre-vote" : "election", false)
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.options.electionTicks) {
      this.electionElapsed = 0
      if (this.options.checkQuorum) {
        const active = new Set<NodeId>([this.id])
        for (const [id, pr] of this.progress) {
          if (pr.recentActive) active.add(id)
          pr.recentActive = false
        }
        if (!isQuorumAll(this.decisionConfigs(), active)) {
          this.becomeFollower(this.term, undefined)
          return
        }
      }
    }
    if (this.leadTransferee !== undefined && ++this.transferElapsed >= this.options.electionTicks) {
      this.leadTransferee = undefined // the transfer timed out; serve proposals again
    }
    if (this.heartbeatElapsed >= this.options.heartbeatTicks) {
      this.heartbeatElapsed = 0
      this.broadcastHeartbeat(this.startReadRound())
      if (isJoint(this.config) && this.log.applied >= this.pendingConfIndex) this.maybeLeaveJoint(this.log.applied)
    }
  }

  /** Proposes client commands. Followers forward to a known leader. */
  propose(commands: ReadonlyArray<Uint8Array>): ProposeOutcome {
    if (commands.length === 0) return "dropped"
    if (this.role !== "leader") {
      if (this.leader === undefined || this.leader === this.id) return "dropped"
      this.send({ type: "propose", from: this.id, to: this.leader, term: this.term, commands })
      return "forwarded"
    }
    if (this.leadTransferee !== undefined) return "dropped"
    const incoming = commands.reduce((n, c) => n + c.length, 0)
    if (this.log.bytesAfter(this.log.committed) + incoming > this.options.maxUncommittedBytes) return "dropped"
    this.appendEntries(commands.map((data) => ({ kind: "command" as const, data })))
    return "appended"
  }

  /** Proposes a membership change; only one may be pending at a time. */
  proposeConfChange(change: ConfChange): ProposeOutcome {
    if (this.role !== "leader" || this.leadTransferee !== undefined) return "dropped"
    if (this.pendingConfIndex > this.log.applied) return "dropped"
    if (confChangeProblem(this.config, change) !== undefined) return "dropped"
    this.appendEntries([{ kind: "config", data: encodeConfChange(change) }])
    this.pendingConfIndex = this.log.lastIndex()
    this.trackMembers()
    return "appended"
  }

  /**
   * Asks for a linearizable read point. The answer comes as a `ReadState`
   * with the same `context` in a later `ready()`; a read is served once the
   * state machine has applied its index. No answer means retry.
   */
  readIndex(context: number): void {
    if (this.role === "leader") {
      this.leaderReadIndex(context, this.id)
    } else if (this.leader !== undefined && this.leader !== this.id) {
      this.send({ type: "read-index", from: this.id, to: this.leader, term: this.term, context })
    }
  }

  /** Hands leadership to `target` once its log is caught up. */
  transferLeadership(target: NodeId): void {
    if (this.role !== "leader" || target === this.id || !isVoter(this.config, target)) return
    const pr = this.progress.get(target)
    if (pr === undefined) return
    this.leadTransferee = target
    this.transferElapsed = 0
    if (pr.match === this.log.lastIndex()) this.send({ type: "timeout-now", from: this.id, to: target, term: this.term })
    else this.sendAppend(target)
  }

  /** Starts an election now (tests and operators). */
  campaignNow(): void {
    this.campaign(this.options.preVote ? "pre-vote" : "election", false)
  }

  /** The driver made entries up to (index, term) durable. */
  persisted(index: number, term: number): void {
    this.log.stableTo(index, term)
    if (this.role === "leader" && this.maybeCommit()) this.broadcastCommit()
  }

  /** The state machine applied everything up to `index`. */
  appliedTo(index: number): void {
    this.log.appliedTo(index)
  }

  /**
   * The application took a snapshot covering everything applied up to
   * `meta.index`; entries up to it are compacted away.
   */
  compact(snapshot: Snapshot): void {
    assert(snapshot.meta.index <= this.log.applied, "snapshot beyond applied")
    this.snapshot = snapshot
    this.log.compact(snapshot.meta.index, snapshot.meta.term)
    this.counters.compactions++
  }

  /** The disk reported entry `index` damaged at run time (a read found rot). */
  markDamaged(index: number, term: number | undefined): void {
    this.log.markDamaged(index, term)
    if (this.log.isDamaged(index)) this.recovery.foundDamage(this.term)
  }

  // ---- outputs ----------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.messages.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.snapshotToApply !== undefined ||
      this.repairSnapshotToApply !== undefined ||
      this.log.hasUnpersisted() ||
      this.hardStateChanged() ||
      this.log.committed > this.handedOut && this.log.entry(this.handedOut + 1) !== undefined
    )
  }

  ready(): Ready {
    const unpersisted = this.log.takeUnpersisted()
    const hardState = this.hardStateChanged() ? this.currentHardState() : undefined
    if (hardState !== undefined) this.lastHardState = hardState
    const committed: Array<Entry> = []
    const snapshot = this.snapshotToApply
    this.snapshotToApply = undefined
    if (snapshot !== undefined) this.handedOut = snapshot.meta.index
    const repairSnapshot = this.repairSnapshotToApply
    this.repairSnapshotToApply = undefined
    if (repairSnapshot !== undefined) this.handedOut = Math.max(this.handedOut, repairSnapshot.meta.index)
    for (let i = this.handedOut + 1; i <= this.log.committed; i++) {
      const entry = this.log.entry(i)
      if (entry === undefined) break // a damaged hole: apply stops here until it is repaired
      committed.push(entry)
      this.handedOut = i
      if (entry.kind === "config") this.applyConfig(entry)
    }
    const ready: Ready = {
      softState: { role: this.role, leader: this.leader, term: this.term },
      hardState,
      truncateFrom: unpersisted.truncateFrom,
      entries: unpersisted.entries,
      snapshot,
      repairSnapshot,
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      committed,
      readStates: this.readStates
    }
    this.messages = []
    this.messagesAfterPersist = []
    this.readStates = []
    return ready
  }

  private currentHardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed, commitTerm: this.commitTerm, ...(this.led ? { led: true } : {}) }
  }

  private hardStateChanged(): boolean {
    this.noteCommit(this.term)
    const h = this.lastHardState
    return h.term !== this.term || h.vote !== this.vote || h.commit !== this.log.committed || (h.led === true) !== this.led ||
      h.commitTerm !== this.commitTerm
  }

  /**
   * The commit index moved past what `commitTerm` covers: `termBound` is a term no earlier than
   * the one it was learned in. Our term only grows, so our term when we notice is such a bound,
   * except for a commit taken from a repair that a peer answered in a later term (see step).
   */
  private noteCommit(termBound: number): void {
    if (this.log.committed <= this.commitNoted) return
    this.commitNoted = this.log.committed
    this.commitTerm = Math.max(this.commitTerm, termBound)
  }

  // ---- role changes ---------------------------------------------------------------------

  private drawElectionTimeout(): number {
    return this.options.electionTicks + this.options.randomInt(this.options.electionTicks)
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term
      this.vote = undefined
      this.led = false
      this.recovery.termChanged()
    }
    this.leader = undefined
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.randomizedElectionTimeout = this.drawElectionTimeout()
    this.votes = new Map()
    this.voteRequests = []
    this.leadTransferee = undefined
    this.progress.clear()
    this.reads.reset()
    // A transfer from an earlier term or leader will not finish; a node holding one never campaigns.
    this.assembly = undefined
  }

  private becomeFollower(term: number, leader: NodeId | undefined): void {
    this.reset(term)
    this.role = "follower"
    this.leader = leader
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", "only a candidate becomes leader")
    this.reset(this.term)
    this.role = "leader"
    this.leader = this.id
    this.led = true
    this.counters.elections++
    for (const id of membersAll(this.decisionConfigs())) {
      if (id === this.id) continue
      this.progress.set(id, newProgress(this.log.lastIndex()))
    }
    // Conservative: no config change until everything up to here is applied.
    this.pendingConfIndex = this.log.lastIndex()
    // The no-op commits the previous terms' entries (Figure 8). The planted bug drops it and
    // counts old-term replicas instead, as implementations that get Figure 8 wrong do.
    if (this.options.plantedBug === "commit-previous-term") this.broadcastAppend()
    else this.appendEntries([{ kind: "noop", data: new Uint8Array(0) }])
  }

  /**
   * May this node lead? A voter — of a configuration it decides under: one in its log may be in
   * force already, while its commit index lags (seed 116: the most up-to-date node, re-added by
   * the last change, waited for ever) — whose log it can vouch for, and nothing to repair.
   */
  private promotable(): boolean {
    return this.decisionConfigs().some((config) => isVoter(config, this.id)) && this.log.tailKnown() && !this.log.hasDamage() &&
      (this.assembly === undefined || this.assembly.meta.index <= this.log.committed)
  }

  private campaign(kind: "pre-vote" | "election", transfer: boolean): void {
    if (!this.promotable()) return
    if (kind === "pre-vote") {
      this.reset(this.term)
      this.role = "pre-candidate"
    } else {
      this.reset(this.term + 1)
      this.role = "candidate"
      this.vote = this.id
    }
    const voteTerm = kind === "pre-vote" ? this.term + 1 : this.term
    this.votes.set(this.id, true)
    const configs = this.decisionConfigs()
    if (voteResultAll(configs, this.votes) === "won") {
      if (kind === "pre-vote") this.campaign("election", transfer)
      else this.becomeLeader()
      return
    }
    const requests: Array<VoteRequest> = []
    for (const id of membersAll(configs)) {
      if (id === this.id || !configs.some((config) => isVoter(config, id))) continue
      const request: VoteRequest = {
        type: "vote",
        from: this.id,
        to: id,
        term: voteTerm,
        preVote: kind === "pre-vote",
        transfer,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm()!
      }
      // A real vote request must not leave before our own vote is durable.
      if (kind === "election") this.messagesAfterPersist.push(request)
      else this.messages.push(request)
      requests.push(request)
    }
    if (kind === "election") this.voteRequests = requests
  }

  // ---- messages in ----------------------------------------------------------------------

  step(m: Message): void {
    this.noteCommit(this.term)
    this.stepMessage(m)
    // A repair answered from another term may have moved our commit index: the later term bounds it.
    this.noteCommit(Math.max(this.term, m.term))
  }

  private stepMessage(m: Message): void {
    assert(m.to === this.id, () => `message for ${m.to} delivered to ${this.id}`)
    // Every entry in our log has a term at most our current term: a bound for a damaged tail.
    const termBefore = this.term
    // Repair requests carry no claim about terms: answer them from any term, so a node stuck
    // in an old term with a damaged log can still be repaired.
    this.recovery.heardFrom(m.from)
    if (m.type === "repair") return this.handleRepair(m)
    if (m.type === "repair-snapshot") return this.handleRepairSnapshot(m)
    // Committed entries are the same in every term: take a repair from a peer in any term.
    if (m.type === "repair-response" && m.term < this.term) return this.handleRepairResponse(m)
    if (!this.adoptTerm(m)) return
    this.dispatch(m, termBefore)
  }

  /**
   * Compares the message's term with ours: a later term is adopted (unless leader stickiness
   * ignores it), a stale sender is told ours. False: the message needs nothing more.
   */
  private adoptTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === "vote") {
        // Leader stickiness: a node that heard from a live leader ignores disruptive candidates.
        const inLease = this.options.checkQuorum && this.leader !== undefined && this.electionElapsed < this.options.electionTicks
        if (!m.transfer && inLease) return false
        if (!m.preVote) this.becomeFollower(m.term, undefined)
      } else if (m.type === "vote-response" && m.preVote) {
        // A granted pre-vote carries the term we would campaign at; nothing to adopt.
        if (m.granted) {
          this.handleVoteResponse(m)
          return false
        }
        this.becomeFollower(m.term, undefined)
      } else {
        const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot"
        this.becomeFollower(m.term, fromLeader ? m.from : undefined)
      }
      return true
    }
    if (m.term < this.term) {
      if (m.type === "append" || m.type === "heartbeat") {
        // Tell a stale leader about the new term so it steps down (needed with CheckQuorum and PreVote).
        this.send({ type: "append-response", from: this.id, to: m.from, term: this.term, success: false, index: 0, hintIndex: 0, hintTerm: 0 })
      } else if (m.type === "vote" && m.preVote) {
        this.send({ type: "vote-response", from: this.id, to: m.from, term: this.term, preVote: true, granted: false })
      }
      return false
    }
    return true
  }

  private dispatch(m: Exclude<Message, RepairRequest | RepairSnapshot>, termBefore: number): void {
    switch (m.type) {
      case "vote":
        return this.handleVote(m, termBefore)
      case "vote-response":
        return this.handleVoteResponse(m)
      case "append":
        return this.handleAppend(m)
      case "append-response":
        return this.handleAppendResponse(m)
      case "heartbeat":
        return this.handleHeartbeat(m)
      case "heartbeat-response":
        return this.handleHeartbeatResponse(m)
      case "snapshot":
        return this.handleSnapshot(m)
      case "snapshot-response":
        return this.handleSnapshotResponse(m)
      case "timeout-now":
        if (this.role !== "leader") this.campaign("election", true)
        return
      case "propose":
        if (this.role === "leader") this.propose(m.commands)
        else if (this.leader !== undefined && this.leader !== this.id && this.leader !== m.from) {
          this.send({ ...m, from: this.id, to: this.leader, term: this.term })
        }
        return
      case "read-index":
        return this.handleReadIndex(m)
      case "read-index-response":
        if (this.role !== "leader") this.readStates.push({ context: m.context, index: m.index })
        return
      case "repair-response":
        return this.handleRepairResponse(m)
      default:
        return unreachable(m, "message")
    }
  }

  private handleVote(m: VoteRequest, termBefore: number): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === undefined && this.leader === undefined) ||
      (m.preVote && m.term > this.term)
    const damaged = !this.log.tailKnown() || this.log.hasUncommittedDamage()
    const upToDate = this.options.plantedBug === "vote-without-log-check" ||
      (damaged
        ? this.recovery.upToDateWithDamage(this.recoveryView(), m, termBefore) || (m.preVote && this.recovery.upToDateWithKnownPrefix(this.recoveryView(), m))
        : this.log.isUpToDate(m.lastIndex, m.lastTerm))
    const granted = canVote && upToDate
    if (m.preVote) {
      this.send({ type: "vote-response", from: this.id, to: m.from, term: granted ? m.term : this.term, preVote: true, granted })
      return
    }
    if (granted) {
      this.vote = m.from
      this.electionElapsed = 0
    }
    // Not proven yet is not a refusal: more witnesses of this term may come (the candidate asks
    // again), and a refusal would make the candidate give up the term they are in.
    if (!granted && canVote && damaged) return
    // The vote must be durable before the candidate hears it.
    this.messagesAfterPersist.push({ type: "vote-response", from: this.id, to: m.from, term: this.term, preVote: false, granted })
  }

  private handleVoteResponse(m: VoteResponse): void {
    if (m.preVote !== (this.role === "pre-candidate")) return
    if (this.role !== "candidate" && this.role !== "pre-candidate") return
    this.votes.set(m.from, m.granted)
    const result = voteResultAll(this.decisionConfigs(), this.votes)
    if (result === "won") {
      if (this.role === "pre-candidate") this.campaign("election", false)
      else this.becomeLeader()
    } else if (result === "lost") {
      this.becomeFollower(this.term, undefined)
    }
  }

  private handleAppend(m: AppendRequest): void {
    if (this.role !== "follower") this.becomeFollower(this.term, m.from)
    this.leader = m.from
    this.electionElapsed = 0
    const reply = (success: boolean, index: number, hintIndex = 0, hintTerm = 0): AppendResponse => ({
      type: "append-response", from: this.id, to: m.from, term: this.term, success, index, hintIndex, hintTerm
    })
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit is already known to match; say so.
      this.send(reply(true, this.log.committed))
      return
    }
    if (!this.log.matches(m.prevIndex, m.prevTerm)) {
      // Fast backtracking: point the leader at our last entry whose term is at most prevTerm.
      let hint = Math.min(m.prevIndex, this.log.lastIndex())
      while (hint > this.log.committed) {
        const t = this.log.term(hint)
        if (t !== undefined && t <= m.prevTerm) break
        hint--
      }
      this.send(reply(false, m.prevIndex, hint, this.log.term(hint) ?? 0))
      return
    }
    // All but a trailing run of fills of lost-term holes that nothing vouches for: we answer for
    // what we hold, and name the entry a batch must reach for the rest (RaftLog.unvouchedFills).
    const accepted = this.log.appendFromLeader(m.entries)
    const lastNew = m.prevIndex + accepted
    const reachTo = accepted < m.entries.length ? this.log.knownAfter(m.entries[m.entries.length - 1]!.index) : undefined
    assert(accepted === m.entries.length || reachTo !== undefined, () => `${this.id} held back fills at ${lastNew + 1} with nothing after them`)
    this.log.commitTo(Math.min(m.commit, lastNew))
    this.messagesAfterPersist.push(reply(true, lastNew, reachTo ?? 0))
  }

  private handleAppendResponse(m: AppendResponse): void {
    if (this.role !== "leader") return
    const pr = this.progress.get(m.from)
    if (pr === undefined) return
    pr.recentActive = true
    const fillBefore = pr.fillThrough
    if (m.success && m.hintIndex <= m.index) {
      pr.fillThrough = 0 // the follower took the whole batch
    } else if (m.success && m.hintIndex > pr.match) {
      // The follower held back fills after m.index until a batch reaches hintIndex. Entries we
      // sent past m.index will be rejected: probe again from there, with one long enough.
      pr.fillThrough = m.hintIndex
      if (pr.state !== "snapshot" && (pr.next > m.index + 1 || pr.state === "replicate")) becomeProbe(pr, Math.max(pr.match, m.index) + 1)
    }
    if (!m.success) return this.appendRejected(m, pr)
    if (m.index > pr.match) this.appendAcknowledged(m, pr)
    else this.appendMovedNothing(m, pr, fillBefore)
    this.sendAppend(m.from)
  }

  /** The follower's log does not match ours at the append's previous entry: backtrack and probe. */
  private appendRejected(m: AppendResponse, pr: Progress): void {
    if (m.index <= pr.match) {
      // The follower rejects an entry it once acknowledged: it found that entry damaged on its
      // disk (Protocol-Aware Recovery), or this is a duplicated old rejection. Either way resend
      // from its hint; a duplicate costs one round trip, and commit never goes back.
      if (m.hintIndex >= pr.match) return
      lowerMatchForDamage(pr, m.hintIndex)
    } else if (pr.state === "probe" && pr.next - 1 !== m.index) {
      return // a stale rejection of an earlier probe
    }
    // Our last entry with a term at most the follower's hint term: the logs may agree up to there.
    let next = Math.min(m.hintIndex, this.log.lastIndex())
    while (next > pr.match && next >= this.log.firstIndex()) {
      const t = this.log.term(next)
      if (t !== undefined && t <= m.hintTerm) break
      next--
    }
    becomeProbe(pr, Math.max(pr.match + 1, Math.min(m.index, next + 1)))
    this.sendAppend(m.from)
  }

  /** The follower holds our log through `m.index`, past its known match. */
  private appendAcknowledged(m: AppendResponse, pr: Progress): void {
    acknowledged(pr, m.index)
    if (pr.state === "probe" && pr.fillThrough === 0) {
      becomeReplicate(pr)
      freeInflight(pr, Number.MAX_SAFE_INTEGER)
    }
    freeInflight(pr, m.index)
    pr.probeSent = false
    // A new commit index goes out at once, so followers apply (and answer forwarded writes) promptly.
    if (this.maybeCommit()) this.broadcastCommit()
    else if (pr.match <= this.log.committed) {
      // A follower outside the quorum just caught up with committed entries: tell it they are committed.
      this.send({ type: "heartbeat", from: this.id, to: m.from, term: this.term, commit: pr.match, readRound: 0 })
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: "timeout-now", from: this.id, to: m.from, term: this.term })
    }
  }

  /** A success that moved nothing: a duplicate, or a probe that confirmed the known match. */
  private appendMovedNothing(m: AppendResponse, pr: Progress, fillBefore: number): void {
    // A short success that moved nothing (the probe could not reach fillThrough, e.g. our own
    // entry on the way is damaged): wait for the next heartbeat answer, or every response (and
    // every duplicate of one) would start another probe at once.
    const stalled = pr.state === "probe" && pr.fillThrough > 0 && m.success && m.hintIndex > m.index && fillBefore === pr.fillThrough
    if (!stalled) pr.probeSent = false
    freeInflight(pr, m.index)
    if (pr.state === "probe" && m.index === pr.match && pr.fillThrough === 0) {
      // The probe found the follower's log matching ours up to its known match (it had rejected an
      // entry it once acknowledged, or a stale rejection reset it): replicate again. Staying in probe
      // would answer every such response with another empty append, forever (seed 4193; etcd does the same).
      becomeReplicate(pr)
    }
  }

  private handleHeartbeat(m: Heartbeat): void {
    if (this.role !== "follower") this.becomeFollower(this.term, m.from)
    this.leader = m.from
    this.electionElapsed = 0
    // The leader sends min(its commit, our match), so this never commits unverified entries.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()))
    this.send({ type: "heartbeat-response", from: this.id, to: m.from, term: this.term, readRound: m.readRound })
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    if (this.role !== "leader") return
    const pr = this.progress.get(m.from)
    if (pr === undefined) return
    pr.recentActive = true
    pr.probeSent = false
    // Lost append responses never free their in-flight slots: with the window full, the follower
    // would get nothing more, ever (seed 9025). A heartbeat answer frees one, so an append goes out
    // and its answer (or rejection) resynchronizes (etcd does the same).
    if (pr.state === "replicate" && inflightFull(pr, this.options)) freeOldestInflight(pr)
    if (pr.state === "snapshot") this.sendSnapshotChunk(m.from)
    else if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true)
    if (m.readRound > 0 && this.decisionConfigs().some((config) => isVoter(config, m.from))) this.ackReadRound(m.from, m.readRound)
  }

  // ---- replication --------------------------------------------------------------------

  private appendEntries(items: ReadonlyArray<{ readonly kind: Entry["kind"]; readonly data: Uint8Array }>): void {
    let index = this.log.lastIndex()
    this.log.appendAsLeader(items.map((item) => ({ term: this.term, index: ++index, kind: item.kind, data: item.data })))
    // A single-voter cluster commits on its own persistence; otherwise replicate now, in parallel with our disk.
    this.broadcastAppend()
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) this.sendAppend(id)
  }

  /** Tells followers the new commit index: appends where there are entries to send, heartbeats elsewhere. */
  private broadcastCommit(): void {
    for (const [id, pr] of this.progress) {
      const before = this.messages.length
      this.sendAppend(id)
      if (this.messages.length === before && pr.match > 0) {
        this.send({ type: "heartbeat", from: this.id, to: id, term: this.term, commit: Math.min(this.log.committed, pr.match), readRound: 0 })
      }
    }
  }

  /**
   * Sends the follower what it lacks. With `sendIfEmpty`, a follower in the
   * replicate state with nothing new still gets an empty append at its
   * optimistic next index: if appends were lost, its rejection starts
   * backtracking (etcd does the same on heartbeat responses).
   */
  private sendAppend(to: NodeId, sendIfEmpty = false): void {
    const pr = this.progress.get(to)
    if (pr === undefined) return
    if (pr.state === "snapshot") return
    if (pr.state === "probe" && pr.probeSent) return
    if (pr.state === "replicate" && inflightFull(pr, this.options)) return
    const prevIndex = pr.next - 1
    const prevTerm = this.log.term(prevIndex)
    if (prevTerm === undefined) {
      if (prevIndex < this.log.firstIndex()) this.startSnapshot(to, pr)
      return // our own entry is damaged: repair first
    }
    // A probe carries two entries even past the byte limit, and as many as reach the follower's
    // fillThrough: a follower will not fill a hole at the end of a batch that nothing after it
    // vouches for (RaftLog.appendFromLeader), and a probe is how the leader comes back to that hole.
    const minEntries = pr.state === "probe" ? Math.max(2, pr.fillThrough - pr.next + 1) : 1
    const entries = pr.next <= this.log.lastIndex() ? this.log.slice(pr.next, this.log.lastIndex(), this.options.maxBytesPerMessage, minEntries) : []
    if (entries.length === 0 && pr.next <= this.log.lastIndex()) return // a damaged entry on our side
    // In replicate, nothing new means nothing to send: heartbeats carry the commit index.
    if (entries.length === 0 && pr.state === "replicate" && !sendIfEmpty) return
    const append: AppendRequest = {
      type: "append",
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed
    }
    this.send(append)
    const sent = entries.length === 0
      ? undefined
      : { last: entries[entries.length - 1]!.index, bytes: pr.state === "replicate" ? entries.reduce((n, e) => n + e.data.length, 0) : 0 }
    appendSent(pr, sent, this.options)
  }

  /** Commits the largest index a quorum holds, if it is from this term (Figure 8). */
  private maybeCommit(): boolean {
    const index = quorumIndexAll(this.decisionConfigs(), (id) => (id === this.id ? this.log.stable : this.progress.get(id)?.match ?? 0))
    if (index <= this.log.committed) return false
    const term = this.log.term(index)
    if (term !== this.term && this.options.plantedBug !== "commit-previous-term") return false
    this.log.commitTo(index)
    if (term === this.term) this.releaseReadsBeforeCommit()
    return true
  }

  private broadcastHeartbeat(readRound: number): void {
    for (const [id, pr] of this.progress) {
      this.send({
        type: "heartbeat",
        from: this.id,
        to: id,
        term: this.term,
        commit: Math.min(this.log.committed, pr.match),
        readRound
      })
    }
  }

  // ---- snapshots ----------------------------------------------------------------------

  private startSnapshot(to: NodeId, pr: Progress): void {
    if (this.snapshot === undefined) return
    becomeSnapshot(pr, this.snapshot.meta.index)
    this.counters.snapshotsSent++
    this.sendSnapshotChunk(to)
  }

  private sendSnapshotChunk(to: NodeId): void {
    const pr = this.progress.get(to)
    const snapshot = this.snapshot
    if (pr === undefined || snapshot === undefined || pr.state !== "snapshot") return
    if (snapshot.meta.index !== pr.snapshotIndex) {
      pr.snapshotIndex = snapshot.meta.index
      pr.snapshotOffset = 0
    }
    const chunk: SnapshotChunk = {
      type: "snapshot",
      from: this.id,
      to,
      term: this.term,
      meta: snapshot.meta,
      offset: pr.snapshotOffset,
      total: snapshot.data.length,
      chunk: snapshot.data.subarray(pr.snapshotOffset, pr.snapshotOffset + this.options.snapshotChunkBytes)
    }
    this.send(chunk)
  }

  private handleSnapshot(m: SnapshotChunk): void {
    if (this.role !== "follower") this.becomeFollower(this.term, m.from)
    this.leader = m.from
    this.electionElapsed = 0
    const reply = (nextOffset: number, reject = false): SnapshotResponse => ({
      type: "snapshot-response", from: this.id, to: m.from, term: this.term, index: m.meta.index, nextOffset, reject
    })
    if (m.meta.index <= this.log.committed) {
      // Our commit index overtook it (a peer's repair snapshot, say): no transfer is pending.
      if (this.assembly !== undefined && this.assembly.meta.index <= this.log.committed) this.assembly = undefined
      this.send(reply(-1))
      return
    }
    if (m.offset === 0) this.assembly = { meta: m.meta, total: m.total, parts: [], received: 0 }
    const assembly = this.assembly
    if (assembly === undefined || assembly.meta.index !== m.meta.index || assembly.meta.term !== m.meta.term || m.offset !== assembly.received) {
      this.send(reply(assembly !== undefined && assembly.meta.index === m.meta.index ? assembly.received : 0))
      return
    }
    assembly.parts.push(m.chunk.slice())
    assembly.received += m.chunk.length
    if (assembly.received < assembly.total) {
      this.send(reply(assembly.received))
      return
    }
    assert(assembly.received === assembly.total, "snapshot chunks overran the snapshot")
    const data = new Uint8Array(assembly.total)
    let offset = 0
    for (const part of assembly.parts) {
      data.set(part, offset)
      offset += part.length
    }
    this.assembly = undefined
    // Keep our log if it already extends the snapshot consistently; otherwise replace it.
    if (this.log.matches(m.meta.index, m.meta.term)) {
      this.log.commitTo(m.meta.index)
      this.send(reply(-1))
      return
    }
    const snapshot: Snapshot = { meta: m.meta, data }
    this.log.restoreSnapshot(m.meta)
    this.config = m.meta.config
    this.snapshot = snapshot
    this.snapshotToApply = snapshot
    // A peer's repair snapshot taken in the same batch is older: applied after this one, it would
    // rewind the state machine (review of 8f67ce1).
    this.repairSnapshotToApply = undefined
    this.counters.snapshotsInstalled++
    this.messagesAfterPersist.push(reply(-1))
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    if (this.role !== "leader") return
    const pr = this.progress.get(m.from)
    if (pr === undefined) return
    pr.recentActive = true
    if (pr.state !== "snapshot") return
    if (m.nextOffset === -1) {
      snapshotDone(pr, m.index)
      this.sendAppend(m.from)
      return
    }
    pr.snapshotOffset = m.index === pr.snapshotIndex ? m.nextOffset : 0
    this.sendSnapshotChunk(m.from)
  }

  // ---- reads ------------------------------------------------------------------------

  private handleReadIndex(m: ReadIndexRequest): void {
    if (this.role === "leader") this.leaderReadIndex(m.context, m.from)
    else if (this.leader !== undefined && this.leader !== this.id && this.leader !== m.from) {
      this.send({ ...m, from: this.id, to: this.leader, term: this.term })
    }
  }

  private leaderReadIndex(context: number, from: NodeId): void {
    if (this.log.term(this.log.committed) !== this.term) {
      // Until this leader commits in its own term it does not know the true commit index.
      this.reads.waitForCommit({ context, from })
      return
    }
    const soloVoter = voteResultAll(this.decisionConfigs(), new Map([[this.id, true]])) === "won"
    const leaseValid = this.options.readMode === "lease" && this.reads.leaseValid(this.ticks)
    if (soloVoter || leaseValid) {
      this.answerRead(context, from, this.log.committed)
      return
    }
    this.broadcastHeartbeat(this.reads.startRoundFor({ context, from }, this.log.committed, this.ticks))
  }

  private startReadRound(): number {
    return this.reads.startRound(this.log.committed, this.ticks)
  }

  private ackReadRound(from: NodeId, round: number): void {
    const answers = this.reads.acknowledge(from, round, (acks) => isQuorumAll(this.decisionConfigs(), acks))
    for (const a of answers) this.answerRead(a.context, a.from, a.index)
  }

  private answerRead(context: number, from: NodeId, index: number): void {
    if (from === this.id) this.readStates.push({ context, index })
    else this.send({ type: "read-index-response", from: this.id, to: from, term: this.term, context, index })
  }

  private releaseReadsBeforeCommit(): void {
    for (const r of this.reads.takeWaitingForCommit()) this.leaderReadIndex(r.context, r.from)
  }

  // ---- membership -------------------------------------------------------------------

  private applyConfig(entry: Entry): void {
    const change = decodeConfChange(entry.data)
    const before = this.config
    if (confChangeProblem(before, change) !== undefined) {
      // A second leave-joint (two leaders each left the joint phase), an enter-joint that raced
      // another, or a change that would leave no voters: every node applies the same entries, so
      // every node skips it alike. A bad entry never stops a node.
      this.counters.ignoredConfChanges++
      return
    }
    this.config = applyConfChange(before, change)
    if (this.role === "leader") {
      this.trackMembers()
      if (entersJoint(before, this.config)) {
        this.maybeLeaveJoint(entry.index)
      } else if (!isVoter(this.config, this.id)) {
        // Removed: hand over by stepping down; the others elect a leader.
        this.becomeFollower(this.term, undefined)
      } else {
        this.broadcastAppend()
      }
    }
  }

  /**
   * Leaves the joint phase once the joint configuration (applied at `appliedIndex`)
   * is in force, unless a config entry after it already does (or will) — a new
   * leader that inherits a joint configuration does this too, from `tick`.
   */
  private maybeLeaveJoint(appliedIndex: number): void {
    if (this.role !== "leader" || !isJoint(this.config) || this.leadTransferee !== undefined) return
    for (let i = appliedIndex + 1; i <= this.log.lastIndex(); i++) {
      const e = this.log.entry(i)
      if (e === undefined || e.kind === "config") return // pending (or unknown): wait for it
    }
    this.appendEntries([{ kind: "config", data: encodeConfChange({ kind: "leave-joint" }) }])
    this.pendingConfIndex = this.log.lastIndex()
    this.trackMembers()
  }

  /** Leader: progress for every member of every configuration we decide under, and no one else. */
  private trackMembers(): void {
    const current = membersAll(this.decisionConfigs())
    for (const id of current) {
      if (id !== this.id && !this.progress.has(id)) this.progress.set(id, newProgress(this.log.lastIndex()))
    }
    for (const id of [...this.progress.keys()]) if (!current.includes(id)) this.progress.delete(id)
  }

  /**
   * The configurations elections, commits, reads and CheckQuorum need a quorum of (see
   * membership.ts): the one the last config entry in our log leads to, and the one before it.
   * A leader appends a change only once the previous one is applied, so the one before the last
   * is committed and everything older is superseded; the last may be committed too. Without
   * this, a node whose commit index lagged campaigned under its old configuration while the
   * cluster had moved on to a new one whose quorums do not meet the old one's: two leaders in
   * one term (seed 385, once commit indexes became lazily durable). Cached; appends extend it.
   */
  private decisionConfigs(): ReadonlyArray<ClusterConfig> {
    const chain = this.configChain()
    return chain.length <= 2 ? chain : chain.slice(chain.length - 2)
  }

  /** Our applied configuration, then each one the config entries after it in our log lead to. */
  private configChain(): ReadonlyArray<ClusterConfig> {
    const cache = this.decisionCache
    if (cache.config !== this.config || cache.logVersion !== this.log.version || cache.scannedThrough > this.log.lastIndex()) {
      cache.config = this.config
      cache.logVersion = this.log.version
      cache.configs = [this.config]
      cache.scannedThrough = Math.max(this.handedOut, this.log.snapshotBoundary.index)
    }
    for (let index = cache.scannedThrough + 1; index <= this.log.lastIndex(); index++) {
      const entry = this.log.entry(index)
      if (entry?.kind !== "config") continue
      const change = decodeConfChange(entry.data)
      const last = cache.configs[cache.configs.length - 1]!
      // Skipped alike when applied (applyConfig): an impossible change never takes effect.
      if (confChangeProblem(last, change) === undefined) cache.configs = [...cache.configs, applyConfChange(last, change)]
    }
    cache.scannedThrough = this.log.lastIndex()
    return cache.configs
  }

  // ---- repair (Protocol-Aware Recovery: recovery.ts) ------------------------------------

  /** What recovery reads of this node. */
  private recoveryView(): RecoveryView {
    this.noteCommit(this.term)
    return { id: this.id, term: this.term, led: this.led, log: this.log, config: this.config, handedOut: this.handedOut, commitTerm: this.commitTerm }
  }

  private requestRepair(): void {
    if (this.ticks % this.options.heartbeatTicks !== 0) return
    for (const request of this.recovery.repairRequests(this.recoveryView())) this.send(request)
  }

  private handleRepair(m: RepairRequest): void {
    const answer = this.recovery.answerRepair(this.recoveryView(), m, this.snapshot)
    if (answer.snapshot !== undefined) this.send(answer.snapshot)
    // Always, and only once our term is durable (see Recovery.answerRepair).
    this.messagesAfterPersist.push(answer.response)
  }

  private handleRepairSnapshot(m: RepairSnapshot): void {
    const snapshot = this.recovery.takeRepairSnapshot(this.recoveryView(), m)
    if (snapshot === undefined) return
    // The snapshot's configuration is the one in force at its index: config entries in the
    // prefix it replaces will never be applied here (a node rebuilt from a peer's snapshot kept
    // its bootstrap voters, and could lead under them beside the real cluster's leader).
    if (snapshot.meta.index > this.handedOut) this.config = snapshot.meta.config
    this.snapshot = snapshot
    this.repairSnapshotToApply = snapshot
    this.counters.repairsFilled++
  }

  private handleRepairResponse(m: RepairResponse): void {
    this.counters.repairsFilled += this.recovery.takeRepairResponse(this.recoveryView(), m)
  }

  // ---- helpers ----------------------------------------------------------------------

  private send(m: Message): void {
    this.messages.push(m)
  }

  // ---- introspection, for invariants and tests ------------------------------------------

  /** The leader's view of a follower's match index. */
  matchOf(id: NodeId): number | undefined {
    return this.progress.get(id)?.match
  }

  /** One line of state for diagnostics (a liveness failure prints every node's). */
  describe(): string {
    const log = this.log
    const config = `voters=${this.config.voters.join(",")}` +
      (this.config.outgoing.length > 0 ? ` outgoing=${this.config.outgoing.join(",")}` : "") +
      (this.config.learners.length > 0 ? ` learners=${this.config.learners.join(",")}` : "")
    const damaged = log.damagedIndexes()
    const progress = this.role === "leader"
      ? " progress=" + [...this.progress].map(([id, pr]) => `${id}:${pr.state}/m${pr.match}/n${pr.next}${pr.inflight.length > 0 ? `/i${pr.inflight.length}` : ""}`).join(",")
      : ""
    const decisions = this.decisionConfigs()
    const pending = decisions.length > 1
      ? ` deciding-also-under=${decisions.slice(1).map((c) => c.voters.join(",") + (c.outgoing.length > 0 ? `/${c.outgoing.join(",")}` : "")).join(";")}`
      : ""
    return `${this.id} ${this.role} term=${this.term} vote=${this.vote ?? "-"} leader=${this.leader ?? "-"} ` +
      `log=${log.firstIndex()}..${log.lastIndex()} lastTerm=${log.lastTerm() ?? "?"} commit=${log.committed} applied=${log.applied} stable=${log.stable} ` +
      `${config}${pending}${damaged.length > 0 ? ` damaged=${damaged.length}@${damaged[0]}` : ""}${progress}`
  }

  /** Bytes of a command, for callers that build commands from strings. */
  static command(text: string): Uint8Array {
    return textEncoder.encode(text)
  }
}
