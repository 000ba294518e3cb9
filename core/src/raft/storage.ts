/**
 * Raft's durable state on one node's disk: the log in the WAL (one record per
 * entry), and the hard state (term, vote, commit, and where the log starts)
 * in a double-buffered, checksummed file.
 *
 * Entry i lives at WAL sequence `firstSeq + (i - firstIndex)`. Recovery maps
 * every record back to its index, so a record the WAL reports damaged is
 * still known by index: Raft learns "entry i on this node is damaged" and
 * repairs it from a peer instead of truncating (Protocol-Aware Recovery).
 *
 * The hard state file has two 4 KiB slots, each with a version counter and a
 * CRC32C. Every write puts the same version in both, one after the other, each
 * synced, and only then is the new term or vote acted on: a torn write leaves
 * the previous version in the other slot (nothing depended on the new one
 * yet), and a slot that rots or becomes unreadable later leaves the other
 * with the same version. Recovery takes the valid slot with the higher
 * counter, retries read errors, and refuses to start when both slots are
 * lost on a node that has a log: a node that forgot its vote could vote
 * twice in one term (seed 2047, when an unreadable newest slot silently fell
 * back to the older one).
 */
import { Data, Effect, type Scope } from "effect"
import { crc32c } from "../checksum/crc32c.ts"
import type { Clock } from "../clock/clock.ts"
import { Disk, type DiskFile } from "../disk/disk.ts"
import { assert } from "../invariant/invariant.ts"
import { openWal, type Wal } from "../wal/wal.ts"
import { decodeEntry, encodeEntry, Reader, Writer } from "./codec.ts"
import type { Entry, HardState, Snapshot } from "./types.ts"
import { makeSnapshotStore } from "../snapshot/snapshot-store.ts"
import { decodeSnapshotMeta, encodeSnapshotMeta } from "./codec.ts"
import type { NodeId } from "../node/node-id.ts"

/** Storage failed in a way that needs the node to recover from disk again (fail-stop). */
export class RaftStorageError extends Data.TaggedError("RaftStorageError")<{
  readonly op: string
  readonly message: string
}> {}

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
  /** Replaces the whole log with a snapshot received from the leader. */
  readonly installSnapshot: (snapshot: Snapshot) => Effect.Effect<void, RaftStorageError>
}

const SLOT_BYTES = 4096
/** Reads of one WAL record at recovery before a read error counts as damage. */
const READ_ATTEMPTS = 3
/** The body of every placeholder for a damaged or lost entry (never served: Raft marks them holes). */
const PLACEHOLDER_DATA = new Uint8Array(0)
const HARD_STATE_MAGIC = 0x52484453 // "RHDS"

interface HardStateRecord extends HardState {
  readonly firstIndex: number
  readonly firstSeq: number
  /**
   * Our log held entries through here (durably, perhaps acknowledged) when a repair began
   * rewriting the WAL: any the WAL lacks after a crash are holes to repair, never a shorter log.
   */
  readonly heldThrough: number
}

const encodeSlot = (version: number, record: HardStateRecord): Uint8Array => {
  const w = new Writer()
  w.uint(record.term)
  w.string(record.vote ?? "")
  w.uint(record.commit)
  w.uint(record.firstIndex)
  w.uint(record.firstSeq)
  w.uint(record.heldThrough)
  w.u8(record.led === true ? 1 : 0)
  const body = w.finish()
  assert(body.length + 16 <= SLOT_BYTES, "hard state too large for its slot")
  const slot = new Uint8Array(SLOT_BYTES)
  const view = new DataView(slot.buffer)
  view.setUint32(0, HARD_STATE_MAGIC)
  view.setUint32(4, version)
  view.setUint32(8, body.length)
  view.setUint32(12, crc32c(slot.subarray(0, 12)) ^ crc32c(body))
  slot.set(body, 16)
  return slot
}

