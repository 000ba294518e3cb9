/**
 * The Kafka protocol on one `cairn server`: the broker (core's pure
 * handlers) over this node's log client, its view of the topics and the
 * leaders of the partitions it holds replicas of; the directory of brokers
 * (brokers.ts); and the TCP listener (listener.ts).
 *
 * The advertised address is where clients reach this listener: the bound
 * address, except that a wildcard host (0.0.0.0, ::) is no address for a
 * client, so the host of this node's `--api-peers` entry stands in for it.
 */
import type { Clock, KvServer, NodeId, Random } from "@cairn/core"
import type { Broker, BrokerLog } from "@cairn/core/kafka/broker/broker-log"
import type { BrokerDirectory } from "@cairn/core/kafka/broker/group-port"
import { makeGroupCoordinator } from "@cairn/core/kafka/group/coordinator"
import { makeTxnCoordinator } from "@cairn/core/kafka/txn/txn-coordinator"
import { makeLocalKvClient } from "@cairn/core/kv/local-client"
import type { LogClient } from "@cairn/core/log/client/log-client"
import type { Users } from "@cairn/core/s3/users"
import type { LogNode } from "@cairn/core/log/service/log-node"
import { readTopicView } from "@cairn/core/log/service/topic-view"
import { groupId } from "@cairn/core/log/topics/topic-meta"
import { Effect, type Scope } from "effect"
import { log } from "../log/log.ts"
import type { ServerConfig } from "../server/config.ts"
import { type KafkaBrokers, makeKafkaBrokers } from "./brokers.ts"
import { type KafkaListener, KafkaListenerError, startKafkaListener } from "./listener.ts"

export interface KafkaNodeParts {
  readonly config: ServerConfig
  readonly kv: KvServer
  readonly logNode: LogNode
  readonly logClient: LogClient
  readonly zoneOf: (node: NodeId) => string | undefined
  /** The S3 users (with `--kafka-sasl`, Kafka clients authenticate as them). */
  readonly users: Users
}

const WILDCARD = new Set(["0.0.0.0", "::", "[::]"])

/** The host clients should use for this node when it listens on `host`. */
const advertisedHost = (config: ServerConfig, host: string): string => {
  if (!WILDCARD.has(host)) return host
  const own = config.apiPeers.get(config.id)
  const peerHost = own === undefined ? undefined : own.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")
  return peerHost === undefined || WILDCARD.has(peerHost) ? "127.0.0.1" : peerHost
}

const brokerLog = (parts: KafkaNodeParts): BrokerLog => ({
  client: parts.logClient,
  topics: Effect.matchEffect(parts.kv.raft.readBarrier(parts.config.requestTimeoutMs), {
    onSuccess: () => Effect.sync(() => readTopicView(parts.kv.stateMachine, parts.config.id).topics),
    onFailure: () => Effect.sync(() => parts.logNode.topics())
  }),
  localTopics: Effect.sync(() => parts.logNode.topics()),
  leaderOf: (meta, partition) =>
    Effect.suspend(() => {
      const replica = parts.logNode.replicas().get(groupId(meta, partition))
      return replica === undefined ? Effect.succeed(undefined) : Effect.map(replica.raft.status, (s) => s.leader)
    }),
  controller: Effect.map(parts.kv.raft.status, (s) => s.leader)
})

/**
 * Starts the listener and the broker directory's sync. A default address
 * that is taken leaves the node without a Kafka listener (a warning says
 * so); an address the operator chose that is taken stops the start.
 */
export const startKafka = (parts: KafkaNodeParts): Effect.Effect<KafkaListener | undefined, KafkaListenerError, Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const { config } = parts
    // The directory needs the bound port (0 asks for any), and the broker exists before the listener binds:
    // it reads the directory through this holder, filled right after binding.
    let directory: KafkaBrokers | undefined
    const lazy: BrokerDirectory = {
      self: config.id,
      brokers: Effect.suspend(() => directory?.brokers ?? Effect.succeed([])),
      brokerOf: (node) => Effect.suspend(() => directory?.brokerOf(node) ?? Effect.succeed(undefined))
    }
    const inView = (view: ReadonlyMap<string, { readonly replicas: ReadonlyArray<unknown> }>, topic: string, partition: number) => {
      const meta = view.get(topic)
      return meta !== undefined && partition >= 0 && partition < meta.replicas.length
    }
    // This node's view first; one it lacks may be a topic created a moment ago: ask again after a barrier.
    const partitionExists = (topic: string, partition: number) =>
      Effect.suspend(() =>
        inView(parts.logNode.topics(), topic, partition) ? Effect.succeed(true) : Effect.map(brokerLog(parts).topics, (view) => inView(view, topic, partition)))
    // The consumer group coordinator (docs/kafka.md#consumer-groups): groups' records and offsets in the KV.
    const groups = yield* makeGroupCoordinator({
      kv: yield* makeLocalKvClient(parts.kv, { clientId: `kafka-groups-${config.id}` }),
      directory: lazy,
      partitionExists
    })
    // The transaction coordinator (docs/kafka.md#transactions): records in the KV, markers through the log client.
    // Its timer (forked here, a range read of the records each second) exports no spans, like the other background loops.
    const transactions = yield* Effect.withTracerEnabled(
      makeTxnCoordinator({
        kv: yield* makeLocalKvClient(parts.kv, { clientId: `kafka-txns-${config.id}` }),
        log: parts.logClient,
        directory: lazy,
        partitionExists
      }),
      false
    )
    const broker: Broker = {
      log: brokerLog(parts),
      directory: lazy,
      groups,
      transactions,
      clusterId: `cairn-${[...config.peers.keys()].sort().join("-")}`,
      saslUsers: config.kafkaSasl ? parts.users.lookup : undefined
    }
    const listener = yield* Effect.catchTag(
      startKafkaListener({ broker, address: config.kafkaListen.address }),
      "KafkaListenerError",
      (e) => {
        if (!e.inUse || config.kafkaListen.explicit) return Effect.fail(e)
        log("warn", "the Kafka listener did not start: its default address is taken; set --kafka-listen to serve it elsewhere", { error: e.message })
        return Effect.succeed(undefined)
      }
    )
    directory = makeKafkaBrokers({
      self: config.id,
      advertised: listener === undefined ? undefined : { host: advertisedHost(config, listener.address.host), port: listener.address.port },
      requestTimeoutMs: config.requestTimeoutMs,
      members: () => Effect.runSync(parts.kv.raft.status).members,
      zoneOf: parts.zoneOf
    }, parts.kv)
    yield* Effect.forkScoped(Effect.withTracerEnabled(directory.sync, false))
    return listener
  })

export { KafkaListenerError }
