/**
 * A partition snapshot: what Raft keeps in place of the entries it compacts
 * away. The batches themselves are in the replica's segment files, so the
 * snapshot is small: the state machine's state (the high watermark, the
 * idempotent producers, the recent request keys), the log start offset, and
 * the **unsynced tail** — the batches applied but not yet durable in the
 * segment log when the snapshot was taken, which would otherwise exist
 * nowhere on this replica once Raft drops their entries.
 *
 * Restoring one (at a restart, or installed from the leader on a follower
 * too far behind) replaces the machine's state; the segment writer copies
 * from a peer the batches below `tailFrom` its segment log lacks, then
 * writes the tail (`segment-writer.ts`).
 *
 * Encoding, version 1 (inside Raft's snapshot file and messages, which are
 * checksummed): u8 version, uint nextOffset, uint logStartOffset, uint
 * tailFrom; u32 producer count, each: uint pid, uint epoch, u32 batch
 * count, each: uint firstSeq, uint lastSeq, uint baseOffset, uint
 * lastOffset; u32 request count, each: string key, uint baseOffset, uint
 * lastOffset; u32 tail count, each: bytes batch. Version 2 adds, after
 * the requests, the transactions: u32 open count, each: uint pid, uint
 * firstOffset; u32 aborted count, each: uint pid, uint firstOffset, uint
 * lastOffset (version 1 images have none).
 */
import { RaftDecodeError } from "../../codec/decode-error.ts"
import { Reader } from "../../codec/reader.ts"
import { Writer } from "../../codec/writer.ts"
import type { PartitionLog } from "../partition-log.ts"
import type { MachineState, OffsetRange, PartitionMachine } from "./partition-machine.ts"
import type { ReplicaPlantedBug } from "./planted-bugs.ts"
import { NO_TXNS, type AbortedTxn, type TxnsState } from "./partition-txns.ts"
import type { ProducerBatch, ProducerEntry } from "./producer-state.ts"
import type { SegmentWriter } from "./segment-writer.ts"

const VERSION = 2

export interface PartitionImage extends MachineState {
  /** The snapshotting replica's log start (retention is per replica; for operators and tests). */
  readonly logStartOffset: number
  /** Where `tail` starts: the batches below it were durable in the snapshotting replica's segment log. */
  readonly tailFrom: number
  /** Stored batches, consecutive from `tailFrom` up to `nextOffset`. */
  readonly tail: ReadonlyArray<Uint8Array>
}

export const encodePartitionImage = (image: PartitionImage): Uint8Array => {
  const w = new Writer()
  w.u8(VERSION)
  w.uint(image.nextOffset)
  w.uint(image.logStartOffset)
  w.uint(image.tailFrom)
  w.u32(image.producers.length)
  for (const [pid, entry] of image.producers) {
    w.uint(pid)
    w.uint(entry.epoch)
    w.u32(entry.batches.length)
    for (const b of entry.batches) {
      w.uint(b.firstSeq)
      w.uint(b.lastSeq)
      w.uint(b.baseOffset)
      w.uint(b.lastOffset)
    }
  }
  w.u32(image.requests.length)
  for (const [key, range] of image.requests) {
    w.string(key)
    w.uint(range.baseOffset)
    w.uint(range.lastOffset)
  }
  writeTxns(w, image.txns)
  w.u32(image.tail.length)
  for (const b of image.tail) w.raw(b)
  return w.finish()
}

const writeTxns = (w: Writer, txns: TxnsState) => {
  w.u32(txns.open.length)
  for (const [pid, first] of txns.open) {
    w.uint(pid)
    w.uint(first)
  }
  w.u32(txns.aborted.length)
  for (const a of txns.aborted) {
    w.uint(a.producerId)
    w.uint(a.firstOffset)
    w.uint(a.lastOffset)
  }
}

const readTxns = (r: Reader): TxnsState => {
  const open: Array<readonly [number, number]> = []
  for (let n = r.u32(); n > 0; n--) open.push([r.uint(), r.uint()])
  const aborted: Array<AbortedTxn> = []
  for (let n = r.u32(); n > 0; n--) aborted.push({ producerId: r.uint(), firstOffset: r.uint(), lastOffset: r.uint() })
  return { open, aborted }
}

const decodeProducer = (r: Reader): readonly [number, ProducerEntry] => {
  const pid = r.uint()
  const epoch = r.uint()
  const batches: Array<ProducerBatch> = []
  for (let n = r.u32(); n > 0; n--) batches.push({ firstSeq: r.uint(), lastSeq: r.uint(), baseOffset: r.uint(), lastOffset: r.uint() })
  return [pid, { epoch, batches }]
}

/** Throws `RaftDecodeError` on anything but an encoded image (Raft checksummed it: that is a bug). */
export const decodePartitionImage = (bytes: Uint8Array): PartitionImage => {
  const r = new Reader(bytes)
  const version = r.u8()
  if (version !== 1 && version !== VERSION) throw new RaftDecodeError({ message: `partition snapshot version ${version}` })
  const nextOffset = r.uint()
  const logStartOffset = r.uint()
  const tailFrom = r.uint()
  const producers: Array<readonly [number, ProducerEntry]> = []
  for (let n = r.u32(); n > 0; n--) producers.push(decodeProducer(r))
  const requests: Array<readonly [string, OffsetRange]> = []
  for (let n = r.u32(); n > 0; n--) requests.push([r.string(), { baseOffset: r.uint(), lastOffset: r.uint() }])
  const txns = version === 1 ? NO_TXNS : readTxns(r)
  const tail: Array<Uint8Array> = []
  for (let n = r.u32(); n > 0; n--) tail.push(r.raw())
  r.done()
  if (tailFrom > nextOffset) throw new RaftDecodeError({ message: `partition snapshot tail from ${tailFrom} above its end ${nextOffset}` })
  return { nextOffset, logStartOffset, tailFrom, producers, requests, txns, tail }
}

/** The Raft state machine's snapshot hooks for one replica, and how often each ran. */
export const makeSnapshotHooks = (machine: PartitionMachine, writer: SegmentWriter, log: PartitionLog, plantedBug: ReplicaPlantedBug | undefined) => {
  const stats = { taken: 0, restored: 0 }
  const snapshot = (): Uint8Array => {
    stats.taken++
    const state = machine.state()
    // The planted bug leaves the producers' sequences out: a replica restored from it forgets them.
    const producers = plantedBug === "forget-producer-seq" ? [] : state.producers
    return encodePartitionImage({ ...state, producers, logStartOffset: log.logStartOffset(), ...writer.unsyncedTail(machine.nextOffset) })
  }
  const restore = (bytes: Uint8Array): void => {
    stats.restored++
    const image = decodePartitionImage(bytes)
    machine.restore(image)
    writer.restored(image.tailFrom, image.tail)
  }
  return { snapshot, restore, stats: stats as { readonly taken: number; readonly restored: number } }
}
