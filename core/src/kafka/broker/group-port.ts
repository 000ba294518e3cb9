/**
 * The seam between the Kafka broker (`kafka/broker/`: it decodes a request,
 * finds who serves it and encodes the answer) and the group coordinator
 * (`kafka/group/`: consumer groups, their rebalances and their offsets).
 * The broker hands every group API to a `GroupCoordinator` with the decoded
 * body and the request's version; the coordinator answers a whole response
 * body, errors included (Kafka reports them as codes inside the body, never
 * by closing the connection).
 *
 * Kafka names brokers by int32 ids and clients connect to a host and port
 * per broker: `BrokerDirectory` is the broker's mapping of Cairn's node ids
 * to those, shared with the coordinator so that FindCoordinator and
 * Metadata name the same broker the same way.
 */
import type { Effect } from "effect"
import type { NodeId } from "../../node/node-id.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"

/** The APIs a group coordinator answers. */
export type GroupApiName =
  | "FindCoordinator"
  | "JoinGroup"
  | "SyncGroup"
  | "Heartbeat"
  | "LeaveGroup"
  | "OffsetCommit"
  | "OffsetFetch"
  | "DescribeGroups"
  | "ListGroups"
  | "DeleteGroups"

/** Who sent a request, as Kafka's DescribeGroups reports members. */
export interface GroupRequestContext {
  /** The request's version: a body's fields and the error codes allowed depend on it. */
  readonly apiVersion: number
  readonly clientId: string
  readonly clientHost: string
  /** The authenticated user (the SASL username), or "anonymous". */
  readonly principal: string
}

export interface GroupCoordinator {
  readonly handle: <N extends GroupApiName>(api: N, body: RequestOf<N>, context: GroupRequestContext) => Effect.Effect<ResponseOf<N>>
}

/** Where clients reach one broker. */
export interface BrokerAddress {
  readonly brokerId: number
  readonly host: string
  readonly port: number
  /** The node's zone, Kafka's rack (null when none is configured). */
  readonly rack: string | null
}

export interface BrokerDirectory {
  /** The broker a node is, if it runs a Kafka listener and is a member. */
  readonly brokerOf: (node: NodeId) => Effect.Effect<BrokerAddress | undefined>
  /** Every member with a Kafka listener, in a stable order. */
  readonly brokers: Effect.Effect<ReadonlyArray<{ readonly node: NodeId; readonly address: BrokerAddress }>>
  /** This node. */
  readonly self: NodeId
}
