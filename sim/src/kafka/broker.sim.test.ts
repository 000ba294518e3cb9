/**
 * Kafka broker handlers (`core/src/kafka/broker/`) over the real streaming
 * log of a simulated cluster (fault-free, virtual time): each request is
 * encoded as a client would, passed through `handleFrame` (decode,
 * dispatch, encode) and its answer decoded again, so the codec's version
 * rules are exercised with every response the handlers build.
 */
import { Clock, nodeId, type NodeId } from "@cairn/core"
import type { Broker, BrokerLog } from "@cairn/core/kafka/broker/broker-log"
import { KafkaErrorCode } from "@cairn/core/kafka/broker/error-codes"
import type { BrokerDirectory } from "@cairn/core/kafka/broker/group-port"
import { handleFrame, pipelines, startFrame } from "@cairn/core/kafka/broker/handle-frame"
import { ConnectionState, type SaslUsers } from "@cairn/core/kafka/broker/sasl"
import { type ApiName, kafkaApis, type RequestOf, type ResponseOf } from "@cairn/core/kafka/protocol/api-table"
import { decodeResponse, encodeRequest } from "@cairn/core/kafka/protocol/request"
import { makeLogClient } from "@cairn/core/log/client/log-client"
import { encodeBatch } from "@cairn/core/log/record-batch"
import { groupId } from "@cairn/core/log/topics/topic-meta"
import { readTopicView } from "@cairn/core/log/service/topic-view"
import { recordBatches } from "@cairn/core/kafka/protocol/records"
import { seededSource } from "@cairn/runtime-test"
import { Effect, Fiber, Result } from "effect"
import { describe, expect, it } from "vitest"
import { SimCluster } from "../cluster.ts"
import { faultFreeDisk } from "../disk.ts"
import { runFor } from "../harness.test-support.ts"
import { logServers } from "../log/log-cluster.ts"
import { faultFreeNetwork, type NetworkFaultConfig } from "../network.ts"

const record = (v: string) => ({ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: new TextEncoder().encode(v), headers: [] })
const batch = (values: ReadonlyArray<string>, timestamp = 1000, producer?: { readonly id: number; readonly epoch: number; readonly seq: number }) =>
  encodeBatch({
    baseTimestamp: timestamp,
    records: values.map((v, i) => ({ ...record(v), offsetDelta: i })),
    ...(producer === undefined ? {} : { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq })
  })

type Call = <N extends ApiName>(api: N, version: number, body: RequestOf<N>, connection?: ConnectionState) => Effect.Effect<ResponseOf<N> | "silent" | `closed: ${string}`, never, Clock>

/** A one-node simulated cluster with the log; `body` gets a broker over it on the client process. */
type Servers = ReturnType<typeof logServers>

/**
 * A simulated cluster of `nodes` with the log; `body` gets a broker running "on n1" (its view, its replicas' leaders).
 * Broker ids: n1 is 7, n2 8, and so on.
 */
