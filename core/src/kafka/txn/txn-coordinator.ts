/**
 * Cairn's Kafka transaction coordinator (KIP-98, ADR 0016): the
 * `TxnCoordinator` the broker hands the transaction APIs to. Each
 * transactional id is coordinated by the broker rendezvous hashing places
 * it on (`group/placement.ts`, as groups are); its record lives in the Raft
 * KV (`txn-store.ts`), written by compare-and-set before any answer or
 * marker; markers and producer ids go through the node's log client. A
 * timer (`txn-driver.ts`'s scan) finishes stored decisions and aborts
 * transactions past their timeout.
 *
 * Build it once per node, in a scope: closing the scope stops the timer.
 */
import { Effect, type Scope } from "effect"
import { Clock } from "../../clock/clock.ts"
import type { KvClient } from "../../kv/client.ts"
import type { LogClient } from "../../log/client/log-client.ts"
import type { BrokerDirectory, GroupRequestContext } from "../broker/group-port.ts"
import type { TxnApiName, TxnCoordinator } from "../broker/txn-port.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { makeFindCoordinator } from "../group/find-coordinator.ts"
import { txnCoordinatorOf } from "../group/placement.ts"
import { makeTxnApis } from "./txn-apis.ts"
import { makeTxnDriver, type TxnDriver } from "./txn-driver.ts"
import { makeTxnStore } from "./txn-store.ts"

export interface TxnCoordinatorOptions {
  readonly kv: KvClient
  readonly log: LogClient
  readonly directory: BrokerDirectory
  /** How often stored decisions and timeouts are looked at (ms); a timeout fires up to this late. Default 1000. */
  readonly tickMs?: number
  readonly partitionExists: (topic: string, partition: number) => Effect.Effect<boolean>
}

export interface CairnTxnCoordinator extends TxnCoordinator {
  /** For tests: the driver (one scan on demand). */
  readonly driver: TxnDriver
  readonly owns: (transactionalId: string) => Effect.Effect<boolean>
}

type Handlers = { readonly [N in TxnApiName]: (body: RequestOf<N>, apiVersion: number) => Effect.Effect<ResponseOf<N>> }

export const makeTxnCoordinator = (options: TxnCoordinatorOptions): Effect.Effect<CairnTxnCoordinator, never, Clock | Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const driver = makeTxnDriver({ store: makeTxnStore(options.kv), log: options.log, clock })
    const owns = (id: string) =>
      Effect.map(options.directory.brokers, (brokers) => txnCoordinatorOf(id, brokers.map((b) => b.node)) === options.directory.self)
    const apis = makeTxnApis({ driver, log: options.log, owns, partitionExists: options.partitionExists })
    const find = makeFindCoordinator(options.directory, true)
    const context = (apiVersion: number): GroupRequestContext => ({ apiVersion, clientId: "", clientHost: "", principal: "" })
    const handlers: Handlers = {
      InitProducerId: apis.initProducerId,
      AddPartitionsToTxn: apis.addPartitionsToTxn,
      AddOffsetsToTxn: apis.addOffsetsToTxn,
      EndTxn: apis.endTxn,
      TxnOffsetCommit: (body) => apis.txnOffsetCommit(body),
      FindCoordinator: (body, apiVersion) => find(body, context(apiVersion))
    }
    const tickMs = options.tickMs ?? 1000
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(clock.sleep(tickMs), driver.scan(owns))))
    const handle = <N extends TxnApiName>(api: N, body: RequestOf<N>, apiVersion: number): Effect.Effect<ResponseOf<N>> =>
      // Keyed by API name, so handlers[api] takes RequestOf<N>; TypeScript cannot correlate the two.
      (handlers[api] as (body: RequestOf<N>, apiVersion: number) => Effect.Effect<ResponseOf<N>>)(body, apiVersion)
    return { handle, driver, owns }
  })
