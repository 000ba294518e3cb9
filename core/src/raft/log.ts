/**
 * The in-memory view of a node's Raft log: a snapshot boundary, the entries
 * after it, and how far they are committed, applied and durable.
 *
 * Entries the disk reported damaged stay in the log as holes with the term
 * their header still vouches for (or unknown): the node never serves them,
 * never votes or acknowledges as if it held them, and repairs them from a
 * peer (Protocol-Aware Recovery: truncating them could lose committed data).
 */
import { assert } from "../invariant/invariant.ts"
import type { Entry, SnapshotMeta } from "./types.ts"

export class RaftLog {
  /** Index and term of the last entry covered by the snapshot (0, 0 for none). */
  private snapshotIndex = 0
  private snapshotTerm = 0
  private entries: Array<Entry> = []
  /** Damaged indexes → the term still known from metadata, or undefined. */
  private readonly damaged = new Map<number, number | undefined>()
  committed = 0
  applied = 0
  /** Last index known durable on this node. */
  stable = 0
  /** First index not yet handed out for persistence. */
  private newFrom = 1
  /** Storage must drop entries from here before writing (a conflict truncated our suffix). */
  private pendingTruncate: number | undefined
  /** Holes filled by repair, to persist. */
  private readonly repaired = new Set<number>()
  /** Bumped whenever an entry already in the log changes (a truncation, a fill, a snapshot); appends leave it. */
  version = 0

  static restore(snapshot: SnapshotMeta | undefined, entries: ReadonlyArray<Entry>, commit: number): RaftLog {
    const log = new RaftLog()
    if (snapshot !== undefined) {
      log.snapshotIndex = snapshot.index
      log.snapshotTerm = snapshot.term
    }
    for (const entry of entries) {
      if (entry.index <= log.snapshotIndex) continue
      assert(entry.index === log.lastIndex() + 1, () => `restored log has a gap at ${entry.index}`)
      log.entries.push(entry)
    }
    log.committed = Math.max(commit, log.snapshotIndex)
    log.applied = log.snapshotIndex
    log.stable = log.lastIndex()
    log.newFrom = log.lastIndex() + 1
    assert(log.committed <= log.lastIndex() || log.committed === log.snapshotIndex, "commit beyond the restored log")
    log.committed = Math.min(log.committed, log.lastIndex())
    return log
  }

  firstIndex(): number {
    return this.snapshotIndex + 1
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length
  }

  get snapshotBoundary(): { readonly index: number; readonly term: number } {
    return { index: this.snapshotIndex, term: this.snapshotTerm }
  }

