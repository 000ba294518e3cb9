/**
 * Where Raft's log sits in the WAL, and how recovery reads it back.
 *
 * Entry i lives at WAL sequence `firstSeq + (i - firstIndex)`. Recovery maps
 * every record back to its index, so a record the WAL reports damaged is
 * still known by index: Raft learns "entry i on this node is damaged" and
 * repairs it from a peer instead of truncating (Protocol-Aware Recovery).
 * Entries the log must hold but the WAL cannot give back — damaged records,
 * a prefix whose snapshot rotted, a tail the hard state says we held — come
 * back as placeholders of term 0 that Raft marks damaged.
 */
import { Effect } from "effect"
import { assert } from "../invariant/invariant.ts"
import type { Wal } from "../wal/wal.ts"
import { decodeEntry } from "./codec.ts"
import type { HardStateRecord } from "./hard-state-file.ts"
import { storageError, type RaftStorageError } from "./storage-error.ts"
import type { Entry } from "./types.ts"

/** Reads of one WAL record at recovery before a read error counts as damage. */
export const READ_ATTEMPTS = 3
/** The body of every placeholder for a damaged or lost entry (never served: Raft marks them holes). */
export const PLACEHOLDER_DATA = new Uint8Array(0)

/** A hole's entry: it keeps the log contiguous (and, written, later records on their slots). */
export const placeholder = (index: number): Entry => ({ term: 0, index, kind: "noop", data: PLACEHOLDER_DATA })

export interface RecoveredLog {
  readonly entries: ReadonlyArray<Entry>
  readonly damaged: ReadonlyArray<{ readonly index: number; readonly term: number | undefined }>
  /** The WAL's first record after recovery (a prefix covered by the snapshot may have gone). */
  readonly walFirst: number
  readonly walLast: number
  /** index = seq + indexBase for every record of the WAL. */
  readonly indexBase: number
}

/**
 * Reads the log back from the WAL after the snapshot at `snapshotIndex`, with `record` the
 * hard state's mapping and commit. A generator its caller's `Effect.gen` delegates to, so
 * recovery runs the same effects it ran when this was inline (the simulator's scheduler counts them).
 */
export function* recoverLogFromWal(
  wal: Wal,
  record: HardStateRecord,
  snapshotIndex: number
): Generator<Effect.Effect<unknown, RaftStorageError>, RecoveredLog, unknown> {
  const damagedSeqs = new Set(wal.damaged().map((d) => d.seq))
  // The WAL may start later than our mapping (prefix truncation) but never earlier.
  // Every intact record names its own index, so the WAL itself says where the log sits
  // (index = seq + base); the hard state's mapping is only the fallback for a WAL with
  // no intact record. A crash between truncating the WAL for a received snapshot and
  // rewriting the mapping therefore cannot shift the log.
  let walFirst = wal.firstSeq()
  const walLast = wal.lastSeq()
  const intact = new Map<number, Entry>()
  for (let seq = walFirst; seq <= walLast; seq++) {
    if (damagedSeqs.has(seq)) continue
    // A read error may be passing (EIO once, fine the next time): a hole made of it would be
    // permanent, since holes are only ever filled from peers (seed 9871 lost an entry that way
    // on both of the two nodes holding it). Checksum failures are real damage at once.
    let read = yield* Effect.result(wal.read(seq))
    for (let attempt = 1; attempt < READ_ATTEMPTS && read._tag === "Failure" && read.failure._tag === "WalReadError"; attempt++) {
      read = yield* Effect.result(wal.read(seq))
    }
    if (read._tag === "Failure") continue
    intact.set(seq, decodeEntry(read.success))
  }
  let base = mappingOf(intact, walFirst, walLast, snapshotIndex)
  if (base === undefined) {
    base = walLast >= walFirst
      ? record.firstIndex - record.firstSeq // every record damaged: trust the mapping
      : Math.max(snapshotIndex, record.firstIndex - 1) + 1 - (walLast + 1) // empty: the next record follows the snapshot
  }
  if (walLast + base <= snapshotIndex) {
    // Everything in the WAL is covered by the snapshot: drop it, and the next record follows the snapshot.
    if (walLast >= walFirst) yield* Effect.mapError(wal.truncatePrefix(walLast + 1), storageError("compact wal"))
    base = snapshotIndex + 1 - (walLast + 1)
    walFirst = walLast + 1
  }
  const indexBase = base
  const { entries, damaged } = entriesOf(intact, walFirst, walLast, indexBase, snapshotIndex, record)
  return { entries, damaged, walFirst, walLast, indexBase }
}

/**
 * The mapping the newest intact record fixes (undefined: none is intact). Older records on
 * another mapping can only be leftovers at or below the snapshot (a received snapshot restarts
 * the mapping); they are dropped from `intact`.
 */
const mappingOf = (intact: Map<number, Entry>, walFirst: number, walLast: number, snapshotIndex: number): number | undefined => {
  let base: number | undefined
  for (let seq = walLast; seq >= walFirst && base === undefined; seq--) {
    const entry = intact.get(seq)
    if (entry !== undefined) base = entry.index - seq
  }
  for (const [seq, entry] of intact) {
    if (entry.index - seq === base) continue
    // Checksummed and in place: a record that decodes to another index is a bug, not rot.
    assert(entry.index <= snapshotIndex, () => `WAL record ${seq} holds entry ${entry.index}, expected ${seq + base!}`)
    intact.delete(seq)
  }
  return base
}

/** The log after the snapshot: intact entries, and placeholders for every hole. */
const entriesOf = (
  intact: ReadonlyMap<number, Entry>,
  walFirst: number,
  walLast: number,
  indexBase: number,
  snapshotIndex: number,
  record: HardStateRecord
): Pick<RecoveredLog, "entries" | "damaged"> => {
  let entries: Array<Entry> = []
  const damaged: Array<{ index: number; term: number | undefined }> = []
  for (let seq = walFirst; seq <= walLast; seq++) {
    const index = seq + indexBase
    if (index <= snapshotIndex) continue
    const entry = intact.get(seq)
    // A record of term 0 is a hole's record (written to keep later records on their slots).
    if (entry !== undefined && entry.term > 0) {
      entries.push(entry)
    } else {
      // Placeholders keep the log contiguous; Raft marks them damaged and never serves them.
      damaged.push({ index, term: undefined })
      entries.push(placeholder(index))
    }
  }
  const firstWalIndex = walFirst + indexBase
  if (firstWalIndex > snapshotIndex + 1) {
    // The log was compacted below a snapshot we can no longer read (every copy rotted): the
    // committed entries before the WAL are holes, repaired from a peer's snapshot like any
    // damaged committed entry (seed 6935: stopping instead left two of four nodes down). Our
    // intact log, term and vote still count: the node votes and acknowledges meanwhile. An
    // empty WAL counts too: after installing a leader's snapshot, the mapping alone says where
    // our log reached.
    const lost: Array<Entry> = []
    for (let index = snapshotIndex + 1; index < firstWalIndex; index++) {
      damaged.push({ index, term: undefined })
      lost.push(placeholder(index))
    }
    entries = lost.concat(entries)
  }
  // Entries the hard state says we held (committed, or held when a damaged record began to be
  // rewritten) but the WAL no longer holds are holes to repair from peers, never a shorter log.
  const heldThrough = Math.max(record.commit, record.heldThrough, snapshotIndex)
  for (let index = Math.max(snapshotIndex, walLast + indexBase) + 1; index <= heldThrough; index++) {
    damaged.push({ index, term: undefined })
    entries.push(placeholder(index))
  }
  return { entries, damaged }
}
