/**
 * Protocol-Aware Recovery (Alagappan et al., FAST 2018) of a node whose disk
 * damaged log entries: the damaged entries stay in the log as holes (see
 * `log.ts`), and this room decides how the node gets them back and what it
 * may vote for meanwhile.
 *
 * - Repair: the node asks every peer it knows for the entries after its
 *   commit index and for its holes (`repairRequests`); peers answer with what
 *   they hold and how far they know it committed (`answerRepair`); the answer
 *   fills a hole where it is provably the entry the node lost
 *   (`takeRepairResponse`), or replaces a damaged prefix with the peer's
 *   snapshot (`takeRepairSnapshot`).
 * - Voting: a voter with a damaged uncommitted tail must not vote away an
 *   entry that may be committed; it grants only candidates at least as up to
 *   date as what its true log may hold (`upToDateWithDamage`), judged with
 *   "lack witnesses" — candidates of a later term than the damage, who
 *   promised never to take an older leader's entry.
 *
 * It reads the node through `RecoveryView` (no roles, progress or message
 * queues) and returns the messages to send; the node sends them.
 */
import type { NodeId } from "../node/node-id.ts"
import { decodeConfChange } from "./codec.ts"
import type { RaftLog } from "./log.ts"
import { applyConfChange, blocksEveryHalf, confChangeProblem, members, type ClusterConfig } from "./membership.ts"
import type { Entry, RepairRequest, RepairResponse, RepairSnapshot, Snapshot, VoteRequest } from "./types.ts"

/** What recovery reads of the node. */
export interface RecoveryView {
  readonly id: NodeId
  readonly term: number
  /** Did this node become leader in its current term (durably)? */
  readonly led: boolean
  readonly log: RaftLog
  /** The applied configuration. */
  readonly config: ClusterConfig
  /** Committed entries handed out for applying. */
  readonly handedOut: number
  /** A term no earlier than the one our commit index was learned in. */
  readonly commitTerm: number
}

/** Most holes (and runs) one repair request names. */
const REPAIR_BATCH = 32

export class Recovery {
  /** The latest term in which an entry still damaged was found so: we may have acknowledged it then. */
  private damageTerm = 0
  /**
   * Candidates of the current term (later than `damageTerm`) and their last indexes. Each has
   * durably moved to this term, so it will never again accept an entry from an older term's
   * leader: an entry it lacks now can only be committed by a leader that holds it.
   */
  private readonly lackWitnesses = new Map<NodeId, number>()
  /** Every node we have heard from: repairs ask them too, since a damaged log may hold a stale configuration. */
  private readonly knownPeers = new Set<NodeId>()

  /** The node restarted in `term` with the log as recovered from disk. */
  restored(log: RaftLog, term: number): void {
    if (log.hasDamage()) this.damageTerm = term
  }

  heardFrom(id: NodeId): void {
    this.knownPeers.add(id)
  }

  /** An entry was found damaged in `term`: witnesses of earlier damage no longer count. */
  foundDamage(term: number): void {
    this.damageTerm = term
    this.lackWitnesses.clear()
  }

  /** The node moved to a new term: witnesses belong to the term they were in. */
  termChanged(): void {
    this.lackWitnesses.clear()
  }