  /** Term of entry `index`; undefined if compacted away, beyond the end, or damaged with its term lost. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined
    if (this.damaged.has(index)) return this.damaged.get(index)
    return this.entries[index - this.snapshotIndex - 1]!.term
  }

  lastTerm(): number | undefined {
    return this.term(this.lastIndex())
  }

  /** The intact entry at `index`, or undefined. */
  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex() || this.damaged.has(index)) return undefined
    return this.entries[index - this.snapshotIndex - 1]
  }

  /** Intact entries in [from, to], stopping early at a damaged one or at `maxBytes` (always at least `minEntries`). */
  slice(from: number, to: number, maxBytes = Number.MAX_SAFE_INTEGER, minEntries = 1): ReadonlyArray<Entry> {
    assert(from > this.snapshotIndex, () => `slice from ${from} below the snapshot ${this.snapshotIndex}`)
    const out: Array<Entry> = []
    let bytes = 0
    for (let i = from; i <= Math.min(to, this.lastIndex()); i++) {
      const entry = this.entry(i)
      if (entry === undefined) break
      bytes += entry.data.length + 24
      if (out.length >= minEntries && bytes > maxBytes) break
      out.push(entry)
    }
    return out
  }

  /** Does our log hold entry (index, term)? Damaged entries with unknown terms never match. */
  matches(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** Is (lastIndex, lastTerm) at least as up to date as our log (Raft §5.4.1)? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    assert(ourTerm !== undefined, "up-to-date check with an unknown last term")
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /**
   * Appends `entries` from a leader after prevIndex matched: entries that
   * agree are kept, the first conflict truncates our suffix. Damaged entries
   * are replaced by the leader's copy. Returns how many entries, from the
   * front, our log now holds as the leader's: all of them, or fewer when the
   * last ones would fill holes nothing vouches for (see `unvouchedFills`).
   */
  appendFromLeader(entries: ReadonlyArray<Entry>): number {
    const accepted = entries.length - this.unvouchedFills(entries)
    for (const entry of entries.slice(0, accepted)) {
      if (entry.index <= this.snapshotIndex) continue
      if (entry.index <= this.lastIndex()) {
        if (!this.damaged.has(entry.index) && this.term(entry.index) === entry.term) continue
        const knownTerm = this.damaged.get(entry.index)
        if (this.damaged.has(entry.index) && (knownTerm === undefined || knownTerm === entry.term)) {
          // A repair: the leader's entry fills the hole (what follows is checked below).
          this.fill(entry)
          continue
        }
        // A conflict — also a hole whose metadata vouches for another term: another branch.
        assert(entry.index > this.committed, () => `leader conflicts with committed entry ${entry.index} (commit ${this.committed})`)
        this.truncateFrom(entry.index)
      }
      assert(entry.index === this.lastIndex() + 1, () => `append leaves a gap at ${entry.index} (last ${this.lastIndex()})`)
      this.entries.push(entry)
    }
    // A conflict in the prefix truncated our suffix, the held-back holes and the entry after them
    // with it: the rest of the batch now simply extends our log.
    if (accepted < entries.length && entries[accepted]!.index === this.lastIndex() + 1) {
      for (const entry of entries.slice(accepted)) this.entries.push(entry)
      return entries.length
    }
    if (accepted > 0) this.dropForeignSuffix(entries[accepted - 1]!)
    return accepted
  }

  /**
   * How many entries at the end of a leader's batch would only fill holes whose terms were lost,
   * while a later term follows them in our log (above our commit index)? That later entry was
   * appended after whatever we held there, maybe another branch's entries: after the leader's it
   * would vouch for nothing, and our log would claim a branch it is not on. Neither may it go
   * (it may be committed, if our lost entries were the leader's and we acknowledged what
   * followed), nor become a hole (such a mark would not survive a restart, unlike the fills). So
   * those holes wait for a batch that reaches past them, where our next entry either matches the
   * leader's (vouching for the fills) or conflicts (truncating the suffix). An entry of the last
   * fill's own term after them does vouch: only that term's leader wrote both.
   */
  private unvouchedFills(entries: ReadonlyArray<Entry>): number {
    const last = entries[entries.length - 1]
    if (last === undefined || last.index <= this.snapshotIndex || last.index >= this.lastIndex()) return 0
    let trailing = 0
    for (let i = entries.length - 1; i >= 0; i--) {
      const index = entries[i]!.index
      if (index <= this.snapshotIndex || !this.damaged.has(index) || this.damaged.get(index) !== undefined) break
      trailing++
    }
    if (trailing === 0) return 0
    const next = this.knownAfter(last.index)
    if (next === undefined) return 0
    return this.term(next)! > last.term && next > this.committed ? trailing : 0
  }

  /**
   * Our first entry after `index` whose term we know, if any. When `appendFromLeader` holds back
   * fills, a batch must reach this entry: the follower names it to the leader, which otherwise,
   * with a byte limit smaller than the run of holes, would send the holes forever in batches that
   * all stop short of it.
   */
  knownAfter(index: number): number | undefined {
    return this.firstAfter(index, (i) => this.term(i) !== undefined)
  }

  /** Our first intact entry after `index`, if any. */
  intactAfter(index: number): number | undefined {
    return this.firstAfter(index, (i) => !this.damaged.has(i))
  }

  private firstAfter(index: number, test: (i: number) => boolean): number | undefined {
    for (let i = Math.max(index, this.snapshotIndex) + 1; i <= this.lastIndex(); i++) {
      if (test(i)) return i
    }
    return undefined
  }

  /**
   * After the leader's entries up to `last`: a filled hole whose term was lost may have held
   * another branch's entry, followed by more of that branch. An entry after `last` with a lower
   * term cannot be on the leader's branch (terms never decrease along a log), so it and what
   * follows go. With an intact log this never fires: our entry at `last` matched the leader's,
   * and what follows it in our log has at least its term. Without it, a node kept such a suffix
   * after a fill and voted for a stale candidate whose log ended in it.
   */
  private dropForeignSuffix(last: Entry): void {
    if (last.index <= this.snapshotIndex || last.index >= this.lastIndex()) return
    for (let index = last.index + 1; index <= this.lastIndex(); index++) {
      const term = this.term(index)
      if (term === undefined) continue
      if (term < last.term) {
        assert(index > this.committed, () => `entry ${index} of term ${term} after the leader's (${last.index}, ${last.term}) is committed`)
        this.truncateFrom(Math.max(last.index, this.committed) + 1)
      }
      return
    }
  }

  /** Appends entries this node created as leader. */
  appendAsLeader(entries: ReadonlyArray<Entry>): void {
    for (const entry of entries) {
      assert(entry.index === this.lastIndex() + 1, "leader append must be contiguous")
      const last = this.lastTerm()
      assert(last === undefined || entry.term >= last, "terms in the log never decrease")
      this.entries.push(entry)
    }
  }

  private truncateFrom(index: number): void {
    this.version++
    this.entries.length = index - this.snapshotIndex - 1
    for (const d of [...this.damaged.keys()]) if (d >= index) this.damaged.delete(d)
    for (const r of [...this.repaired]) if (r >= index) this.repaired.delete(r)
    this.stable = Math.min(this.stable, index - 1)
    this.pendingTruncate = Math.min(this.pendingTruncate ?? index, index)
    this.newFrom = Math.min(this.newFrom, index)
  }

  /** Fills a damaged slot with a good copy (same index; from the leader, or a peer vouching for the same term). */
  fill(entry: Entry): void {
    assert(this.damaged.has(entry.index), () => `fill of intact entry ${entry.index}`)
    const knownTerm = this.damaged.get(entry.index)
    assert(knownTerm === undefined || knownTerm === entry.term || entry.index > this.committed, "repair with a different term than the damaged entry's")
    this.entries[entry.index - this.snapshotIndex - 1] = entry
    this.version++
    this.damaged.delete(entry.index)
    if (entry.index < this.newFrom) this.repaired.add(entry.index)
  }

  /**
   * The range the term of entry `index` must lie in: exact for an intact entry or one whose
   * metadata vouches for its term; for a lost term, from the nearest known term before it (terms
   * never decrease along a log) to the nearest known term after it, or `upper` (the node's
   * current term: no entry it ever acknowledged has a later term) when none follows. When both
   * ends meet, the lost term is known after all.
   */
  termBounds(index: number, upper: number): { readonly low: number; readonly high: number } {
    const exact = this.term(index)
    if (exact !== undefined) return { low: exact, high: exact }
    assert(index > this.snapshotIndex && index <= this.lastIndex(), () => `term bounds of ${index} outside the log`)
    let low = this.snapshotTerm
    for (let i = index - 1; i > this.snapshotIndex; i--) {
      const t = this.term(i)
      if (t !== undefined) {
        low = t
        break
      }
    }
    let high = upper
    for (let i = index + 1; i <= this.lastIndex(); i++) {
      const t = this.term(i)
      if (t !== undefined) {
        high = t
        break
      }
    }
    // Entries written just before a crash may be later than the durable term (the hard state
    // lands after them); they were never acknowledged, and the bound must stay a range.
    return { low, high: Math.max(high, low) }
  }

  /** Damaged entries after the commit index (a tail that may never have been committed)? */
  hasUncommittedDamage(): boolean {
    for (const index of this.damaged.keys()) if (index > this.committed) return true
    return false
  }

  /** Damaged slot `index`: the term its metadata vouches for, or undefined (also for intact entries). */
  damagedTerm(index: number): number | undefined {
    return this.damaged.get(index)
  }

  isDamaged(index: number): boolean {
    return this.damaged.has(index)
  }

  /** What storage must do next: drop from `truncateFrom`, then write `entries` at their indexes. */
  takeUnpersisted(): { readonly truncateFrom: number | undefined; readonly entries: ReadonlyArray<Entry> } {
    const entries: Array<Entry> = []
    for (const index of [...this.repaired].sort((a, b) => a - b)) {
      const entry = this.entry(index)
      if (entry !== undefined) entries.push(entry)
    }
    for (let i = Math.max(this.newFrom, this.snapshotIndex + 1); i <= this.lastIndex(); i++) {
      const entry = this.entry(i)
      if (entry !== undefined) entries.push(entry)
    }
    const truncateFrom = this.pendingTruncate
    this.pendingTruncate = undefined
    this.repaired.clear()
    this.newFrom = this.lastIndex() + 1
    return { truncateFrom, entries }
  }

  hasUnpersisted(): boolean {
    return this.pendingTruncate !== undefined || this.repaired.size > 0 || this.newFrom <= this.lastIndex()
  }

  commitTo(index: number): void {
    if (index <= this.committed) return
    assert(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`)
    this.committed = index
  }

  /** Entries ready to apply: committed, not yet applied, intact (stops at a hole until it is repaired). */
  nextToApply(max = 256): ReadonlyArray<Entry> {
    const out: Array<Entry> = []
    for (let i = this.applied + 1; i <= this.committed && out.length < max; i++) {
      const entry = this.entry(i)
      if (entry === undefined) break
      out.push(entry)
    }
    return out
  }

  appliedTo(index: number): void {
    assert(index <= this.committed, () => `applied ${index} beyond commit ${this.committed}`)
    assert(index >= this.applied, "applied index never goes back")
    this.applied = index
  }

  stableTo(index: number, term: number): void {
    // Only if the entry is still the one that was persisted (no truncation since).
    if (this.term(index) === term) this.stable = Math.max(this.stable, Math.min(index, this.lastIndex()))
  }

  /** Replaces everything with a snapshot's state. */
  restoreSnapshot(meta: SnapshotMeta): void {
    this.version++
    this.snapshotIndex = meta.index
    this.snapshotTerm = meta.term
    this.entries = []
    this.damaged.clear()
    this.committed = meta.index
    this.applied = meta.index
    this.stable = meta.index
    this.newFrom = meta.index + 1
    this.pendingTruncate = undefined
    this.repaired.clear()
  }

  /**
   * Takes a peer's snapshot of committed state that covers our damaged entries:
   * everything up to `meta.index` goes (holes included), our entries after it
   * stay. Only for a snapshot within our commit index, where our log and the
   * committed log agree.
   */
  replacePrefix(meta: SnapshotMeta): void {
    assert(meta.index <= this.committed, "a repair snapshot beyond our commit index")
    assert(meta.index > this.snapshotIndex, "a repair snapshot must move the snapshot forward")
    this.version++
    this.entries = meta.index >= this.lastIndex() ? [] : this.entries.slice(meta.index - this.snapshotIndex)
    for (const d of [...this.damaged.keys()]) if (d <= meta.index) this.damaged.delete(d)
    for (const r of [...this.repaired]) if (r <= meta.index) this.repaired.delete(r)
    this.snapshotIndex = meta.index
    this.snapshotTerm = meta.term
    this.applied = Math.max(this.applied, meta.index)
    this.newFrom = Math.max(this.newFrom, meta.index + 1)
  }

  /** Drops entries up to `index` (covered by a snapshot the node has taken). */
  compact(index: number, term: number): void {
    assert(index <= this.applied, () => `compacting ${index} beyond applied ${this.applied}`)
    if (index <= this.snapshotIndex) return
    assert(this.term(index) === term, "compaction term mismatch")
    this.entries = this.entries.slice(index - this.snapshotIndex)
    for (const d of [...this.damaged.keys()]) if (d <= index) this.damaged.delete(d)
    this.snapshotIndex = index
    this.snapshotTerm = term
  }

  /** Marks entry `index` damaged on this node's disk; `term` if its metadata still vouches for it. */
  markDamaged(index: number, term: number | undefined): void {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return
    this.damaged.set(index, term)
  }

  damagedIndexes(): ReadonlyArray<number> {
    return [...this.damaged.keys()].sort((a, b) => a - b)
  }

  hasDamage(): boolean {
    return this.damaged.size > 0
  }

  /**
   * Is the tail known? A node whose last entry's term is lost cannot say how
   * up to date its log is, so it neither votes nor campaigns until repaired.
   */
  tailKnown(): boolean {
    return this.lastTerm() !== undefined
  }

  /** Bytes of entries after `index` (for the uncommitted-size cap). */
  bytesAfter(index: number): number {
    let bytes = 0
    for (let i = Math.max(index, this.snapshotIndex) + 1; i <= this.lastIndex(); i++) bytes += this.entry(i)?.data.length ?? 0
    return bytes
  }
}
