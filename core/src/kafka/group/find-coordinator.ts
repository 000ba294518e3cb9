/**
 * FindCoordinator: the broker that coordinates a group (key type 0) is the
 * one `placement.ts` names among the brokers the BrokerDirectory lists.
 * Transactional ids (key type 1) are placed the same way under their own
 * name (`placement.ts`) when the broker runs a transaction coordinator, and
 * get COORDINATOR_NOT_AVAILABLE otherwise; other key types INVALID_REQUEST.
 * v4+ batches keys; v0-3 answer one key in the response's top-level fields.
 */
import { Effect } from "effect"
import type { BrokerDirectory, GroupRequestContext } from "../broker/group-port.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { COORDINATOR_NOT_AVAILABLE, INVALID_REQUEST, NONE, type ErrorCode } from "./error-codes.ts"
import { coordinatorOf, txnCoordinatorOf } from "./placement.ts"

const KEY_TYPE_GROUP = 0
/** FindCoordinator's key type for transactional ids (the broker routes it to the transaction coordinator). */
export const KEY_TYPE_TRANSACTION = 1

interface Found {
  readonly key: string
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly errorCode: ErrorCode
  readonly errorMessage: string | null
}

const notFound = (key: string, errorCode: ErrorCode, errorMessage: string): Found => ({ key, nodeId: -1, host: "", port: -1, errorCode, errorMessage })

/** `transactions`: whether this broker runs a transaction coordinator (key type 1 is placed, not refused). */
export const makeFindCoordinator = (directory: BrokerDirectory, transactions = false) => {
  const findOne = (key: string, keyType: number): Effect.Effect<Found> =>
    Effect.gen(function*() {
      if (keyType === KEY_TYPE_TRANSACTION && !transactions) return notFound(key, COORDINATOR_NOT_AVAILABLE, "this broker runs no transaction coordinator")
      if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION) return notFound(key, INVALID_REQUEST, `unknown key type ${keyType}`)
      const brokers = yield* directory.brokers
      const place = keyType === KEY_TYPE_TRANSACTION ? txnCoordinatorOf : coordinatorOf
      const node = place(key, brokers.map((b) => b.node))
      const address = brokers.find((b) => b.node === node)?.address
      if (address === undefined) return notFound(key, COORDINATOR_NOT_AVAILABLE, "no broker is available")
      return { key, nodeId: address.brokerId, host: address.host, port: address.port, errorCode: NONE, errorMessage: null }
    })

  return (body: RequestOf<"FindCoordinator">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"FindCoordinator">> =>
    Effect.gen(function*() {
      const v = ctx.apiVersion
      const keyType = v >= 1 ? body.keyType : KEY_TYPE_GROUP
      if (v >= 4) {
        const coordinators = yield* Effect.forEach(body.coordinatorKeys, (key) => findOne(key, keyType))
        return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: 0, host: "", port: 0, coordinators }
      }
      const f = yield* findOne(body.key, keyType)
      return { throttleTimeMs: 0, errorCode: f.errorCode, errorMessage: v >= 1 ? f.errorMessage : null, nodeId: f.nodeId, host: f.host, port: f.port, coordinators: [] }
    })
}

/** Whether this node coordinates `groupId` now (placement over the directory's brokers). */
export const ownsGroup = (directory: BrokerDirectory) => (groupId: string): Effect.Effect<boolean> =>
  Effect.map(directory.brokers, (brokers) => coordinatorOf(groupId, brokers.map((b) => b.node)) === directory.self)