const withBroker = async <A>(
  body: (call: Call, broker: Broker, servers: Servers) => Effect.Effect<A, never, Clock>,
  saslUsers?: SaslUsers,
  nodes = 1,
  network: NetworkFaultConfig = faultFreeNetwork
): Promise<A> => {
  const voters = Array.from({ length: nodes }, (_, i) => nodeId(`n${i + 1}`))
  const cluster = new SimCluster({ random: seededSource("kafka-broker"), nodes, clients: 1, disk: faultFreeDisk, network, clocks: [] })
  const servers = logServers({ voters, log: { reconcileMs: 50 } })
  cluster.start(servers.server)
  const n1 = () => servers.node(voters[0]!)!
  let outcome: { value: A } | { error: unknown } | undefined
  cluster.startClients(() =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* makeLogClient({ nodes: voters })
      // The node up and its metadata group led before the first request.
      const clock = yield* Clock
      while (servers.node(voters[0]!) === undefined || (yield* n1().kv.raft.status).leader === undefined) yield* clock.sleep(50)
      const log: BrokerLog = {
        client,
        // As the runtime does: a ReadIndex barrier, then the topics in the KV state.
        topics: Effect.suspend(() => Effect.as(Effect.orDie(n1().kv.raft.readBarrier(2000)), readTopicView(n1().kv.stateMachine, voters[0]!).topics)),
        localTopics: Effect.sync(() => n1().log!.topics()),
        leaderOf: (meta, p) => Effect.suspend(() => {
          const replica = n1().log!.replicas().get(groupId(meta, p))
          return replica === undefined ? Effect.succeed(undefined) : Effect.map(replica.raft.status, (s) => s.leader)
        }),
        controller: Effect.suspend(() => Effect.map(n1().kv.raft.status, (s) => s.leader))
      }
      const list = voters.map((node, i) => ({ node, address: { brokerId: 7 + i, host: `${node}.test`, port: 9092, rack: null } }))
      const directory: BrokerDirectory = {
        self: voters[0]!,
        brokers: Effect.succeed(list),
        brokerOf: (node: NodeId) => Effect.succeed(list.find((b) => b.node === node)?.address)
      }
      const broker: Broker = { log, directory, groups: undefined, clusterId: "sim", fetchPollMs: 20, saslUsers }
      let correlationId = 0
      const call: Call = (api, version, request, connection = new ConnectionState("c1", saslUsers !== undefined)) =>
        Effect.gen(function*() {
          const id = ++correlationId
          const frame = Result.getOrThrow(encodeRequest(api, version, { correlationId: id, clientId: "test" }, request))
          const out = yield* handleFrame(broker, frame.subarray(4), connection)
          if (out._tag === "Silent") return "silent" as const
          if (out._tag === "Close") return `closed: ${out.reason}` as const
          const decoded = Result.getOrThrow(decodeResponse(api, version, out.frame.subarray(4)))
          expect(decoded.correlationId).toBe(id)
          return decoded.body
        })
      outcome = { value: yield* body(call, broker, servers) }
    })).pipe(Effect.catchCause((cause) => Effect.sync(() => (outcome = { error: cause }))))
  )
  runFor(cluster, 120_000)
  if (outcome === undefined) throw new Error("the client did not finish")
  if ("error" in outcome) throw new Error(`the client failed: ${String(outcome.error)}`)
  return outcome.value
}

const ok = <A>(r: A | "silent" | `closed: ${string}`): A => {
  if (typeof r === "string") throw new Error(`expected a response, got ${r}`)
  return r
}

const createTopic = (name: string, numPartitions: number, extra: Partial<RequestOf<"CreateTopics">["topics"][number]> = {}) => ({
  name, numPartitions, replicationFactor: -1, assignments: [], configs: [], ...extra
})

const produceRequest = (acks: number, topic: string, partitions: ReadonlyArray<[number, Uint8Array | null]>): RequestOf<"Produce"> => ({
  transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: partitions.map(([index, records]) => ({ index, records })) }]
})

const fetchPartition = (partition: number, offset: number, maxBytes = 1 << 20) => ({
  partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: maxBytes, replicaDirectoryId: new Uint8Array(16)
})

const fetchRequest = (topics: RequestOf<"Fetch">["topics"], maxWaitMs = 0, minBytes = 0): RequestOf<"Fetch"> => ({
  clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs, minBytes, maxBytes: 1 << 20, isolationLevel: 0,
  sessionId: 0, sessionEpoch: -1, topics, forgottenTopicsData: [], rackId: ""
})

