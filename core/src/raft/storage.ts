/**
 * Raft's durable state on one node's disk: the log in the WAL (one record per
 * entry: `wal-mapping.ts` says where, `log-writer.ts` writes and rewrites
 * it), the hard state (term, vote, commit, and where the log starts) in a
 * double-buffered, checksummed file (`hard-state-file.ts`), and snapshots
 * in the snapshot store (`snapshot-file.ts`).
 *
 * Recovery reads the hard state, opens the WAL and the snapshots, refuses to
 * start a node that had a log but lost both copies of its hard state (it
 * could vote twice in one term), and reads the log back with its holes.
 */
import { Effect, type Scope } from "effect"
import type { Clock } from "../clock/clock.ts"
import { Disk, type DiskFile } from "../disk/disk.ts"
import { makeSnapshotStore } from "../snapshot/snapshot-store.ts"
import { openWal, type Wal } from "../wal/wal.ts"
import { HardStateFile, readSlots, type HardStateRecord } from "./hard-state-file.ts"
import { makeLogWriter } from "./log-writer.ts"
import { decodeSnapshotFile, encodeSnapshotFile } from "./snapshot-file.ts"
import { RaftStorageError, storageError } from "./storage-error.ts"
import type { Entry, HardState, Snapshot } from "./types.ts"
import { READ_ATTEMPTS, recoverLogFromWal } from "./wal-mapping.ts"

export { RaftStorageError } from "./storage-error.ts"

export interface RecoveredState {
  readonly hardState: HardState
  /** The newest intact snapshot; entries start after it. */
  readonly snapshot: Snapshot | undefined
  readonly entries: ReadonlyArray<Entry>
  readonly damaged: ReadonlyArray<{ readonly index: number; readonly term: number | undefined }>
}

export interface RaftStorage {
  readonly recovered: RecoveredState
  /** Drops `truncateFrom` and after (if given), appends `entries`, saves `hardState`; durable when it returns. */
  readonly persist: (changes: {
    readonly hardState: HardState | undefined
    readonly truncateFrom: number | undefined
    readonly entries: ReadonlyArray<Entry>
    /**
     * The log in memory: entry `index` if it is intact, undefined for a hole or an entry
     * compacted away. Storage reads it where a damaged record cannot be repaired in place (its
     * header was lost, so its size is unknown, or it lies past the WAL's end): the WAL is then
     * rewritten or extended from there with what the log holds.
     */
    readonly logEntry?: (index: number) => Entry | undefined
  }) => Effect.Effect<void, RaftStorageError>
  /** Saves a snapshot this node took and drops log entries below the oldest one kept. */
  readonly saveSnapshot: (snapshot: Snapshot) => Effect.Effect<void, RaftStorageError>
  /**
   * Replaces the whole log with a snapshot received from the leader; `commitTerm` bounds the term
   * the snapshot's commit index was learned in (HardState.commitTerm: the ready's).
   */
  readonly installSnapshot: (snapshot: Snapshot, commitTerm: number) => Effect.Effect<void, RaftStorageError>
}

