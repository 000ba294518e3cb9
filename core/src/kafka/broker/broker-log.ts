/**
 * What the Kafka broker needs of the node it runs on: the streaming log's
 * client (`log/client/log-client.ts`: it finds each partition's replicas
 * and leader over the node's transport and retries what is safe to retry,
 * so any broker serves every partition), the topics as this node sees them,
 * and the leaders it knows of. Built once per node by the runtime
 * (`runtime-node/src/kafka/`), and by tests over a simulated cluster.
 */
import type { Effect } from "effect"
import type { LogClient } from "../../log/client/log-client.ts"
import type { TopicMeta } from "../../log/topics/topic-meta.ts"
import type { NodeId } from "../../node/node-id.ts"
import type { BrokerDirectory, GroupCoordinator } from "./group-port.ts"
import type { ConnectionState, SaslUsers } from "./sasl.ts"
import type { TxnCoordinator } from "./txn-port.ts"

export interface BrokerLog {
  readonly client: LogClient
  /** Every topic, read after a ReadIndex barrier (current); this node's view if the barrier fails. */
  readonly topics: Effect.Effect<ReadonlyMap<string, TopicMeta>>
  /** Every topic as this node last read them from its KV state: no round trip, but it trails a change by a moment. */
  readonly localTopics: Effect.Effect<ReadonlyMap<string, TopicMeta>>
  /** The partition's Raft leader, when this node runs one of its replicas and knows it; else undefined. */
  readonly leaderOf: (meta: TopicMeta, partition: number) => Effect.Effect<NodeId | undefined>
  /** The leader of the cluster's metadata group (Kafka's controller), if known. */
  readonly controller: Effect.Effect<NodeId | undefined>
}

/** Everything a broker serves requests with. */
export interface Broker {
  readonly log: BrokerLog
  readonly directory: BrokerDirectory
  /** The consumer group coordinator; undefined: group APIs answer COORDINATOR_NOT_AVAILABLE. */
  readonly groups: GroupCoordinator | undefined
  /** The transaction coordinator; undefined: transactional producers are refused (TRANSACTIONAL_ID_AUTHORIZATION_FAILED). */
  readonly transactions?: TxnCoordinator | undefined
  /** Kafka's cluster id (stable for the cluster). */
  readonly clusterId: string
  /** SASL PLAIN users (access key and secret): when set, connections must authenticate (`sasl.ts`). */
  readonly saslUsers?: SaslUsers | undefined
  /** How often a Fetch that waits for data looks again (default 25 ms). */
  readonly fetchPollMs?: number
}

/** The log client's fetch (named apart: core's purity check reads any `fetch(` call as the global one). */
export const readPartition = (broker: Broker): LogClient["fetch"] => {
  const { fetch: read } = broker.log.client
  return read
}

/** Who sent a request: one client connection and its authentication state. */
export type ConnectionContext = ConnectionState
