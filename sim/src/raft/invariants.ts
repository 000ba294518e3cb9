/**
 * Raft's safety properties, checked from outside the nodes after every step
 * of every node (the simulator shares memory with them):
 *
 * - election safety: at most one leader per term;
 * - state machine safety (and so log matching on committed entries): every
 *   node applies the same entry at each index;
 * - leader completeness: a node leading term T holds every entry committed
 *   in a term before T (with the same term). An entry's commit term is
 *   bounded above by the lowest term any node was in when applying it (a node
 *   learns a commit only from a leader of its own term), so checking entries
 *   whose bound is below T never raises a false alarm;
 * - commit monotonicity within a node's incarnation.
 *
 * A violation stops the run with the seed.
 */
import { crc32c } from "@cairn/core/checksum/crc32c"
import type { NodeId } from "@cairn/core"
import type { Raft } from "@cairn/core/raft/raft"
import type { RaftObserver } from "@cairn/core/raft/node"
import type { Entry } from "@cairn/core/raft/types"

export class RaftInvariants {
  private readonly leaderOfTerm = new Map<number, NodeId>()
  /** index → (term, checksum of kind and data) of the entry applied there, and a bound on its commit term. */
  private readonly applied = new Map<number, { readonly term: number; readonly sum: number; readonly by: NodeId; commitTerm: number }>()
  private readonly lastCommit = new Map<NodeId, { readonly raft: Raft; readonly commit: number }>()
  private readonly checkedLeaders = new Set<string>()
  private readonly report: (violation: string) => void
  elections = 0
  /** Sums of every Raft instance's counters (snapshots, compactions, repairs), for coverage. */
  private readonly counterTotals = new Map<Raft, Raft["counters"]>()

  constructor(report: (violation: string) => void) {
    this.report = report
  }

  observer(): RaftObserver {
    return { afterReady: (raft, committed) => this.check(raft, committed) }
  }

  /** Snapshots sent and installed, compactions and repaired entries, over every node and incarnation. */
  coverage(): Record<string, number> {
    const total = { snapshotsSent: 0, snapshotsInstalled: 0, compactions: 0, repairsFilled: 0 }
    for (const c of this.counterTotals.values()) {
      total.snapshotsSent += c.snapshotsSent
      total.snapshotsInstalled += c.snapshotsInstalled
      total.compactions += c.compactions
      total.repairsFilled += c.repairsFilled
    }
    return total
  }

  private check(raft: Raft, committed: ReadonlyArray<Entry>): void {
    const id = raft.id
    this.counterTotals.set(raft, raft.counters)
    if (raft.role === "leader") {
      const existing = this.leaderOfTerm.get(raft.term)
      if (existing === undefined) {
        this.leaderOfTerm.set(raft.term, id)
        this.elections++
      } else if (existing !== id) {
        this.report(`election safety: ${existing} and ${id} both lead term ${raft.term}`)
      }
      const key = `${id}/${raft.term}`
      if (!this.checkedLeaders.has(key)) {
        this.checkedLeaders.add(key)
        this.checkLeaderCompleteness(raft)
      }
    }
    for (const entry of committed) {
      const sum = crc32c(entry.data) ^ (entry.kind === "command" ? 1 : entry.kind === "config" ? 2 : 3)
      const seen = this.applied.get(entry.index)
      if (seen === undefined) {
        this.applied.set(entry.index, { term: entry.term, sum, by: id, commitTerm: raft.term })
      } else if (seen.term === entry.term && seen.sum === sum) {
        seen.commitTerm = Math.min(seen.commitTerm, raft.term)
      } else {
        this.report(`state machine safety: ${id} applied (term ${entry.term}) at index ${entry.index} but ${seen.by} applied (term ${seen.term}) there`)
      }
    }
    // The entry at a node's commit index and its snapshot boundary are committed too, even when no
    // apply went through them (a peer's repair snapshot, a commit index raised by repair): where
    // any node applied that index, the terms agree.
    const boundary = raft.log.snapshotBoundary
    if (boundary.index > 0) this.checkCommittedTerm(raft, boundary.index, boundary.term, "snapshot boundary")
    const commit = raft.log.committed
    if (commit > boundary.index && !raft.log.isDamaged(commit)) this.checkCommittedTerm(raft, commit, raft.log.term(commit), "commit index")
    const previous = this.lastCommit.get(id)
    if (previous !== undefined && previous.raft === raft && raft.log.committed < previous.commit) {
      this.report(`commit went back on ${id}: ${previous.commit} -> ${raft.log.committed}`)
    }
    this.lastCommit.set(id, { raft, commit: raft.log.committed })
  }

  private checkCommittedTerm(raft: Raft, index: number, term: number | undefined, what: string): void {
    const seen = this.applied.get(index)
    if (seen !== undefined && term !== undefined && seen.term !== term) {
      this.report(`state machine safety: ${raft.id}'s ${what} is (${index}, term ${term}) but ${seen.by} applied term ${seen.term} there`)
    }
  }

  private checkLeaderCompleteness(raft: Raft): void {
    for (const [index, seen] of this.applied) {
      if (seen.commitTerm >= raft.term) continue // may have been committed in this term or later
      if (index > raft.log.lastIndex()) {
        this.report(`leader completeness: ${raft.id} leads term ${raft.term} with last index ${raft.log.lastIndex()} but entry ${index} was committed by term ${seen.commitTerm}`)
        return
      }
      if (index < raft.log.firstIndex()) continue
      const term = raft.log.term(index)
      if (term !== undefined && !raft.log.isDamaged(index) && term !== seen.term) {
        this.report(`leader completeness: ${raft.id} leads term ${raft.term} with term ${term} at index ${index}, where term ${seen.term} was applied`)
        return
      }
    }
  }
}