describe("the Kafka broker over the streaming log", () => {
  it("creates topics with Kafka's error codes, reports metadata with topic ids, and describes configs", async () => {
    const out = await withBroker((call) =>
      Effect.gen(function*() {
        const created = ok(yield* call("CreateTopics", 7, {
          topics: [
            createTopic("orders", 2, { configs: [{ name: "retention.ms", value: "60000" }] }),
            createTopic("bad/name", 1),
            createTopic("wide", 1, { replicationFactor: 3 }),
            createTopic("odd", 1, { configs: [{ name: "cleanup.policy", value: "compact" }] }),
            createTopic("zero", 0)
          ],
          timeoutMs: 5000,
          validateOnly: false
        }))
        const again = ok(yield* call("CreateTopics", 4, { topics: [createTopic("orders", 2)], timeoutMs: 5000, validateOnly: false }))
        const dry = ok(yield* call("CreateTopics", 5, { topics: [createTopic("later", 4)], timeoutMs: 5000, validateOnly: true }))
        const all = ok(yield* call("Metadata", 12, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
        const named = ok(yield* call("Metadata", 1, { topics: [{ topicId: new Uint8Array(16), name: "orders" }, { topicId: new Uint8Array(16), name: "nope" }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
        const configs = ok(yield* call("DescribeConfigs", 4, { resources: [{ resourceType: 2, resourceName: "orders", configurationKeys: ["retention.ms", "max.message.bytes"] }, { resourceType: 2, resourceName: "nope", configurationKeys: null }], includeSynonyms: false, includeDocumentation: false }))
        return {
          created: created.topics.map((t) => [t.name, t.errorCode, t.numPartitions]),
          createdId: created.topics[0]!.topicId,
          again: again.topics.map((t) => t.errorCode),
          dry: dry.topics.map((t) => [t.errorCode, t.numPartitions, t.replicationFactor]),
          all: all.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes])]),
          allIds: all.topics.map((t) => t.topicId),
          brokers: all.brokers,
          controller: all.controllerId,
          named: named.topics.map((t) => [t.name, t.errorCode, t.partitions.length]),
          configs: configs.results.map((r) => [r.errorCode, r.configs.map((c) => [c.name, c.value])])
        }
      }))
    expect(out.created).toEqual([["orders", 0, 2], ["bad/name", 17, -1], ["wide", 38, -1], ["odd", 40, -1], ["zero", 37, -1]])
    expect(out.again).toEqual([KafkaErrorCode.TOPIC_ALREADY_EXISTS])
    expect(out.dry).toEqual([[0, 4, 1]])
    expect(out.all).toEqual([["orders", [[0, 7, [7]], [1, 7, [7]]]]])
    expect(out.allIds).toEqual([out.createdId])
    expect(out.createdId.some((b) => b !== 0)).toBe(true)
    expect(out.brokers).toEqual([{ nodeId: 7, host: "n1.test", port: 9092, rack: null }])
    expect(out.controller).toBe(7)
    expect(out.named).toEqual([["orders", 0, 2], ["nope", KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0]])
    expect(out.configs).toEqual([[0, [["max.message.bytes", "1048576"], ["retention.ms", "60000"]]], [KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]])
  })

  it("produces (acks -1, 1 and 0), refuses bad batches, fetches by name and id with long polling, and lists offsets", async () => {
    const out = await withBroker((call) =>
      Effect.gen(function*() {
        ok(yield* call("CreateTopics", 7, { topics: [createTopic("t", 2)], timeoutMs: 5000, validateOnly: false }))
        const all = ok(yield* call("Produce", 9, produceRequest(-1, "t", [[0, batch(["a", "b"], 1000)], [1, batch(["x"], 1000)]])))
        const one = ok(yield* call("Produce", 3, produceRequest(1, "t", [[0, batch(["c"], 5000)]])))
        const none = yield* call("Produce", 7, produceRequest(0, "t", [[0, batch(["d"], 9000)]]))
        const damaged = batch(["e"])
        damaged[damaged.length - 1] ^= 0xff
        const bad = ok(yield* call("Produce", 9, produceRequest(-1, "t", [[0, damaged], [1, new Uint8Array([...batch(["f"]), ...batch(["g"])])], [9, batch(["h"])]])))
        const badAcks = ok(yield* call("Produce", 9, produceRequest(2, "t", [[0, batch(["i"])]])))
        const byName = ok(yield* call("Fetch", 11, fetchRequest([{ topic: "t", topicId: new Uint8Array(16), partitions: [fetchPartition(0, 1), fetchPartition(1, 0)] }])))
        const meta = ok(yield* call("Metadata", 12, { topics: [{ topicId: new Uint8Array(16), name: "t" }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
        const topicId = meta.topics[0]!.topicId
        const byId = ok(yield* call("Fetch", 17, fetchRequest([{ topic: "", topicId, partitions: [fetchPartition(1, 0)] }])))
        const unknownId = ok(yield* call("Fetch", 13, fetchRequest([{ topic: "", topicId: Uint8Array.from({ length: 16 }, () => 9), partitions: [fetchPartition(0, 0)] }])))
        // At the end of partition 1, waiting up to 300 ms for a byte: nothing comes, the answer is empty.
        const clock = yield* Clock
        const before = yield* clock.monotonicMs
        const waited = ok(yield* call("Fetch", 11, fetchRequest([{ topic: "t", topicId: new Uint8Array(16), partitions: [fetchPartition(1, 1)] }], 300, 1)))
        const afterWait = yield* clock.monotonicMs
        // A fetch waiting up to 5 s is answered once a batch arrives 100 ms later (virtual time).
        const late = yield* Effect.forkChild(Effect.andThen(clock.sleep(100), call("Produce", 9, produceRequest(-1, "t", [[1, batch(["late"])]]))))
        const woken = ok(yield* call("Fetch", 11, fetchRequest([{ topic: "t", topicId: new Uint8Array(16), partitions: [fetchPartition(1, 1)] }], 5000, 1)))
        const afterWoken = yield* clock.monotonicMs
        yield* Fiber.join(late)
        const past = ok(yield* call("Fetch", 11, fetchRequest([{ topic: "t", topicId: new Uint8Array(16), partitions: [fetchPartition(1, 5)] }])))
        const listed = ok(yield* call("ListOffsets", 7, {
          replicaId: -1, isolationLevel: 0, timeoutMs: 0,
          topics: [{ name: "t", partitions: [-2n, -1n, 4000n, 9000n, 99999n].map((timestamp) => ({ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }]
        }))
        const v0 = ok(yield* call("ListOffsets", 0, { replicaId: -1, isolationLevel: 0, timeoutMs: 0, topics: [{ name: "t", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] }))
        const part = (r: ResponseOf<"Fetch">, i = 0) => r.responses[0]!.partitions[i]!
        return {
          all: all.responses[0]!.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]),
          one: one.responses[0]!.partitionResponses.map((p) => [p.errorCode, p.baseOffset]),
          none,
          bad: bad.responses[0]!.partitionResponses.map((p) => [p.index, p.errorCode]),
          badAcks: badAcks.responses[0]!.partitionResponses.map((p) => p.errorCode),
          byName: [0, 1].map((i) => [part(byName, i).errorCode, part(byName, i).highWatermark, part(byName, i).records!.length > 0]),
          byNameFrom1: Result.getOrThrow(recordBatches(part(byName).records)).map((b) => b.header.baseOffset),
          byId: [byId.responses[0]!.topicId, part(byId).highWatermark, part(byId).records!.length === batch(["x"]).length],
          unknownId: part(unknownId).errorCode,
          waited: [part(waited).errorCode, part(waited).records!.length, afterWait - before >= 300],
          woken: [part(woken).errorCode, part(woken).highWatermark, afterWoken - afterWait < 1000],
          past: [part(past).errorCode, part(past).highWatermark],
          listed: listed.topics[0]!.partitions.map((p) => [p.errorCode, p.offset, p.timestamp]),
          v0: v0.topics[0]!.partitions.map((p) => p.oldStyleOffsets)
        }
      }))
    expect(out.all).toEqual([[0, 0, 0n], [1, 0, 0n]])
    expect(out.one).toEqual([[0, 2n]])
    expect(out.none).toBe("silent")
    expect(out.bad).toEqual([[0, KafkaErrorCode.CORRUPT_MESSAGE], [1, KafkaErrorCode.INVALID_RECORD], [9, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
    expect(out.badAcks).toEqual([KafkaErrorCode.INVALID_REQUIRED_ACKS])
    // Partition 0 holds a, b (one batch), c and d: from offset 1 the batch holding it comes whole.
    expect(out.byName).toEqual([[0, 4n, true], [0, 1n, true]])
    expect(out.byNameFrom1).toEqual([0, 2, 3])
    expect(out.byId.slice(1)).toEqual([1n, true])
    expect(out.unknownId).toBe(KafkaErrorCode.UNKNOWN_TOPIC_ID)
    expect(out.waited).toEqual([0, 0, true])
    expect(out.woken).toEqual([0, 2n, true])
    expect(out.past).toEqual([KafkaErrorCode.OFFSET_OUT_OF_RANGE, 2n])
    expect(out.listed).toEqual([[0, 0n, -1n], [0, 4n, -1n], [0, 2n, 5000n], [0, 3n, 9000n], [0, -1n, -1n]])
    expect(out.v0).toEqual([[4n]])
  })

  it("gives idempotent producers ids, answers a retried batch with its offsets, refuses transactions, and answers group APIs COORDINATOR_NOT_AVAILABLE in every version", async () => {
    const out = await withBroker((call) =>
      Effect.gen(function*() {
        ok(yield* call("CreateTopics", 7, { topics: [createTopic("t", 1)], timeoutMs: 5000, validateOnly: false }))
        const init = ok(yield* call("InitProducerId", 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }))
        const producer = { id: Number(init.producerId), epoch: init.producerEpoch, seq: 0 }
        const first = ok(yield* call("Produce", 9, produceRequest(-1, "t", [[0, batch(["a", "b"], 1, producer)]])))
        const retry = ok(yield* call("Produce", 9, produceRequest(-1, "t", [[0, batch(["a", "b"], 1, producer)]])))
        const gap = ok(yield* call("Produce", 9, produceRequest(-1, "t", [[0, batch(["z"], 1, { ...producer, seq: 7 })]])))
        const txn = ok(yield* call("InitProducerId", 4, { transactionalId: "tx", transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }))
        const groups: Array<string> = []
        for (const api of ["FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetCommit", "OffsetFetch", "DescribeGroups", "ListGroups", "DeleteGroups"] as const) {
          for (let v = kafkaApis[api].minVersion; v <= kafkaApis[api].maxVersion; v++) {
            const r = yield* call(api, v, defaultRequest(api))
            if (typeof r === "string") groups.push(`${api} v${v}: ${r}`)
          }
        }
        return {
          init: [init.errorCode, init.producerId >= 0n],
          offsets: [first, retry].map((r) => r.responses[0]!.partitionResponses[0]!).map((p) => [p.errorCode, p.baseOffset]),
          gap: gap.responses[0]!.partitionResponses[0]!.errorCode,
          txn: txn.errorCode,
          groups
        }
      }))
    expect(out.init).toEqual([0, true])
    expect(out.offsets).toEqual([[0, 0n], [0, 0n]])
    expect(out.gap).toBe(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    expect(out.txn).toBe(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    expect(out.groups).toEqual([])
  })
})

describe("pipelined Produce requests (the listener's two stages)", () => {
  // A link that keeps order, as TCP does: one latency for every message.
  const fifo: NetworkFaultConfig = { ...faultFreeNetwork, latencyNs: [300_000, 300_000] }

  it("are all sent before any is committed, and land in each partition in the order they were sent", async () => {
    const rounds = 12
    const out = await withBroker((call, broker, servers) =>
      Effect.gen(function*() {
        ok(yield* call("CreateTopics", 7, { topics: [createTopic("p", 3, { replicationFactor: 3 })], timeoutMs: 5000, validateOnly: false }))
        // Every partition takes an append first: its leader is elected and the client knows the topic.
        for (let p = 0; p < 3; p++) ok(yield* call("Produce", 9, produceRequest(-1, "p", [[p, batch(["warm-up"])]])))
        const connection = new ConnectionState("c1", false)
        const frames = Array.from({ length: rounds }, (_, i) =>
          Result.getOrThrow(encodeRequest("Produce", 9, { correlationId: 100 + i, clientId: "test" }, produceRequest(-1, "p", [0, 1, 2].map((p) => [p, batch([`r${i}`])] as [number, Uint8Array])))).subarray(4))
        const finishes: Array<Effect.Effect<unknown>> = []
        for (const frame of frames) {
          expect(pipelines(frame)).toBe(true)
          const started = yield* startFrame(broker, frame, connection)
          expect(started.appends).toBe(3)
          finishes.push(started.finish)
        }
        // No virtual time passed: nothing sent can be committed yet.
        const meta = servers.node(nodeId("n1"))!.log!.topics().get("p")!
        const leaderHw = (p: number) =>
          Effect.map(Effect.forEach(meta.replicas[p]!, (n) => Effect.succeed(servers.node(n)?.log?.replicas().get(groupId(meta, p))?.highWatermark() ?? 0)), (hws) => Math.max(...hws))
        const hwAfterStart = yield* Effect.forEach([0, 1, 2], leaderHw)
        const outcomes = yield* Effect.all(finishes, { concurrency: "unbounded" })
        const offsets = outcomes.map((o) => {
          const f = o as { readonly _tag: string; readonly frame: Uint8Array }
          const body = ok(Result.getOrThrow(decodeResponse("Produce", 9, f.frame.subarray(4))).body)
          return body.responses[0]!.partitionResponses.map((r) => [r.errorCode, Number(r.baseOffset)])
        })
        return { hwAfterStart, offsets }
      }), undefined, 3, fifo)
    expect(out.hwAfterStart).toEqual([1, 1, 1])
    // Request i is the (i + 1)th append of each partition, after the warm-up at offset 0.
    expect(out.offsets).toEqual(Array.from({ length: rounds }, (_, i) => [0, 1, 2].map(() => [0, i + 1])))
  })

  it("does not pipeline other requests", async () => {
    const metadata = Result.getOrThrow(encodeRequest("Metadata", 12, { correlationId: 1, clientId: "test" }, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
    expect(pipelines(metadata.subarray(4))).toBe(false)
    expect(pipelines(new Uint8Array(1))).toBe(false)
  })
})

describe("partition leaders in Metadata", () => {
  it("names each partition's Raft leader on a 3-node cluster, and every replica", async () => {
    const out = await withBroker((call, _broker, servers) =>
      Effect.gen(function*() {
        ok(yield* call("CreateTopics", 7, { topics: [createTopic("t", 6, { replicationFactor: 3 })], timeoutMs: 5000, validateOnly: false }))
        // Wait until every partition has a leader that all its replicas know.
        const clock = yield* Clock
        const leaders = (meta: Parameters<typeof groupId>[0]) =>
          Effect.forEach(meta.replicas.map((_, p) => p), (p) =>
            Effect.map(
              Effect.forEach(meta.replicas[p]!, (node) => {
                const replica = servers.node(node)?.log?.replicas().get(groupId(meta, p))
                return replica === undefined ? Effect.succeed(undefined) : Effect.map(replica.raft.status, (s) => (s.role === "leader" ? node : undefined))
              }),
              (roles) => roles.filter((r) => r !== undefined)
            ))
        let truth: Array<Array<NodeId>> = []
        for (;;) {
          const meta = servers.node(nodeId("n1"))?.log?.topics().get("t")
          if (meta !== undefined) {
            truth = yield* leaders(meta)
            if (truth.every((l) => l.length === 1)) break
          }
          yield* clock.sleep(50)
        }
        yield* clock.sleep(500) // n1's replicas learn their leaders by the next heartbeat
        const m = ok(yield* call("Metadata", 12, { topics: [{ topicId: new Uint8Array(16), name: "t" }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
        const brokerOf = (node: NodeId) => 7 + Number(node.slice(1)) - 1
        return {
          named: m.topics[0]!.partitions.map((p) => p.leaderId),
          raft: truth.map((l) => brokerOf(l[0]!)),
          replicas: m.topics[0]!.partitions.map((p) => [...p.replicaNodes].sort()),
          spread: new Set(truth.map((l) => l[0])).size
        }
      }), undefined, 3)
    expect(out.named).toEqual(out.raft)
    expect(out.replicas).toEqual(Array.from({ length: 6 }, () => [7, 8, 9]))
    // Not vacuous: the leaders are not all one node, so a broker naming any fixed node would fail.
    expect(out.spread).toBeGreaterThan(1)
  })
})

describe("SASL PLAIN on the broker", () => {
  const users: SaslUsers = (accessKey) => Effect.succeed(accessKey === "AKIDEXAMPLE0000001" ? { user: "alice", secretKey: "s3cret-s3cret" } : undefined)
  const plain = (authzid: string, user: string, password: string) => new TextEncoder().encode(`${authzid}\u0000${user}\u0000${password}`)
  const metadata = { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }

  it("authenticates an S3 access key and secret, refuses a wrong one and closes, and closes a request before authentication", async () => {
    const out = await withBroker((call) =>
      Effect.gen(function*() {
        const good = new ConnectionState("c1", true)
        const versions = yield* call("ApiVersions", 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" }, good)
        const early = yield* call("Metadata", 12, metadata, new ConnectionState("c2", true))
        const scram = ok(yield* call("SaslHandshake", 1, { mechanism: "SCRAM-SHA-256" }, new ConnectionState("c3", true)))
        const v0 = ok(yield* call("SaslHandshake", 0, { mechanism: "PLAIN" }, new ConnectionState("c6", true)))
        const shake = ok(yield* call("SaslHandshake", 1, { mechanism: "PLAIN" }, good))
        const auth = ok(yield* call("SaslAuthenticate", 2, { authBytes: plain("", "AKIDEXAMPLE0000001", "s3cret-s3cret") }, good))
        const after = ok(yield* call("Metadata", 12, metadata, good))
        const again = ok(yield* call("SaslHandshake", 1, { mechanism: "PLAIN" }, good))
        const wrong = new ConnectionState("c4", true)
        ok(yield* call("SaslHandshake", 1, { mechanism: "PLAIN" }, wrong))
        const refused = yield* call("SaslAuthenticate", 1, { authBytes: plain("", "AKIDEXAMPLE0000001", "guess") }, wrong)
        const other = new ConnectionState("c5", true)
        ok(yield* call("SaslHandshake", 1, { mechanism: "PLAIN" }, other))
        const actingAs = yield* call("SaslAuthenticate", 1, { authBytes: plain("bob", "AKIDEXAMPLE0000001", "s3cret-s3cret") }, other)
        return {
          versions: typeof versions === "string" ? versions : versions.errorCode,
          early: typeof early === "string" && early.startsWith("closed: Metadata before SASL authentication"),
          scram: [scram.errorCode, scram.mechanisms],
          v0: v0.errorCode,
          shake: [shake.errorCode, shake.mechanisms],
          auth: auth.errorCode,
          principal: good.principal,
          after: after.brokers.length,
          again: again.errorCode,
          refused: typeof refused === "string" && refused.startsWith("closed: SASL authentication failed"),
          wrongPrincipal: wrong.principal,
          actingAs: typeof actingAs === "string" && actingAs.startsWith("closed: SASL authentication failed")
        }
      }), users)
    expect(out).toEqual({
      versions: 0,
      early: true,
      scram: [33, ["PLAIN"]],
      v0: 33,
      shake: [0, ["PLAIN"]],
      auth: 0,
      principal: "alice",
      after: 1,
      again: 34,
      refused: true,
      wrongPrincipal: undefined,
      actingAs: true
    })
  })

  it("refuses SASL on a broker without it, where every connection is anonymous", async () => {
    const out = await withBroker((call) =>
      Effect.gen(function*() {
        const c = new ConnectionState("c1", false)
        const shake = ok(yield* call("SaslHandshake", 1, { mechanism: "PLAIN" }, c))
        const auth = ok(yield* call("SaslAuthenticate", 0, { authBytes: plain("", "u", "p") }, c))
        return [shake.errorCode, shake.mechanisms, auth.errorCode, c.principal]
      }))
    // ILLEGAL_SASL_STATE is answered without closing: nothing was attempted against a user.
    expect(out).toEqual([33, [], 34, "anonymous"])
  })
})

/** A request of `api` with every field at its schema default (what the group fallback answers). */
const defaultRequest = <N extends ApiName>(api: N): RequestOf<N> => {
  const node = kafkaApis[api].request.body.node
  if (node.kind !== "struct") throw new Error(`${api}: not a struct`)
  return Object.fromEntries(node.fields.map((f) => [f.name, f.defaultValue])) as RequestOf<N>
}