  /**
   * Asks every peer for the committed entries after our commit index, up to
   * our last entry (64 at a time). Peers answer only with entries they know
   * committed, so the answer is the one true log there: it fills our holes,
   * confirms our intact entries, and replaces any uncommitted entries of ours
   * that diverge from it. A node whose damaged tail stopped it from voting
   * becomes a voter again this way, even with no leader to repair it (a
   * quorum that needs that node's vote would otherwise be stuck).
   */
  repairRequests(view: RecoveryView): ReadonlyArray<RepairRequest> {
    const log = view.log
    // Holes within our commit index (the same entry everywhere), then the run after it.
    const holes = log.damagedIndexes()
    const indexes = holes.filter((i) => i <= log.committed).slice(0, REPAIR_BATCH)
    const from = log.committed + 1
    const runEnd = Math.min(log.lastIndex(), from + REPAIR_BATCH - 1)
    for (let i = from; i <= runEnd; i++) indexes.push(i)
    // Then holes past that run, each with our next intact entry: where the peer's entry there has
    // our term, it vouches for the peer's copy of the hole (Log Matching; takeRepairResponse).
    // Seed 712: two most up-to-date nodes each lacked an entry the other held, far past the
    // commit index, so neither could campaign and the third could not win.
    const far = new Set<number>()
    for (const hole of holes) {
      if (hole <= runEnd) continue
      if (far.size >= 2 * REPAIR_BATCH) break
      far.add(hole)
      const witness = log.intactAfter(hole)
      if (witness !== undefined) far.add(witness)
    }
    indexes.push(...[...far].sort((x, y) => x - y))
    if (indexes.length === 0) return []
    const requests: Array<RepairRequest> = []
    for (const id of new Set([...members(view.config), ...this.knownPeers])) {
      if (id === view.id) continue
      requests.push({ type: "repair", from: view.id, to: id, term: view.term, indexes })
    }
    return requests
  }

  /**
   * A peer asks us for entries. `snapshot`: sent at once when it covers an index asked for
   * (entries we compacted live on only there; whole, since repairs are rare). `response`: sent
   * only once our term is durable, since it also witnesses that our log ends at lastIndex in
   * this term (see takeRepairResponse).
   */
  answerRepair(view: RecoveryView, m: RepairRequest, snapshot: Snapshot | undefined): {
    readonly snapshot: RepairSnapshot | undefined
    readonly response: RepairResponse
  } {
    const log = view.log
    const snapshotMessage: RepairSnapshot | undefined = snapshot !== undefined && m.indexes.some((i) => i <= snapshot.meta.index)
      ? { type: "repair-snapshot", from: view.id, to: m.from, term: view.term, meta: snapshot.meta, data: snapshot.data }
      : undefined
    const entries: Array<Entry> = []
    for (const index of m.indexes) {
      // Uncommitted entries too, marked by our commit index: the requester uses those only
      // where a later entry proves our logs agree (see takeRepairResponse).
      const entry = log.entry(index)
      if (entry !== undefined) entries.push(entry)
    }
    return {
      snapshot: snapshotMessage,
      response: {
        type: "repair-response", from: view.id, to: m.from, term: view.term, commit: log.committed,
        lastIndex: log.lastIndex(), lastTerm: log.lastTerm() ?? 0, entries
      }
    }
  }

  /**
   * A peer's snapshot, offered for our holes. When it is usable, our log's prefix is replaced by
   * it and it is returned: the node saves it, takes its configuration and restores from it.
   */
  takeRepairSnapshot(view: RecoveryView, m: RepairSnapshot): Snapshot | undefined {
    const log = view.log
    const meta = m.meta
    // Useful only if it covers one of our holes and stays within what we know is committed, or
    // ends on an intact entry of ours of its term: a snapshot holds only committed entries, and
    // our log agrees with it up to there (Log Matching), so that entry is committed too. Seed
    // 765: a node whose commit index was lost had holes its peers had compacted away, and every
    // election needed it.
    if (meta.index <= log.snapshotBoundary.index) return undefined
    // Not past what our disk holds: storage saves the snapshot, then appends after it (a batch
    // that appended entries and took a snapshot among them failed to persist them).
    if (meta.index > log.stable) return undefined
    if (!log.damagedIndexes().some((i) => i <= meta.index)) return undefined
    const ours = log.term(meta.index)
    const oursIntact = ours !== undefined && !log.isDamaged(meta.index)
    if (oursIntact && ours !== meta.term) return undefined
    if (meta.index > log.committed) {
      if (!oursIntact) return undefined
      log.commitTo(meta.index)
    }
    log.replacePrefix(meta)
    return { meta, data: m.data }
  }

