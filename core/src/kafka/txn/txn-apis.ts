/**
 * The transaction APIs on the wire: InitProducerId with a transactional id,
 * AddPartitionsToTxn (v0-3 one transaction, v4+ a batch), AddOffsetsToTxn,
 * EndTxn and TxnOffsetCommit, each turned into a transition of the id's
 * record (`txn-machine.ts`) run by the driver, and the refusals turned into
 * the error codes each version knows. Every API but TxnOffsetCommit must
 * reach the id's coordinator (NOT_COORDINATOR otherwise); TxnOffsetCommit
 * goes to the group's coordinator, as in Kafka, and needs none: the
 * record's compare-and-set orders it with the transaction's coordinator.
 */
import { Effect } from "effect"
import type { LogClient } from "../../log/client/log-client.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import type { TxnDriver } from "./txn-driver.ts"
import { addOffsets, addPartitions, commitOffsets, endTxn, initProducer, needsFreshId, type TxnError, verifyPartitions } from "./txn-machine.ts"
import type { PendingOffset, TopicPartition } from "./txn-record.ts"

const Code = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  PRODUCER_FENCED: 90
} as const

/** The code for a refusal; `fencedCode` is what this API and version call a fenced epoch. */
const codeOf = (error: TxnError | "unavailable", fencedCode: number): number => {
  switch (error) {
    case "invalid-mapping": return Code.INVALID_PRODUCER_ID_MAPPING
    case "fenced": return fencedCode
    case "concurrent": return Code.CONCURRENT_TRANSACTIONS
    case "invalid-state": return Code.INVALID_TXN_STATE
    case "invalid-timeout": return Code.INVALID_TRANSACTION_TIMEOUT
    case "unavailable": return Code.COORDINATOR_NOT_AVAILABLE
  }
}

/** PRODUCER_FENCED exists from these versions (KIP-588); older ones say INVALID_PRODUCER_EPOCH. */
const fencedFrom = (version: number, from: number): number => (version >= from ? Code.PRODUCER_FENCED : Code.INVALID_PRODUCER_EPOCH)

export interface TxnApiDeps {
  readonly driver: TxnDriver
  readonly log: LogClient
  readonly owns: (transactionalId: string) => Effect.Effect<boolean>
  readonly partitionExists: (topic: string, partition: number) => Effect.Effect<boolean>
}

/** The error code of a transition on an id this node coordinates (or NOT_COORDINATOR). */
const runOwned = (deps: TxnApiDeps, id: string, fencedCode: number, step: Parameters<TxnDriver["apply"]>[1]): Effect.Effect<number> =>
  Effect.gen(function*() {
    if (!(yield* deps.owns(id))) return Code.NOT_COORDINATOR
    const r = yield* deps.driver.apply(id, step)
    return r.ok ? Code.NONE : codeOf(r.error, fencedCode)
  })

