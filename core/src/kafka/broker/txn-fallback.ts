/**
 * The transaction APIs' answers when no transaction coordinator runs on
 * this broker: TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53) in each API's own
 * shape, which every client treats as fatal for a transactional producer
 * (rather than retrying forever). FindCoordinator for a transactional id
 * then goes to the group coordinator, which answers COORDINATOR_NOT_AVAILABLE.
 */
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { KafkaErrorCode } from "./error-codes.ts"
import type { TxnApiName } from "./txn-port.ts"

const E = KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED

export type FallbackTxnApi = Exclude<TxnApiName, "FindCoordinator">
type Answer<N extends FallbackTxnApi> = (body: RequestOf<N>) => ResponseOf<N>

const answers: { readonly [N in FallbackTxnApi]: Answer<N> } = {
  InitProducerId: () => ({ throttleTimeMs: 0, errorCode: E, producerId: -1n, producerEpoch: -1 }),
  AddPartitionsToTxn: (body) => {
    const results = (topics: ReadonlyArray<{ readonly name: string; readonly partitions: ReadonlyArray<number> }>) =>
      topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: E })) }))
    return {
      throttleTimeMs: 0,
      errorCode: body.transactions.length > 0 ? E : 0,
      resultsByTransaction: body.transactions.map((t) => ({ transactionalId: t.transactionalId, topicResults: results(t.topics) })),
      resultsByTopicV3AndBelow: results(body.v3AndBelowTopics)
    }
  },
  AddOffsetsToTxn: () => ({ throttleTimeMs: 0, errorCode: E }),
  EndTxn: () => ({ throttleTimeMs: 0, errorCode: E }),
  TxnOffsetCommit: (body) => ({
    throttleTimeMs: 0,
    topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: E })) }))
  })
}

/** The refusal of a transaction request on a broker without a transaction coordinator. */
export const noTxnCoordinator = <N extends FallbackTxnApi>(api: N, body: RequestOf<N>): ResponseOf<N> => (answers[api] as Answer<N>)(body)
