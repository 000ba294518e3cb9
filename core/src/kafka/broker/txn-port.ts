/**
 * The seam between the Kafka broker and the transaction coordinator
 * (`kafka/txn/`), as `group-port.ts` is for groups: the broker hands each
 * transaction API (and InitProducerId with a transactional id, and
 * FindCoordinator for transactional ids) to a `TxnCoordinator`, which
 * answers a whole response body, errors as codes inside it.
 */
import type { Effect } from "effect"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"

export type TxnApiName = "InitProducerId" | "AddPartitionsToTxn" | "AddOffsetsToTxn" | "EndTxn" | "TxnOffsetCommit" | "FindCoordinator"

export interface TxnCoordinator {
  readonly handle: <N extends TxnApiName>(api: N, body: RequestOf<N>, apiVersion: number) => Effect.Effect<ResponseOf<N>>
}
