/**
 * A transactional id's record (Kafka's TransactionMetadata): the producer
 * id and epoch it holds, the transaction timeout, where its current
 * transaction stands, the partitions and consumer groups it touched, and
 * the consumer offsets it will commit if it commits. Stored as JSON in the
 * Raft KV under `\u0000ltx/<transactional id>` (`txn-store.ts`); a record
 * that does not decode is refused, never guessed at.
 */
import { decodeJsonRecord } from "../../codec/json-record.ts"

export type TxnStatus = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort"
const STATUSES: ReadonlyArray<TxnStatus> = ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort"]

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/** A consumer offset committed inside a transaction: written to the group's offsets if it commits. */
export interface PendingOffset extends TopicPartition {
  readonly group: string
  readonly offset: number
  readonly metadata: string
}

export interface TxnRecord {
  readonly producerId: number
  /** Kafka's int16 epoch. */
  readonly epoch: number
  readonly timeoutMs: number
  readonly status: TxnStatus
  /** Sorted by topic, then partition; no repeats. */
  readonly partitions: ReadonlyArray<TopicPartition>
  /** Groups added by AddOffsetsToTxn, sorted. */
  readonly groups: ReadonlyArray<string>
  readonly offsets: ReadonlyArray<PendingOffset>
}

const VERSION = 1
const encoder = new TextEncoder()

export const encodeTxnRecord = (r: TxnRecord): Uint8Array => encoder.encode(JSON.stringify({ v: VERSION, ...r }))

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0
const isPartition = (v: unknown): v is TopicPartition => {
  const p = v as Partial<TopicPartition> | null
  return typeof p === "object" && p !== null && typeof p.topic === "string" && isCount(p.partition)
}
const isOffset = (v: unknown): v is PendingOffset => {
  const o = v as Partial<PendingOffset> | null
  return isPartition(v) && typeof o!.group === "string" && isCount(o!.offset) && typeof o!.metadata === "string"
}

/** The record, or undefined if the bytes are not one this version wrote. */
export const decodeTxnRecord = (bytes: Uint8Array): TxnRecord | undefined => {
  const j = decodeJsonRecord(bytes)
  if (j === undefined || j["v"] !== VERSION) return undefined
  const { producerId, epoch, timeoutMs, status, partitions, groups, offsets } = j
  if (!isCount(producerId) || !isCount(epoch) || !isCount(timeoutMs) || !STATUSES.includes(status as TxnStatus)) return undefined
  if (!Array.isArray(partitions) || !partitions.every(isPartition)) return undefined
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string")) return undefined
  if (!Array.isArray(offsets) || !offsets.every(isOffset)) return undefined
  return { producerId, epoch, timeoutMs, status: status as TxnStatus, partitions, groups, offsets }
}
