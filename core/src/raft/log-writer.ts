/**
 * Writes Raft's log into the WAL, one record per entry on its own slot
 * (`wal-mapping.ts`), and rewrites it where repair filled a hole.
 *
 * A batch from Raft may cut the log (a conflict), append entries, and fill
 * holes. A fill is written in place when the WAL knows the damaged slot's
 * size; otherwise the WAL is rewritten from that entry (from the start of a
 * headerless damaged region, whose entries can only be cut together) once
 * every later entry is intact in memory, and until then the fill is held in
 * memory and tried again with every batch. Entries past the WAL's end (fills
 * of holes recovered from the hard state, or new entries after them) extend
 * the WAL with hole records before them. Before the WAL is cut or extended
 * past what it holds, the hard state says how far our log reached
 * (`heldThrough`): a crash in between leaves holes up to there, never a
 * shorter log.
 */
import { Effect } from "effect"
import { assert } from "../invariant/invariant.ts"
import type { Wal } from "../wal/wal.ts"
import { encodeEntry } from "./codec.ts"
import type { HardStateFile, HardStateRecord } from "./hard-state-file.ts"
import { RaftStorageError, storageError } from "./storage-error.ts"
import type { RaftStorage } from "./storage.ts"
import type { Entry } from "./types.ts"
import { placeholder } from "./wal-mapping.ts"

type Changes = Parameters<RaftStorage["persist"]>[0]
/** A step of a persist: a generator over the effects it runs, delegated to with `yield*` (see `persist`). */
type Steps<A> = Generator<Effect.Effect<unknown, RaftStorageError>, A, unknown>

/** What one batch writes, and how far it got. */
interface Batch {
  readonly changes: Changes
  /** The log's last index in memory: the batch ends there, or (a batch of fills) storage knew it. */
  readonly logLast: number
  /** Resolves when the last record appended is durable. */
  durable: Effect.Effect<void, RaftStorageError>
  /** A rewrite or extension wrote the WAL through here: later work at or below it is done. */
  writtenThrough: number
}

/**
 * The log's writer over `wal`, with the hard state in `hardState`; `lastIndex` is the log's last
 * index as recovery left it. saveSnapshot and installSnapshot move `lastIndex` too.
 */