export const makeTxnApis = (deps: TxnApiDeps) => {
  const initProducerId = (body: RequestOf<"InitProducerId">, version: number): Effect.Effect<ResponseOf<"InitProducerId">> =>
    Effect.gen(function*() {
      const id = body.transactionalId!
      const failed = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 })
      if (!(yield* deps.owns(id))) return failed(Code.NOT_COORDINATOR)
      const current = body.producerId >= 0n ? { producerId: Number(body.producerId), epoch: body.producerEpoch } : undefined
      // An open transaction is aborted first (its markers written), then the id gets its next epoch.
      for (let round = 0; round < 3; round++) {
        const r = yield* deps.driver.apply(id, (rec) =>
          Effect.gen(function*() {
            const freshId = needsFreshId(rec) ? (yield* deps.log.initProducer("")).producerId : undefined
            return initProducer(rec, { timeoutMs: body.transactionTimeoutMs, current, freshId })
          }))
        if (!r.ok) return failed(codeOf(r.error, fencedFrom(version, 4)))
        if (r.record !== undefined && r.record.status === "Empty") {
          return { throttleTimeMs: 0, errorCode: Code.NONE, producerId: BigInt(r.record.producerId), producerEpoch: r.record.epoch }
        }
        if (!r.finished) break
      }
      return failed(Code.CONCURRENT_TRANSACTIONS)
    })

  /** One transaction's partitions added: every partition gets the same code (the record changes all or nothing). */
  const addOne = (id: string, producerId: bigint, epoch: number, topics: ReadonlyArray<{ readonly name: string; readonly partitions: ReadonlyArray<number> }>, version: number, verifyOnly = false) =>
    Effect.gen(function*() {
      const wanted: Array<TopicPartition> = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })))
      const missing = yield* Effect.filter(wanted, (p) => (p.partition < 0 ? Effect.succeed(true) : Effect.map(deps.partitionExists(p.topic, p.partition), (e) => !e)))
      const code = missing.length > 0
        ? Code.UNKNOWN_TOPIC_OR_PARTITION
        : yield* runOwned(deps, id, fencedFrom(version, 2), (r) => Effect.succeed((verifyOnly ? verifyPartitions : addPartitions)(r, Number(producerId), epoch, wanted)))
      return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: code })) }))
    })

  const addPartitionsToTxn = (body: RequestOf<"AddPartitionsToTxn">, version: number): Effect.Effect<ResponseOf<"AddPartitionsToTxn">> =>
    Effect.gen(function*() {
      if (version <= 3) {
        const results = yield* addOne(body.v3AndBelowTransactionalId, body.v3AndBelowProducerId, body.v3AndBelowProducerEpoch, body.v3AndBelowTopics, version)
        return { throttleTimeMs: 0, errorCode: Code.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: results }
      }
      const resultsByTransaction = yield* Effect.forEach(body.transactions, (t) =>
        Effect.map(addOne(t.transactionalId, t.producerId, t.producerEpoch, t.topics, version, t.verifyOnly), (topicResults) => ({ transactionalId: t.transactionalId, topicResults })))
      return { throttleTimeMs: 0, errorCode: Code.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] }
    })

  const addOffsetsToTxn = (body: RequestOf<"AddOffsetsToTxn">, version: number): Effect.Effect<ResponseOf<"AddOffsetsToTxn">> =>
    Effect.map(
      runOwned(deps, body.transactionalId, fencedFrom(version, 2), (r) => Effect.succeed(addOffsets(r, Number(body.producerId), body.producerEpoch, body.groupId))),
      (errorCode) => ({ throttleTimeMs: 0, errorCode })
    )

  const endTxnApi = (body: RequestOf<"EndTxn">, version: number): Effect.Effect<ResponseOf<"EndTxn">> =>
    Effect.map(
      runOwned(deps, body.transactionalId, fencedFrom(version, 2), (r) => Effect.succeed(endTxn(r, Number(body.producerId), body.producerEpoch, body.committed))),
      (errorCode) => ({ throttleTimeMs: 0, errorCode })
    )

  const txnOffsetCommit = (body: RequestOf<"TxnOffsetCommit">): Effect.Effect<ResponseOf<"TxnOffsetCommit">> =>
    Effect.gen(function*() {
      const offsets: Array<PendingOffset> = body.topics.flatMap((t) =>
        t.partitions.map((p) => ({ group: body.groupId, topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset), metadata: p.committedMetadata ?? "" })))
      const bad = offsets.some((o) => !Number.isSafeInteger(o.offset) || o.offset < 0 || o.partition < 0)
      const r = bad ? undefined : yield* deps.driver.apply(body.transactionalId, (rec) => Effect.succeed(commitOffsets(rec, Number(body.producerId), body.producerEpoch, offsets)))
      const code = r === undefined ? Code.INVALID_TXN_STATE : r.ok ? Code.NONE : codeOf(r.error, Code.INVALID_PRODUCER_EPOCH)
      return { throttleTimeMs: 0, topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })) }
    })

  return { initProducerId, addPartitionsToTxn, addOffsetsToTxn, endTxn: endTxnApi, txnOffsetCommit }
}