  /** A peer's answer to our repair request: fills the holes it provably fills. Returns how many. */
  takeRepairResponse(view: RecoveryView, m: RepairResponse): number {
    const log = view.log
    const holesBefore = log.damagedIndexes().length
    this.fillMatched(view, m)
    // A peer in our term, later than the damage, witnesses that its log ends at lastIndex, as a
    // candidate's vote request does (see upToDateWithDamage); its answer left after its term
    // was durable.
    if (m.term === view.term && m.term > this.damageTerm) this.lackWitnesses.set(m.from, m.lastIndex)
    this.fillCommitted(view, m)
    return holesBefore - log.damagedIndexes().length
  }

  /** Fills the holes the peer's entries match ours at (Log Matching, or one leader per term). */
  private fillMatched(view: RecoveryView, m: RepairResponse): void {
    const log = view.log
    // The peer's copy is the one we lost if a later entry of ours, intact, has the same term as
    // the peer's entry there (Log Matching: the logs agree up to it). A most up-to-date node
    // with a hole after its commit index can then campaign again without a leader to repair it
    // (seed 5557: a joint configuration needed its vote, and no one else could win).
    // The same holds at a hole past our commit index where the peer's entry is of our current
    // term, if we led it (durably recorded; a vote for ourselves is not enough, we may have lost
    // that election): we wrote that entry there, and nothing has truncated it since (seed 3472:
    // a leader that lost its whole log to rot).
    const ledThisTerm = view.led
    const matchThrough = m.entries.reduce((best, e) => {
      if (e.index <= best || e.index > log.lastIndex() || (log.term(e.index) ?? e.term) !== e.term) return best
      const same = !log.isDamaged(e.index) || (ledThisTerm && e.term === view.term && e.index > log.committed)
      return same ? e.index : best
    }, 0)
    // Or if our own entry's term, bounded by its neighbours, is the peer's: one leader per term.
    // Both hold below our commit index too, where the peer may not know the entry committed
    // (seed 3928: each of two voters held what the other lacked, and neither would take it).
    for (const entry of m.entries) {
      if (!log.isDamaged(entry.index)) continue
      const { low, high } = log.termBounds(entry.index, this.damageTerm)
      if (entry.index <= matchThrough || (low === high && high === entry.term)) log.fill(entry)
    }
  }

  /** Fills holes with, and extends our log by, entries the peer proves committed. */
  private fillCommitted(view: RecoveryView, m: RepairResponse): void {
    const log = view.log
    // Or, at or below our commit index, if the peer's last entry is of the term we learned our
    // commit index in (commitTerm bounds it) or later, and at or past our commit index: the
    // leader that wrote that entry held every entry we know committed (Leader Completeness), and
    // the peer's log matches that leader's up to it (Log Matching). Seed 3472: the only node that
    // knew entry 1 committed had lost it, its peers did not know it was committed, and the joint
    // configuration could not elect anyone without that node's vote. Seed 510 (reopened storage
    // drawing new randomness): the same, after the node had moved on to a later term in which no
    // one was elected; our current term as the bound left its peers, whose logs end in the
    // term the commit was learned in, unable to vouch, and no election could win without it.
    const vouchesCommitted = m.lastTerm >= Math.max(1, view.commitTerm) && m.lastIndex >= log.committed
    const run: Array<Entry> = []
    for (const entry of m.entries) {
      if (vouchesCommitted && entry.index <= log.committed && log.isDamaged(entry.index)) log.fill(entry)
      // Only committed entries fill holes below our commit or extend our log: an uncommitted one
      // could be from a different branch.
      if (entry.index > m.commit) continue
      if (entry.index <= log.committed) {
        // A committed entry is the same on every node: it fills our hole as it is.
        if (log.isDamaged(entry.index)) log.fill(entry)
      } else if (entry.index === log.committed + 1 + run.length) {
        run.push(entry)
      }
    }
    if (run.length > 0) {
      // Our log up to our commit index is the committed log, so a committed run right after it
      // continues our log exactly as a leader's append would (Log Matching).
      const accepted = log.appendFromLeader(run)
      if (accepted > 0) log.commitTo(run[accepted - 1]!.index)
    }
  }