export const makeLogWriter = (wal: Wal, hardState: HardStateFile, lastIndex: number) => {
  const state = { lastIndex }
  /**
   * Fills kept in memory only: their WAL slot cannot be overwritten in place and a rewrite from
   * there had to wait for a later hole. Every persist tries them again.
   */
  const held = new Set<number>()
  const seqOf = (index: number) => hardState.record.firstSeq + (index - hardState.record.firstIndex)
  const walEnd = () => hardState.record.firstIndex + (wal.lastSeq() - hardState.record.firstSeq)

  const append = (batch: Batch, entry: Entry) =>
    Effect.gen(function*() {
      const seq = seqOf(entry.index)
      // Checked before the write too: a record on the wrong slot would shift the log at recovery.
      if (wal.lastSeq() + 1 !== seq) return yield* new RaftStorageError({ op: "append wal", message: `entry ${entry.index} belongs at WAL record ${seq}, but the WAL's next is ${wal.lastSeq() + 1}` })
      const appended = yield* Effect.mapError(wal.append(encodeEntry(entry)), storageError("append wal"))
      // The WAL renumbers after a failed batch (a full disk): fail-stop and recover from disk.
      if (appended.seq !== seq) return yield* new RaftStorageError({ op: "append wal", message: `WAL assigned ${appended.seq} to entry ${entry.index}, expected ${seq}` })
      batch.durable = Effect.mapError(appended.durable, storageError("wal durable"))
    })
  // An entry we hold in memory, or a hole's record: it keeps every later record on its own slot.
  const recordAt = (batch: Batch, index: number, current: Entry): Entry =>
    index === current.index ? current : batch.changes.logEntry?.(index) ?? placeholder(index)
  // Before the WAL is cut or extended past what it holds, the hard state must say how far our
  // log reached: a crash in between leaves holes up to there, never a shorter log.
  const holdLastIndex = Effect.suspend(() =>
    hardState.record.heldThrough < state.lastIndex ? hardState.write({ ...hardState.record, heldThrough: state.lastIndex }) : Effect.void
  )
  // Extends the WAL from its end through `current`, then through the intact run after it.
  const extend = (batch: Batch, current: Entry) =>
    Effect.gen(function*() {
      yield* holdLastIndex
      let index = walEnd() + 1
      for (; index <= current.index; index++) yield* append(batch, recordAt(batch, index, current))
      for (; index <= batch.logLast; index++) {
        const next = batch.changes.logEntry?.(index)
        if (next === undefined) break
        yield* append(batch, next)
      }
      batch.writtenThrough = index - 1
      state.lastIndex = Math.max(state.lastIndex, batch.writtenThrough)
    })

  /** Drops `truncateFrom` and after. Returns whether the mapping (or heldThrough) changed in memory only. */
  function* truncate(truncateFrom: number): Steps<boolean> {
    let mappingChanged = false
    const record = hardState.record
    if (truncateFrom < record.firstIndex) {
      // Everything goes (a snapshot replaced the log): restart the mapping after the WAL's end.
      yield* Effect.mapError(wal.truncateSuffix(Math.max(wal.firstSeq(), seqOf(record.firstIndex))), storageError("truncate wal"))
      hardState.record = { ...hardState.record, firstIndex: truncateFrom, firstSeq: wal.lastSeq() + 1 }
      mappingChanged = true
    } else {
      // Inside a headerless damaged region the WAL cuts earlier, at the region's start, and
      // drops entries before `truncateFrom` that our log still holds (as holes): the hard
      // state must say so first, or a crash leaves a shorter log (review of 6a86226).
      const cut = wal.suffixCut(seqOf(truncateFrom))
      if (cut < seqOf(truncateFrom) && record.heldThrough < truncateFrom - 1) {
        yield* hardState.write({ ...record, heldThrough: truncateFrom - 1 })
      }
      yield* Effect.mapError(wal.truncateSuffix(seqOf(truncateFrom)), storageError("truncate wal"))
    }
    state.lastIndex = truncateFrom - 1
    for (const index of held) if (index > state.lastIndex) held.delete(index)
    if (hardState.record.heldThrough > state.lastIndex) {
      hardState.record = { ...hardState.record, heldThrough: state.lastIndex }
      mappingChanged = true // written below, with the entries that replace the cut ones
    }
    return mappingChanged
  }

  /** The batch, and the held fills again if there are any (in index order: a rewrite from a held fill may cover the batch). */
  const workOf = (changes: Changes): ReadonlyArray<Entry> => {
    if (held.size === 0) return changes.entries // the hot path takes the batch as it is
    const merged = new Map<number, Entry>()
    for (const index of held) {
      const entry = changes.logEntry?.(index)
      if (entry === undefined) held.delete(index)
      else merged.set(index, entry)
    }
    for (const entry of changes.entries) merged.set(entry.index, entry)
    return [...merged.values()].sort((a, b) => a.index - b.index)
  }

  /** A repair of a damaged slot: in place when the WAL knows the slot's size, else a rewrite from it. */
  function* repairSlot(batch: Batch, entry: Entry): Steps<void> {
    const repaired = yield* Effect.result(wal.repair(seqOf(entry.index), encodeEntry(entry)))
    if (repaired._tag === "Success") {
      held.delete(entry.index)
      return
    }
    if (repaired.failure._tag !== "WalRepairError") return yield* storageError("repair wal")(repaired.failure)
    // Otherwise rewrite the WAL from this entry, once every later entry is intact in memory:
    // the cut drops every record after it. It starts at the start of a headerless damaged
    // region, whose entries can only be cut together.
    const startSeq = wal.suffixCut(seqOf(entry.index))
    const startIndex = hardState.record.firstIndex + (startSeq - hardState.record.firstSeq)
    const tail: Array<Entry> = []
    for (let index = startIndex; index <= batch.logLast; index++) {
      const next = index === entry.index ? entry : batch.changes.logEntry?.(index)
      if (next === undefined) break
      tail.push(next)
    }
    if (tail.length < batch.logLast - startIndex + 1) {
      held.add(entry.index) // a later hole first
      return
    }
    yield* holdLastIndex
    yield* Effect.mapError(wal.truncateSuffix(startSeq), storageError("truncate wal for repair"))
    assert(wal.lastSeq() + 1 === startSeq, () => `WAL cut at ${wal.lastSeq() + 1}, expected ${startSeq}`)
    for (const e of tail) yield* append(batch, e)
    batch.writtenThrough = batch.logLast
    state.lastIndex = Math.max(state.lastIndex, batch.writtenThrough)
    held.delete(entry.index)
  }

  /** Writes one entry of the work: a repair, an extension past the WAL's end, or the next append. */
  function* write(batch: Batch, entry: Entry): Steps<void> {
    if (entry.index <= batch.writtenThrough) {
      held.delete(entry.index)
      return
    }
    // A repaired hole before the WAL's start (its snapshot was lost): it stays in memory
    // until the next snapshot covers it; a crash before that makes it a hole again.
    if (entry.index < hardState.record.firstIndex) return
    if (entry.index <= state.lastIndex && seqOf(entry.index) <= wal.lastSeq()) return yield* repairSlot(batch, entry)
    if (entry.index <= state.lastIndex || walEnd() < state.lastIndex) {
      // Past the WAL's end: a fill of a hole recovered from the hard state, or a new entry
      // after such holes or fills. Nothing needs cutting: it goes to disk at once, holes
      // before it as hole records (the fifth and sixth reviews: held in memory, the next
      // append landed on its slot and storage stopped the node).
      yield* extend(batch, entry)
      held.delete(entry.index)
      return
    }
    assert(entry.index === state.lastIndex + 1, () => `raft storage append of ${entry.index} after ${state.lastIndex}`)
    yield* append(batch, entry)
    state.lastIndex = entry.index
  }

  const persist: RaftStorage["persist"] = (changes) =>
    Effect.gen(function*() {
      const mappingChanged = changes.truncateFrom !== undefined && changes.truncateFrom <= state.lastIndex
        ? yield* truncate(changes.truncateFrom)
        : false
      const batchLast = changes.entries[changes.entries.length - 1]?.index ?? 0
      const batch: Batch = { changes, logLast: Math.max(state.lastIndex, batchLast), durable: Effect.void, writtenThrough: 0 }
      changes.entries.forEach((entry, i) => {
        assert(entry.term > 0, () => `raft storage asked to write entry ${entry.index} of term 0`)
        assert(i === 0 || entry.index > changes.entries[i - 1]!.index, () => `raft storage batch out of order at entry ${entry.index}`)
      })
      for (const entry of workOf(changes)) yield* write(batch, entry)
      // Entries first: a durable commit index must never point past the durable log.
      yield* batch.durable
      yield* saveHardState(changes.hardState, mappingChanged)
    })

  /**
   * Term and vote must be durable before anyone hears of them, and so must the mapping. A
   * commit index alone is not worth an fsync on every commit (a third one, after the WAL's
   * two): it rides along with the next write. A stale commit index after a crash is
   * learned again from the leader; repair never drops what may be committed (it needs
   * peers' promises, not our commit index), and the holes logic above uses `heldThrough`.
   * Leadership too: repair trusts it (a leader never truncates what it wrote in its term).
   */
  function* saveHardState(changed: Changes["hardState"], mappingChanged: boolean): Steps<void> {
    const record = hardState.record
    // `led` belongs to its term: a hard state without it says this node did not lead.
    const next: HardStateRecord = changed === undefined ? record : { ...record, ...changed, led: changed.led === true }
    // commitTerm, like commit, rides along: the two are written together, so a stale commit index
    // after a crash comes with the term it was learned in.
    if (mappingChanged || next.term !== record.term || next.vote !== record.vote || (next.led === true) !== (record.led === true)) yield* hardState.write(next)
    else hardState.record = next
  }

  return { persist, state, seqOf }
}