const decodeSlot = (bytes: Uint8Array): { readonly version: number; readonly record: HardStateRecord } | undefined => {
  if (bytes.length < 16) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0) !== HARD_STATE_MAGIC) return undefined
  const length = view.getUint32(8)
  if (16 + length > bytes.length) return undefined
  const body = bytes.subarray(16, 16 + length)
  if ((crc32c(bytes.subarray(0, 12)) ^ crc32c(body)) >>> 0 !== view.getUint32(12)) return undefined
  try {
    const r = new Reader(body)
    const term = r.uint()
    const vote = r.string()
    const commit = r.uint()
    const firstIndex = r.uint()
    const firstSeq = r.uint()
    const heldThrough = r.atEnd() ? 0 : r.uint()
    const led = r.atEnd() ? false : r.u8() === 1
    r.done()
    return {
      version: view.getUint32(4),
      record: { term, vote: vote === "" ? undefined : (vote as NodeId), commit, firstIndex, firstSeq, heldThrough, ...(led ? { led } : {}) }
    }
  } catch {
    return undefined
  }
}

const storageError = (op: string) => (e: { readonly _tag: string; readonly message?: string }) =>
  new RaftStorageError({ op, message: `${e._tag}${e.message === undefined ? "" : `: ${e.message}`}` })

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
    const slots: Array<{ readonly version: number; readonly record: HardStateRecord } | undefined> = []
    const readErrors: Array<string> = []
    // A slot that reads back as zeros (or nothing) was never written; any other invalid slot was.
    let slotsNeverWritten = 0
    for (let slot = 0; slot < 2; slot++) {
      let read = yield* Effect.result(file.read(slot * SLOT_BYTES, SLOT_BYTES))
      for (let attempt = 1; attempt < READ_ATTEMPTS && read._tag === "Failure"; attempt++) read = yield* Effect.result(file.read(slot * SLOT_BYTES, SLOT_BYTES))
      if (read._tag === "Failure") readErrors.push(`slot ${slot}: ${read.failure._tag}`)
      if (read._tag === "Success" && read.success.every((byte) => byte === 0)) slotsNeverWritten++
      slots.push(read._tag === "Success" ? decodeSlot(read.success) : undefined)
    }
    const bestSlot = slots[1] !== undefined && (slots[0] === undefined || slots[1].version > slots[0].version) ? 1 : 0
    const best = slots[bestSlot]
    let version = best?.version ?? 0
    let record: HardStateRecord = best?.record ?? { term: 0, vote: undefined, commit: 0, firstIndex: 1, firstSeq: 1, heldThrough: 0 }

    const wal: Wal = yield* Effect.mapError(
      openWal({ dir: `${options.dir}/wal`, ...(options.walSegmentBytes === undefined ? {} : { segmentBytes: options.walSegmentBytes }) }),
      storageError("open wal")
    )
    const snapshots = yield* Effect.mapError(makeSnapshotStore({ dir: `${options.dir}/snapshots`, retain: 2 }), storageError("open snapshots"))
    const loaded = yield* Effect.mapError(snapshots.load, storageError("load snapshot"))
    let snapshot: Snapshot | undefined
    if (loaded.snapshot !== undefined) {
      // Snapshot file data: u32 meta length, meta, state machine image.
      const bytes = loaded.snapshot.data
      const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
      const meta = decodeSnapshotMeta(bytes.subarray(4, 4 + metaLength))
      snapshot = { meta, data: bytes.slice(4 + metaLength) }
    }
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
    // The newest intact record fixes the mapping; older records on another mapping can only be
    // leftovers at or below the snapshot (a received snapshot restarts the mapping).
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
        entries.push({ term: 0, index, kind: "noop", data: PLACEHOLDER_DATA })
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
        lost.push({ term: 0, index, kind: "noop", data: PLACEHOLDER_DATA })
      }
      entries = lost.concat(entries)
    }
    // Entries the hard state says we held (committed, or held when a damaged record began to be
    // rewritten) but the WAL no longer holds are holes to repair from peers, never a shorter log.
    const heldThrough = Math.max(record.commit, record.heldThrough, snapshotIndex)
    for (let index = Math.max(snapshotIndex, walLast + indexBase) + 1; index <= heldThrough; index++) {
      damaged.push({ index, term: undefined })
      entries.push({ term: 0, index, kind: "noop", data: PLACEHOLDER_DATA })
    }
    let lastIndex = entries.length === 0 ? Math.max(snapshotIndex, walLast + indexBase) : entries[entries.length - 1]!.index
    // Keep the mapping in memory as the WAL says; it is written with the next hard state.
    record = { ...record, firstIndex: walFirst + indexBase, firstSeq: walFirst }
    const seqOf = (index: number) => record.firstSeq + (index - record.firstIndex)

    // `firstSlot`: which slot to overwrite first; the other keeps the previous state until then.
    const writeHardState = (next: HardStateRecord, firstSlot = (version + 1) % 2) =>
      Effect.gen(function*() {
        version++
        const bytes = encodeSlot(version, next)
        for (const slot of [firstSlot, 1 - firstSlot]) {
          yield* Effect.mapError(file.write(slot * SLOT_BYTES, bytes), storageError("write hard state"))
          yield* Effect.mapError(file.sync, storageError("sync hard state"))
        }
        record = next
      })

    // The slot with the only good copy is overwritten last: a crash during the first write
    // leaves that copy (the third review's finding).
    // So is a mapping the WAL moved (its covered prefix dropped above): kept in memory only, a WAL
    // that rots entirely later would be read with the old one, as a shorter log (review of 5c65f3e).
    const remapped = best !== undefined && best.record.firstIndex - best.record.firstSeq !== indexBase
    if (rewriteSlots || remapped) yield* writeHardState(record, 1 - bestSlot)

    /**
     * Fills kept in memory only: their WAL slot cannot be overwritten in place and a rewrite from
     * there had to wait for a later hole. Every persist tries them again.
     */
    const held = new Set<number>()

    const persist: RaftStorage["persist"] = (changes) =>
      Effect.gen(function*() {
        let mappingChanged = false
        if (changes.truncateFrom !== undefined && changes.truncateFrom <= lastIndex) {
          if (changes.truncateFrom < record.firstIndex) {
            // Everything goes (a snapshot replaced the log): restart the mapping after the WAL's end.
            yield* Effect.mapError(wal.truncateSuffix(Math.max(wal.firstSeq(), seqOf(record.firstIndex))), storageError("truncate wal"))
            record = { ...record, firstIndex: changes.truncateFrom, firstSeq: wal.lastSeq() + 1 }
            mappingChanged = true
          } else {
            // Inside a headerless damaged region the WAL cuts earlier, at the region's start, and
            // drops entries before `truncateFrom` that our log still holds (as holes): the hard
            // state must say so first, or a crash leaves a shorter log (review of 6a86226).
            const cut = wal.suffixCut(seqOf(changes.truncateFrom))
            if (cut < seqOf(changes.truncateFrom) && record.heldThrough < changes.truncateFrom - 1) {
              yield* writeHardState({ ...record, heldThrough: changes.truncateFrom - 1 })
            }
            yield* Effect.mapError(wal.truncateSuffix(seqOf(changes.truncateFrom)), storageError("truncate wal"))
          }
          lastIndex = changes.truncateFrom - 1
          for (const index of held) if (index > lastIndex) held.delete(index)
          if (record.heldThrough > lastIndex) {
            record = { ...record, heldThrough: lastIndex }
            mappingChanged = true // written below, with the entries that replace the cut ones
          }
        }
        const batchLast = changes.entries[changes.entries.length - 1]?.index ?? 0
        // The log's last index in memory: the batch ends there, or (a batch of fills) storage knew it.
        const logLast = Math.max(lastIndex, batchLast)
        const walEnd = () => record.firstIndex + (wal.lastSeq() - record.firstSeq)
        let durable: Effect.Effect<void, RaftStorageError> = Effect.void
        let writtenThrough = 0

        const append = (entry: Entry) =>
          Effect.gen(function*() {
            const seq = seqOf(entry.index)
            // Checked before the write too: a record on the wrong slot would shift the log at recovery.
            if (wal.lastSeq() + 1 !== seq) return yield* new RaftStorageError({ op: "append wal", message: `entry ${entry.index} belongs at WAL record ${seq}, but the WAL's next is ${wal.lastSeq() + 1}` })
            const appended = yield* Effect.mapError(wal.append(encodeEntry(entry)), storageError("append wal"))
            // The WAL renumbers after a failed batch (a full disk): fail-stop and recover from disk.
            if (appended.seq !== seq) return yield* new RaftStorageError({ op: "append wal", message: `WAL assigned ${appended.seq} to entry ${entry.index}, expected ${seq}` })
            durable = Effect.mapError(appended.durable, storageError("wal durable"))
          })
        // An entry we hold in memory, or a hole's record: it keeps every later record on its own slot.
        const recordAt = (index: number, current: Entry): Entry =>
          index === current.index ? current : changes.logEntry?.(index) ?? { term: 0, index, kind: "noop", data: PLACEHOLDER_DATA }
        // Before the WAL is cut or extended past what it holds, the hard state must say how far our
        // log reached: a crash in between leaves holes up to there, never a shorter log.
        const holdLastIndex = Effect.suspend(() => record.heldThrough < lastIndex ? writeHardState({ ...record, heldThrough: lastIndex }) : Effect.void)
        // Extends the WAL from its end through `current`, then through the intact run after it.
        const extend = (current: Entry) =>
          Effect.gen(function*() {
            yield* holdLastIndex
            let index = walEnd() + 1
            for (; index <= current.index; index++) yield* append(recordAt(index, current))
            for (; index <= logLast; index++) {
              const next = changes.logEntry?.(index)
              if (next === undefined) break
              yield* append(next)
            }
            writtenThrough = index - 1
            lastIndex = Math.max(lastIndex, writtenThrough)
          })

        changes.entries.forEach((entry, i) => {
          assert(entry.term > 0, () => `raft storage asked to write entry ${entry.index} of term 0`)
          assert(i === 0 || entry.index > changes.entries[i - 1]!.index, () => `raft storage batch out of order at entry ${entry.index}`)
        })
        // The batch, and the held fills again if there are any (in index order: a rewrite from a held
        // fill may cover the batch). Usually there are none: the hot path takes the batch as it is.
        let work = changes.entries
        if (held.size > 0) {
          const merged = new Map<number, Entry>()
          for (const index of held) {
            const entry = changes.logEntry?.(index)
            if (entry === undefined) held.delete(index)
            else merged.set(index, entry)
          }
          for (const entry of changes.entries) merged.set(entry.index, entry)
          work = [...merged.values()].sort((a, b) => a.index - b.index)
        }
        for (const entry of work) {
          if (entry.index <= writtenThrough) {
            held.delete(entry.index)
            continue
          }
          // A repaired hole before the WAL's start (its snapshot was lost): it stays in memory
          // until the next snapshot covers it; a crash before that makes it a hole again.
          if (entry.index < record.firstIndex) continue
          if (entry.index <= lastIndex && seqOf(entry.index) <= wal.lastSeq()) {
            // A repair of a damaged slot: in place when the WAL knows the slot's size.
            const repaired = yield* Effect.result(wal.repair(seqOf(entry.index), encodeEntry(entry)))
            if (repaired._tag === "Success") {
              held.delete(entry.index)
              continue
            }
            if (repaired.failure._tag !== "WalRepairError") return yield* storageError("repair wal")(repaired.failure)
            // Otherwise rewrite the WAL from this entry, once every later entry is intact in memory:
            // the cut drops every record after it. It starts at the start of a headerless damaged
            // region, whose entries can only be cut together.
            const startSeq = wal.suffixCut(seqOf(entry.index))
            const startIndex = record.firstIndex + (startSeq - record.firstSeq)
            const tail: Array<Entry> = []
            for (let index = startIndex; index <= logLast; index++) {
              const next = index === entry.index ? entry : changes.logEntry?.(index)
              if (next === undefined) break
              tail.push(next)
            }
            if (tail.length < logLast - startIndex + 1) {
              held.add(entry.index) // a later hole first
              continue
            }
            yield* holdLastIndex
            yield* Effect.mapError(wal.truncateSuffix(startSeq), storageError("truncate wal for repair"))
            assert(wal.lastSeq() + 1 === startSeq, () => `WAL cut at ${wal.lastSeq() + 1}, expected ${startSeq}`)
            for (const e of tail) yield* append(e)
            writtenThrough = logLast
            lastIndex = Math.max(lastIndex, writtenThrough)
            held.delete(entry.index)
            continue
          }
          if (entry.index <= lastIndex || walEnd() < lastIndex) {
            // Past the WAL's end: a fill of a hole recovered from the hard state, or a new entry
            // after such holes or fills. Nothing needs cutting: it goes to disk at once, holes
            // before it as hole records (the fifth and sixth reviews: held in memory, the next
            // append landed on its slot and storage stopped the node).
            yield* extend(entry)
            held.delete(entry.index)
            continue
          }
          assert(entry.index === lastIndex + 1, () => `raft storage append of ${entry.index} after ${lastIndex}`)
          yield* append(entry)
          lastIndex = entry.index
        }
        // Entries first: a durable commit index must never point past the durable log.
        yield* durable
        // `led` belongs to its term: a hard state without it says this node did not lead.
        const next: HardStateRecord = changes.hardState === undefined
          ? record
          : { ...record, ...changes.hardState, led: changes.hardState.led === true }
        // Term and vote must be durable before anyone hears of them, and so must the mapping. A
        // commit index alone is not worth an fsync on every commit (a third one, after the WAL's
        // two): it rides along with the next write. A stale commit index after a crash is
        // learned again from the leader; repair never drops what may be committed (it needs
        // peers' promises, not our commit index), and the holes logic above uses `heldThrough`.
        // Leadership too: repair trusts it (a leader never truncates what it wrote in its term).
        if (mappingChanged || next.term !== record.term || next.vote !== record.vote || (next.led === true) !== (record.led === true)) yield* writeHardState(next)
        else record = next
      })

    const encodeSnapshotFile = (snap: Snapshot): Uint8Array => {
      const meta = encodeSnapshotMeta(snap.meta)
      const bytes = new Uint8Array(4 + meta.length + snap.data.length)
      new DataView(bytes.buffer).setUint32(0, meta.length)
      bytes.set(meta, 4)
      bytes.set(snap.data, 4 + meta.length)
      return bytes
    }

    const saveSnapshot: RaftStorage["saveSnapshot"] = (snap) =>
      Effect.gen(function*() {
        yield* Effect.mapError(snapshots.save(snap.meta.index, encodeSnapshotFile(snap)), storageError("save snapshot"))
        // Everything a snapshot covers is committed: say so durably before the log below it goes,
        // so that losing the snapshots later leaves holes up to it, never a shorter log.
        // A peer's repair snapshot may end past the WAL's end, among holes recovered from the
        // commit index that were never on disk (review of ec873ae): nothing the WAL holds is
        // needed then, so it restarts after the snapshot, as after installSnapshot.
        const walEnd = record.firstIndex + (wal.lastSeq() - record.firstSeq)
        if (snap.meta.index > walEnd) {
          if (wal.lastSeq() >= wal.firstSeq()) yield* Effect.mapError(wal.truncateSuffix(wal.firstSeq()), storageError("truncate wal"))
          lastIndex = Math.max(lastIndex, snap.meta.index)
          yield* writeHardState({
            ...record,
            commit: Math.max(record.commit, snap.meta.index),
            heldThrough: Math.max(record.heldThrough, lastIndex),
            firstIndex: snap.meta.index + 1,
            firstSeq: wal.lastSeq() + 1
          })
          return
        }
        if (record.commit < snap.meta.index) yield* writeHardState({ ...record, commit: snap.meta.index })
        // Keep the log from the oldest retained snapshot on, so a rotted newest snapshot can be rebuilt.
        const kept = yield* Effect.mapError(snapshots.list, storageError("list snapshots"))
        const oldest = kept[0]
        if (oldest !== undefined && oldest >= record.firstIndex) {
          const seq = seqOf(oldest + 1)
          if (seq > wal.firstSeq()) yield* Effect.mapError(wal.truncatePrefix(Math.min(seq, wal.lastSeq() + 1)), storageError("compact wal"))
        }
      })

    const installSnapshot: RaftStorage["installSnapshot"] = (snap) =>
      Effect.gen(function*() {
        yield* Effect.mapError(snapshots.save(snap.meta.index, encodeSnapshotFile(snap)), storageError("save snapshot"))
        if (wal.lastSeq() >= wal.firstSeq()) yield* Effect.mapError(wal.truncateSuffix(wal.firstSeq()), storageError("truncate wal"))
        lastIndex = snap.meta.index
        // The commit index too (it may lag, being lazily durable): with the WAL empty, only it says
        // how far our log reached if this snapshot rots later — holes up to it, never a shorter log
        // that could vote away entries we acknowledged.
        yield* writeHardState({
          ...record,
          commit: Math.max(record.commit, snap.meta.index),
          firstIndex: snap.meta.index + 1,
          firstSeq: wal.lastSeq() + 1
        })
      })

    return {
      recovered: {
        hardState: { term: record.term, vote: record.vote, commit: Math.max(record.commit, snapshotIndex), ...(record.led === true ? { led: true } : {}) },
        snapshot,
        entries,
        damaged
      },
      persist,
      saveSnapshot,
      installSnapshot
    }
  })