  /**
   * The election restriction for a log with a damaged uncommitted tail (Protocol-Aware Recovery's
   * rule for it). What we must not vote away is what may be committed: our log up to `end`, the
   * entries after which candidates of this term prove uncommitted — none of them holds such an
   * entry, they block every quorum that could have committed it, and they have promised never to
   * take it from an older leader. A lost term at `end` is bounded by its neighbours, or by the
   * term we were in when we found the damage (no entry we acknowledged is later): a candidate at
   * least that up to date is at least as up to date as our true log. So a damaged tail no peer holds cannot block elections (seeds 3928, 9260),
   * yet never helps elect a log that lacks a committed entry.
   */
  upToDateWithDamage(view: RecoveryView, m: VoteRequest, termBound: number): boolean {
    const witnesses = new Map(this.lackWitnesses)
    // A real vote request is the candidate's promise; a pre-vote is judged as its vote would be.
    if (m.term > this.damageTerm) witnesses.set(m.from, m.lastIndex)
    if (!m.preVote && m.term > this.damageTerm) this.lackWitnesses.set(m.from, m.lastIndex)
    const end = possiblyCommittedEnd(view, witnesses)
    const { high } = view.log.termBounds(end, Math.min(termBound, this.damageTerm))
    return m.lastTerm > high || (m.lastTerm === high && m.lastIndex >= end)
  }

  /**
   * A pre-vote from a damaged voter, judged against its log before the damaged tail. Witnesses
   * exist only in a later term, and the real vote still needs them; without this, a damaged voter
   * that every quorum needs would keep every election from starting, so no one would ever move
   * to a later term to witness (seed 3472).
   */
  upToDateWithKnownPrefix(view: RecoveryView, m: VoteRequest): boolean {
    const log = view.log
    const firstUnknown = log.damagedIndexes().find((i) => i > log.committed) ?? log.lastIndex() + 1
    const end = Math.min(firstUnknown - 1, log.lastIndex())
    const term = log.term(end) ?? log.termBounds(end, this.damageTerm).high
    return m.lastTerm > term || (m.lastTerm === term && m.lastIndex >= end)
  }
}

/**
 * The last index that may be committed, given nodes that lack everything after their last
 * index: the first index past our commit whose lackers block every configuration that could
 * have committed it ends it. Those configurations come from the entries before it: ours, and
 * the changes in the entries after them. A damaged entry may have been one more change; one
 * unknown step is covered (blocking each half of a configuration blocks its neighbours), a
 * second change after it is not, and the scan stops there.
 */
const possiblyCommittedEnd = (view: RecoveryView, lackers: ReadonlyMap<NodeId, number>): number => {
  const log = view.log
  const last = log.lastIndex()
  const configs: Array<ClusterConfig> = [view.config]
  let unknownStep = false
  for (let index = Math.max(view.handedOut, log.snapshotBoundary.index) + 1; index <= last; index++) {
    if (index > log.committed) {
      const lacking = new Set([...lackers].filter(([, lastIndex]) => lastIndex < index).map(([id]) => id))
      if (configs.every((config) => blocksEveryHalf(config, lacking))) return index - 1
    }
    const entry = log.entry(index)
    if (entry === undefined || entry.kind === "config") {
      if (unknownStep) return last
      unknownStep = entry === undefined
    }
    if (entry?.kind === "config") {
      const change = decodeConfChange(entry.data)
      const current = configs[configs.length - 1]!
      if (confChangeProblem(current, change) === undefined) configs.push(applyConfChange(current, change))
    }
  }
  return last
}
