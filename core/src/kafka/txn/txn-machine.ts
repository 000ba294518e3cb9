/**
 * The transaction coordinator's state machine for one transactional id
 * (KIP-98), as pure functions from the stored record and a request to the
 * record to store next. The driver (`txn-coordinator.ts`) stores each new
 * record by compare-and-set before it answers or acts, so every decision
 * is durable first:
 *
 *     Empty|Complete* --AddPartitions/AddOffsets--> Ongoing
 *     Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
 *     Ongoing --EndTxn(abort) | timeout | InitProducerId--> PrepareAbort --markers written--> CompleteAbort
 *     Empty|Complete* --InitProducerId--> Empty at epoch + 1 (or a fresh producer id at epoch 0)
 *
 * A Prepare state is the decision: whoever coordinates the id next (after a
 * crash or a move) finds it and finishes writing the markers. A timeout or
 * a new InitProducerId aborts at epoch + 1, so the markers themselves fence
 * the old producer on every partition of the transaction.
 */
import { assert } from "../../invariant/invariant.ts"
import type { PendingOffset, TopicPartition, TxnRecord } from "./txn-record.ts"

/** Kafka's epochs are int16; past this the id gets a fresh producer id. */
export const MAX_EPOCH = 32_767
/** Kafka's transaction.max.timeout.ms default (15 minutes). */
export const MAX_TXN_TIMEOUT_MS = 900_000

export type TxnError = "invalid-mapping" | "fenced" | "concurrent" | "invalid-state" | "invalid-timeout"

/**
 * What a request does: `next`, a record to store (undefined: nothing changes); `error`, the refusal;
 * `complete`: `next` (or the stored record) is a Prepare state whose markers the driver must write now.
 */
export interface TxnStep {
  readonly next: TxnRecord | undefined
  readonly error: TxnError | undefined
  readonly complete: boolean
}

const ok = (next: TxnRecord | undefined, complete = false): TxnStep => ({ next, error: undefined, complete })
const refuse = (error: TxnError): TxnStep => ({ next: undefined, error, complete: false })

const isPrepare = (r: TxnRecord): boolean => r.status === "PrepareCommit" || r.status === "PrepareAbort"

/** Whether InitProducerId must draw a fresh producer id for this record. */
export const needsFreshId = (r: TxnRecord | undefined): boolean => r === undefined || r.epoch >= MAX_EPOCH

/** The request's producer must be the id's current one, at its current epoch. */
const checkProducer = (r: TxnRecord | undefined, producerId: number, epoch: number): TxnError | undefined => {
  if (r === undefined || r.producerId !== producerId) return "invalid-mapping"
  if (epoch !== r.epoch) return "fenced"
  return undefined
}

/** The abort a timeout or a new producer forces: the epoch bumped, so the markers fence the old producer. */
const forcedAbort = (r: TxnRecord): TxnRecord => ({ ...r, status: "PrepareAbort", epoch: Math.min(r.epoch + 1, MAX_EPOCH) })

export interface InitRequest {
  readonly timeoutMs: number
  /** KIP-360 (v3+): the producer id and epoch the client holds, when it re-initialises itself. */
  readonly current: { readonly producerId: number; readonly epoch: number } | undefined
  /** A fresh producer id, drawn by the driver when `needsFreshId`. */
  readonly freshId: number | undefined
}

/**
 * InitProducerId with a transactional id. An open transaction is aborted first (`complete`: the driver
 * writes its markers, then asks again); otherwise the id gets its next epoch with nothing open.
 */
export const initProducer = (r: TxnRecord | undefined, req: InitRequest): TxnStep => {
  if (!Number.isSafeInteger(req.timeoutMs) || req.timeoutMs <= 0 || req.timeoutMs > MAX_TXN_TIMEOUT_MS) return refuse("invalid-timeout")
  if (req.current !== undefined && (r === undefined || r.producerId !== req.current.producerId || r.epoch !== req.current.epoch)) return refuse("fenced")
  if (r !== undefined && isPrepare(r)) return ok(undefined, true)
  if (r !== undefined && r.status === "Ongoing") return ok(forcedAbort(r), true)
  const fresh = needsFreshId(r)
  assert(!fresh || req.freshId !== undefined, "InitProducerId needs a fresh producer id")
  return ok({
    producerId: fresh ? req.freshId! : r!.producerId,
    epoch: fresh ? 0 : r!.epoch + 1,
    timeoutMs: req.timeoutMs,
    status: "Empty",
    partitions: [],
    groups: [],
    offsets: []
  })
}

const byPartition = (a: TopicPartition, b: TopicPartition): number => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)

