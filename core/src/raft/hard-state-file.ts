/**
 * The hard state file: term, vote, commit and the term it was learned in,
 * whether this node led its term, and where the log sits in the WAL, in two 4 KiB slots, each with a version
 * counter and a CRC32C.
 *
 * Every write puts the same version in both, one after the other, each
 * synced, and only then is the new term or vote acted on: a torn write leaves
 * the previous version in the other slot (nothing depended on the new one
 * yet), and a slot that rots or becomes unreadable later leaves the other
 * with the same version. Recovery takes the valid slot with the higher
 * counter and retries read errors (`readSlots`); storage refuses to start
 * when both slots are lost on a node that has a log: a node that forgot its
 * vote could vote twice in one term (seed 2047, when an unreadable newest
 * slot silently fell back to the older one).
 */
import { Effect } from "effect"
import { crc32c } from "../checksum/crc32c.ts"
import type { DiskFile } from "../disk/disk.ts"
import { assert } from "../invariant/invariant.ts"
import type { NodeId } from "../node/node-id.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import { storageError, type RaftStorageError } from "./storage-error.ts"
import type { HardState } from "./types.ts"

const SLOT_BYTES = 4096
const HARD_STATE_MAGIC = 0x52484453 // "RHDS"

/** The hard state, and the log's mapping onto the WAL. */
export interface HardStateRecord extends HardState {
  readonly firstIndex: number
  readonly firstSeq: number
  /**
   * Our log held entries through here (durably, perhaps acknowledged) when a repair began
   * rewriting the WAL: any the WAL lacks after a crash are holes to repair, never a shorter log.
   */
  readonly heldThrough: number
}

interface Slot {
  readonly version: number
  readonly record: HardStateRecord
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
  // Written even when equal to the term, so a file of this version always says it.
  w.uint(record.commitTerm ?? record.term)
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

const decodeSlot = (bytes: Uint8Array): Slot | undefined => {
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
    // Files written before it existed: the term bounds the term the commit index was learned in.
    const commitTerm = r.atEnd() ? term : r.uint()
    r.done()
    return {
      version: view.getUint32(4),
      record: { term, vote: vote === "" ? undefined : (vote as NodeId), commit, firstIndex, firstSeq, heldThrough, commitTerm, ...(led ? { led } : {}) }
    }
  } catch {
    return undefined
  }
}

/** What the two slots held at recovery. */
export interface SlotsRead {
  readonly slots: ReadonlyArray<Slot | undefined>
  readonly readErrors: ReadonlyArray<string>
  /** Slots that read back as zeros (or nothing): never written. Any other invalid slot was. */
  readonly slotsNeverWritten: number
}

/**
 * Reads both slots, each up to `attempts` times. A generator its caller's `Effect.gen`
 * delegates to, so recovery runs the same effects it ran when this was inline (the simulator's
 * scheduler counts them).
 */
export function* readSlots(file: DiskFile, attempts: number): Generator<Effect.Effect<unknown>, SlotsRead, unknown> {
  const slots: Array<Slot | undefined> = []
  const readErrors: Array<string> = []
  let slotsNeverWritten = 0
  for (let slot = 0; slot < 2; slot++) {
    let read = yield* Effect.result(file.read(slot * SLOT_BYTES, SLOT_BYTES))
    for (let attempt = 1; attempt < attempts && read._tag === "Failure"; attempt++) read = yield* Effect.result(file.read(slot * SLOT_BYTES, SLOT_BYTES))
    if (read._tag === "Failure") readErrors.push(`slot ${slot}: ${read.failure._tag}`)
    if (read._tag === "Success" && read.success.every((byte) => byte === 0)) slotsNeverWritten++
    slots.push(read._tag === "Success" ? decodeSlot(read.success) : undefined)
  }
  return { slots, readErrors, slotsNeverWritten }
}

/** The hard state as last written (or as recovery decided), and how to write the next one. */
export class HardStateFile {
  private readonly file: DiskFile
  private version: number
  /** The current record; `write` replaces it once both slots hold the new one. */
  record: HardStateRecord

  constructor(file: DiskFile, version: number, record: HardStateRecord) {
    this.file = file
    this.version = version
    this.record = record
  }

  /** Writes `next` durably to both slots; `firstSlot` is overwritten first, the other keeps the previous state until then. */
  write(next: HardStateRecord, firstSlot = (this.version + 1) % 2): Effect.Effect<void, RaftStorageError> {
    const self = this
    return Effect.gen(function*() {
      self.version++
      const bytes = encodeSlot(self.version, next)
      for (const slot of [firstSlot, 1 - firstSlot]) {
        yield* Effect.mapError(self.file.write(slot * SLOT_BYTES, bytes), storageError("write hard state"))
        yield* Effect.mapError(self.file.sync, storageError("sync hard state"))
      }
      self.record = next
    })
  }
}