/** Opens (recovering) a node's Raft storage under `dir`. */
export const openRaftStorage = (options: {
  readonly dir: string
  readonly walSegmentBytes?: number
}): Effect.Effect<RaftStorage, RaftStorageError, Disk | Clock | Scope.Scope> =>
  Effect.gen(function*() {
    const disk = yield* Disk
    const hardStatePath = `${options.dir}/hardstate`
    const file: DiskFile = yield* Effect.mapError(disk.open(hardStatePath, "create"), storageError("open hard state"))
    yield* Effect.mapError(disk.syncDirectory(options.dir), storageError("sync directory"))
    const { slots, readErrors, slotsNeverWritten } = yield* readSlots(file, READ_ATTEMPTS)
    const bestSlot = slots[1] !== undefined && (slots[0] === undefined || slots[1].version > slots[0].version) ? 1 : 0
    const best = slots[bestSlot]
    const record: HardStateRecord = best?.record ?? { term: 0, vote: undefined, commit: 0, firstIndex: 1, firstSeq: 1, heldThrough: 0 }

    const wal: Wal = yield* Effect.mapError(
      openWal({ dir: `${options.dir}/wal`, ...(options.walSegmentBytes === undefined ? {} : { segmentBytes: options.walSegmentBytes }) }),
      storageError("open wal")
    )
    const snapshots = yield* Effect.mapError(makeSnapshotStore({ dir: `${options.dir}/snapshots`, retain: 2 }), storageError("open snapshots"))
    const loaded = yield* Effect.mapError(snapshots.load, storageError("load snapshot"))
    const snapshot: Snapshot | undefined = loaded.snapshot === undefined ? undefined : decodeSnapshotFile(loaded.snapshot.data)
    const snapshotIndex = snapshot?.meta.index ?? 0
    // Slots that differ (a crash between the two writes, a torn or unreadable slot) are made equal
    // again before anything acts on the state: else a later loss of the newer slot would bring
    // back the older term and vote (seed 2047's double vote, by another road). A fresh node
    // writes its first hard state now, so a node with a log always had one.
    const rewriteSlots = best === undefined || slots[0]?.version !== slots[1]?.version
    // A fresh node writes both slots before it can vote (version 1, then version 2 for the vote),
    // so a node with no valid slot and none never written once held a term and maybe a vote.
    const hadHardState = slotsNeverWritten === 0
    if (best === undefined && (hadHardState || wal.lastSeq() >= wal.firstSeq() || loaded.snapshot !== undefined || loaded.damaged.length > 0)) {
      // A node with a log once wrote its hard state; both copies gone means its term and vote are
      // unknown, and guessing could make it vote twice in one term.
      return yield* new RaftStorageError({
        op: "recover",
        message: `both copies of the hard state (term, vote) in ${hardStatePath} are unreadable or damaged` +
          `${readErrors.length > 0 ? ` (${readErrors.join(", ")})` : ""}, but the node has a log or once had a hard state: ` +
          "it cannot know which votes it already cast; remove the node from the cluster and add it back with an empty data directory"
      })
    }
    const { entries, damaged, walFirst, walLast, indexBase } = yield* recoverLogFromWal(wal, record, snapshotIndex)
    const lastIndex = entries.length === 0 ? Math.max(snapshotIndex, walLast + indexBase) : entries[entries.length - 1]!.index
    // Keep the mapping in memory as the WAL says; it is written with the next hard state.
    const hardState = new HardStateFile(file, best?.version ?? 0, { ...record, firstIndex: walFirst + indexBase, firstSeq: walFirst })

    // The slot with the only good copy is overwritten last: a crash during the first write
    // leaves that copy (the third review's finding).
    // So is a mapping the WAL moved (its covered prefix dropped above): kept in memory only, a WAL
    // that rots entirely later would be read with the old one, as a shorter log (review of 5c65f3e).
    const remapped = best !== undefined && best.record.firstIndex - best.record.firstSeq !== indexBase
    if (rewriteSlots || remapped) yield* hardState.write(hardState.record, 1 - bestSlot)

    const { persist, state, seqOf } = makeLogWriter(wal, hardState, lastIndex)

    const saveSnapshot: RaftStorage["saveSnapshot"] = (snap) =>
      Effect.gen(function*() {
        yield* Effect.mapError(snapshots.save(snap.meta.index, encodeSnapshotFile(snap)), storageError("save snapshot"))
        // Everything a snapshot covers is committed: say so durably before the log below it goes,
        // so that losing the snapshots later leaves holes up to it, never a shorter log.
        // A peer's repair snapshot may end past the WAL's end, among holes recovered from the
        // commit index that were never on disk (review of ec873ae): nothing the WAL holds is
        // needed then, so it restarts after the snapshot, as after installSnapshot.
        const record = hardState.record
        const walEnd = record.firstIndex + (wal.lastSeq() - record.firstSeq)
        if (snap.meta.index > walEnd) {
          if (wal.lastSeq() >= wal.firstSeq()) yield* Effect.mapError(wal.truncateSuffix(wal.firstSeq()), storageError("truncate wal"))
          state.lastIndex = Math.max(state.lastIndex, snap.meta.index)
          yield* hardState.write({
            ...hardState.record,
            commit: Math.max(hardState.record.commit, snap.meta.index),
            heldThrough: Math.max(hardState.record.heldThrough, state.lastIndex),
            firstIndex: snap.meta.index + 1,
            firstSeq: wal.lastSeq() + 1
          })
          return
        }
        if (record.commit < snap.meta.index) yield* hardState.write({ ...record, commit: snap.meta.index })
        // Keep the log from the oldest retained snapshot on, so a rotted newest snapshot can be rebuilt.
        const kept = yield* Effect.mapError(snapshots.list, storageError("list snapshots"))
        const oldest = kept[0]
        if (oldest !== undefined && oldest >= hardState.record.firstIndex) {
          const seq = seqOf(oldest + 1)
          if (seq > wal.firstSeq()) yield* Effect.mapError(wal.truncatePrefix(Math.min(seq, wal.lastSeq() + 1)), storageError("compact wal"))
        }
      })

    const installSnapshot: RaftStorage["installSnapshot"] = (snap, commitTerm) =>
      Effect.gen(function*() {
        yield* Effect.mapError(snapshots.save(snap.meta.index, encodeSnapshotFile(snap)), storageError("save snapshot"))
        if (wal.lastSeq() >= wal.firstSeq()) yield* Effect.mapError(wal.truncateSuffix(wal.firstSeq()), storageError("truncate wal"))
        state.lastIndex = snap.meta.index
        // The commit index too (it may lag, being lazily durable): with the WAL empty, only it says
        // how far our log reached if this snapshot rots later — holes up to it, never a shorter log
        // that could vote away entries we acknowledged.
        const raisesCommit = snap.meta.index > hardState.record.commit
        yield* hardState.write({
          ...hardState.record,
          commit: Math.max(hardState.record.commit, snap.meta.index),
          // With the commit index, a term no earlier than the one it was learned in (Raft's, from the leader's message).
          commitTerm: raisesCommit ? Math.max(commitTerm, hardState.record.commitTerm ?? hardState.record.term) : hardState.record.commitTerm,
          firstIndex: snap.meta.index + 1,
          firstSeq: wal.lastSeq() + 1
        })
      })

    const recovered = hardState.record
    return {
      recovered: {
        hardState: {
          term: recovered.term,
          vote: recovered.vote,
          commit: Math.max(recovered.commit, snapshotIndex),
          // A snapshot past the durable commit index was of entries committed by our term then.
          commitTerm: snapshotIndex > recovered.commit ? Math.max(recovered.term, recovered.commitTerm ?? 0) : recovered.commitTerm ?? recovered.term,
          ...(recovered.led === true ? { led: true } : {})
        },
        snapshot,
        entries,
        damaged
      },
      persist,
      saveSnapshot,
      installSnapshot
    }
  })