/** Starts or extends the transaction; refused while the previous one's markers are being written. */
const extend = (r: TxnRecord | undefined, producerId: number, epoch: number, change: (r: TxnRecord) => TxnRecord): TxnStep => {
  const wrong = checkProducer(r, producerId, epoch)
  if (wrong !== undefined) return refuse(wrong)
  if (isPrepare(r!)) return refuse("concurrent")
  const open: TxnRecord = r!.status === "Ongoing" ? r! : { ...r!, status: "Ongoing", partitions: [], groups: [], offsets: [] }
  const next = change(open)
  // `change` only adds: an Ongoing record of the same sizes is the stored one.
  const same = r!.status === "Ongoing" && next.partitions.length === r!.partitions.length && next.groups.length === r!.groups.length
  return ok(same ? undefined : next)
}

/** AddPartitionsToTxn. */
export const addPartitions = (r: TxnRecord | undefined, producerId: number, epoch: number, partitions: ReadonlyArray<TopicPartition>): TxnStep =>
  extend(r, producerId, epoch, (open) => {
    const all = [...open.partitions]
    for (const p of partitions) if (!all.some((q) => byPartition(p, q) === 0)) all.push({ topic: p.topic, partition: p.partition })
    return { ...open, partitions: all.sort(byPartition) }
  })

/** AddPartitionsToTxn with VerifyOnly (v4+, a broker asking): are these partitions in the open transaction? Changes nothing. */
export const verifyPartitions = (r: TxnRecord | undefined, producerId: number, epoch: number, partitions: ReadonlyArray<TopicPartition>): TxnStep => {
  const wrong = checkProducer(r, producerId, epoch)
  if (wrong !== undefined) return refuse(wrong)
  const open = r!.status === "Ongoing" && partitions.every((p) => r!.partitions.some((q) => byPartition(p, q) === 0))
  return open ? ok(undefined) : refuse("invalid-state")
}

/** AddOffsetsToTxn: the group's offsets may be committed in this transaction. */
export const addOffsets = (r: TxnRecord | undefined, producerId: number, epoch: number, group: string): TxnStep =>
  extend(r, producerId, epoch, (open) => (open.groups.includes(group) ? open : { ...open, groups: [...open.groups, group].sort() }))

/** TxnOffsetCommit: offsets held in the record until the transaction ends (committed only if it commits). */
export const commitOffsets = (r: TxnRecord | undefined, producerId: number, epoch: number, offsets: ReadonlyArray<PendingOffset>): TxnStep => {
  const wrong = checkProducer(r, producerId, epoch)
  if (wrong !== undefined) return refuse(wrong)
  if (r!.status !== "Ongoing" || !offsets.every((o) => r!.groups.includes(o.group))) return refuse("invalid-state")
  const same = (a: PendingOffset, b: PendingOffset) => a.group === b.group && byPartition(a, b) === 0
  const kept = r!.offsets.filter((o) => !offsets.some((n) => same(o, n)))
  return ok({ ...r!, offsets: [...kept, ...offsets] })
}

/** EndTxn: the decision, stored as a Prepare state; a retry of a decision taken is answered as it was. */
export const endTxn = (r: TxnRecord | undefined, producerId: number, epoch: number, commit: boolean): TxnStep => {
  const wrong = checkProducer(r, producerId, epoch)
  if (wrong !== undefined) return refuse(wrong)
  const rec = r!
  switch (rec.status) {
    case "Ongoing": return ok({ ...rec, status: commit ? "PrepareCommit" : "PrepareAbort" }, true)
    case "PrepareCommit": return commit ? ok(undefined, true) : refuse("invalid-state")
    case "PrepareAbort": return commit ? refuse("invalid-state") : ok(undefined, true)
    case "CompleteCommit": return commit ? ok(undefined) : refuse("invalid-state")
    case "CompleteAbort": return commit ? refuse("invalid-state") : ok(undefined)
    case "Empty": return refuse("invalid-state")
  }
}

/** The transaction outlived its timeout: aborted at epoch + 1 (the producer is fenced). Only an open one times out. */
export const timeOut = (r: TxnRecord | undefined, producerId: number, epoch: number): TxnStep =>
  r !== undefined && r.status === "Ongoing" && r.producerId === producerId && r.epoch === epoch ? ok(forcedAbort(r), true) : ok(undefined)

/** Every marker of the decision `decided` is written (and a commit's offsets): the transaction is complete. */
export const completed = (r: TxnRecord | undefined, decided: TxnRecord): TxnStep => {
  if (r === undefined || r.producerId !== decided.producerId || r.epoch !== decided.epoch || r.status !== decided.status || !isPrepare(r)) return ok(undefined)
  return ok({ ...r, status: r.status === "PrepareCommit" ? "CompleteCommit" : "CompleteAbort", partitions: [], groups: [], offsets: [] })
}

/** Whether the record is a decision whose markers are still to be written. */
export const isDecided = isPrepare
