/**
 * Kafka transactions on the simulator: the broker's handlers and the
 * transaction coordinator (`core/src/kafka/txn/`) over the real streaming
 * log and Raft KV of a simulated 3-node cluster (fault-free, virtual time),
 * every request and answer through the codec. A transactional producer
 * writes to two partitions; read_committed sees nothing until EndTxn
 * commits, then the records and the markers; an aborted transaction shows
 * in the aborted list and the LSO moves past it; ListOffsets latest in
 * read_committed stops at an open transaction; a client's own marker is
 * refused.
 */
import { Clock, nodeId, type NodeId } from "@cairn/core"
import type { Broker, BrokerLog } from "@cairn/core/kafka/broker/broker-log"
import type { BrokerDirectory } from "@cairn/core/kafka/broker/group-port"
import { handleFrame } from "@cairn/core/kafka/broker/handle-frame"
import { ConnectionState } from "@cairn/core/kafka/broker/sasl"
import type { ApiName, RequestOf, ResponseOf } from "@cairn/core/kafka/protocol/api-table"
import { recordBatches } from "@cairn/core/kafka/protocol/records"
import { decodeResponse, encodeRequest } from "@cairn/core/kafka/protocol/request"
import { makeTxnCoordinator } from "@cairn/core/kafka/txn/txn-coordinator"
import { makeKvClient } from "@cairn/core/kv/client"
import { makeLogClient } from "@cairn/core/log/client/log-client"
import { encodeMarker, isControl } from "@cairn/core/log/control-batch"
import { ATTR_TRANSACTIONAL, encodeBatch } from "@cairn/core/log/record-batch"
import { seededSource } from "@cairn/runtime-test"
import { Effect, Result } from "effect"
import { expect, it } from "vitest"
import { SimCluster } from "../cluster.ts"
import { faultFreeDisk } from "../disk.ts"
import { runFor } from "../harness.test-support.ts"
import { logServers } from "../log/log-cluster.ts"
import { faultFreeNetwork } from "../network.ts"

const voters = [nodeId("n1"), nodeId("n2"), nodeId("n3")]
const list = voters.map((node, i) => ({ node, address: { brokerId: 7 + i, host: `${node}.test`, port: 9092, rack: null } }))
// Every node is a broker, and "n1" answers: the transactional ids used here are placed on it (checked below).
const directory: BrokerDirectory = {
  self: voters[0]!,
  brokers: Effect.succeed(list),
  brokerOf: (node: NodeId) => Effect.succeed(list.find((b) => b.node === node)?.address)
}

const txnBatch = (value: string, producerId: bigint, epoch: number, seq: number) =>
  encodeBatch({
    attributes: ATTR_TRANSACTIONAL,
    baseTimestamp: 1000,
    producerId: Number(producerId),
    producerEpoch: epoch,
    baseSequence: seq,
    records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: new TextEncoder().encode(value), headers: [] }]
  })

const fetchRequest = (partitions: ReadonlyArray<number>, isolationLevel: number): RequestOf<"Fetch"> => ({
  clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel,
  sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
  topics: [{
    topic: "tx", topicId: new Uint8Array(16),
    partitions: partitions.map((partition) => ({
      partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: new Uint8Array(16)
    }))
  }]
})

/** Per partition: the LSO, the high watermark, the aborted list, and the batches as "d" (data) or "c" (control). */
const summary = (r: ResponseOf<"Fetch">) =>
  r.responses[0]!.partitions.map((p) => ({
    lso: Number(p.lastStableOffset),
    hw: Number(p.highWatermark),
    aborted: p.abortedTransactions?.map((a) => Number(a.firstOffset)) ?? null,
    batches: Result.getOrThrow(recordBatches(p.records)).map((b) => (isControl(b.header.attributes) ? "c" : "d")).join("")
  }))

it("commits and aborts transactions over the simulated log: read_committed stops at the LSO and gets the aborted list", () => {
  const cluster = new SimCluster({ random: seededSource("kafka-txn"), nodes: 3, clients: 1, disk: faultFreeDisk, network: faultFreeNetwork, clocks: [] })
  const servers = logServers({ voters, log: { reconcileMs: 50 } })
  cluster.start(servers.server)
  const n1 = () => servers.node(voters[0]!)!
  let outcome: { value: unknown } | { error: unknown } | undefined
  cluster.startClients(() =>
    Effect.scoped(Effect.gen(function*() {
      const clock = yield* Clock
      while (servers.node(voters[0]!) === undefined || (yield* n1().kv.raft.status).leader === undefined) yield* clock.sleep(50)
      const client = yield* makeLogClient({ nodes: voters })
      const log: BrokerLog = {
        client,
        topics: Effect.suspend(() => Effect.sync(() => n1().log!.topics())),
        localTopics: Effect.sync(() => n1().log!.topics()),
        leaderOf: () => Effect.succeed(undefined),
        controller: Effect.succeed(undefined)
      }
      const transactions = yield* makeTxnCoordinator({
        kv: yield* makeKvClient({ clientId: "txns", nodes: voters, deadlineMs: 20_000 }),
        log: client,
        directory,
        partitionExists: (topic, p) => Effect.sync(() => (n1().log!.topics().get(topic)?.replicas.length ?? 0) > p)
      })
      const broker: Broker = { log, directory, groups: undefined, transactions, clusterId: "sim", fetchPollMs: 20 }
      let correlationId = 0
      const connection = new ConnectionState("c1", false)
      const call = <N extends ApiName>(api: N, version: number, body: RequestOf<N>) =>
        Effect.gen(function*() {
          const frame = Result.getOrThrow(encodeRequest(api, version, { correlationId: ++correlationId, clientId: "c" }, body))
          const out = yield* handleFrame(broker, frame.subarray(4), connection)
          if (out._tag !== "Respond") throw new Error(`no answer: ${out._tag}`)
          return Result.getOrThrow(decodeResponse(api, version, out.frame.subarray(4))).body as ResponseOf<N>
        })
      const owned = yield* transactions.owns("t1")
      yield* call("CreateTopics", 7, { topics: [{ name: "tx", numPartitions: 2, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })
      const found = yield* call("FindCoordinator", 4, { key: "", keyType: 1, coordinatorKeys: ["t1"] })
      const init = yield* call("InitProducerId", 4, { transactionalId: "t1", transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })
      const { producerId: pid, producerEpoch: epoch } = init
      const add = (partitions: ReadonlyArray<number>) =>
        Effect.map(call("AddPartitionsToTxn", 3, { transactions: [], v3AndBelowTransactionalId: "t1", v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch, v3AndBelowTopics: [{ name: "tx", partitions }] }),
          (r) => r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode)))
      const produce = (partition: number, value: string, seq: number) =>
        Effect.map(call("Produce", 9, { transactionalId: "t1", acks: -1, timeoutMs: 5000, topicData: [{ name: "tx", partitionData: [{ index: partition, records: txnBatch(value, pid, epoch, seq) }] }] }),
          (r) => r.responses[0]!.partitionResponses[0]!.errorCode)
      const end = (committed: boolean) => Effect.map(call("EndTxn", 3, { transactionalId: "t1", producerId: pid, producerEpoch: epoch, committed }), (r) => r.errorCode)
      const latest = (isolationLevel: number) =>
        Effect.map(call("ListOffsets", 5, { replicaId: -1, isolationLevel, topics: [{ name: "tx", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }], timeoutMs: 5000 }),
          (r) => Number(r.topics[0]!.partitions[0]!.offset))
      const steps: Record<string, unknown> = { owned, found: found.coordinators.map((c) => [c.errorCode, c.nodeId]), init: [init.errorCode, epoch] }
      // The node's view of the topics trails its creation by a moment: a client retries UNKNOWN_TOPIC_OR_PARTITION.
      let added = yield* add([0, 1])
      for (let tries = 0; tries < 50 && added.includes(3); tries++) added = yield* Effect.andThen(clock.sleep(100), add([0, 1]))
      steps["add"] = added
      steps["produce"] = [yield* produce(0, "a", 0), yield* produce(1, "b", 0)]
      steps["open"] = { committed: summary(yield* call("Fetch", 12, fetchRequest([0, 1], 1))), uncommitted: summary(yield* call("Fetch", 12, fetchRequest([0, 1], 0))) }
      steps["openLatest"] = [yield* latest(1), yield* latest(0)]
      steps["commit"] = yield* end(true)
      steps["committed"] = summary(yield* call("Fetch", 12, fetchRequest([0, 1], 1)))
      steps["add2"] = yield* add([0])
      steps["produce2"] = yield* produce(0, "x", 1)
      steps["abort"] = yield* end(false)
      steps["aborted"] = summary(yield* call("Fetch", 12, fetchRequest([0], 1)))
      // A client may not write a marker of its own.
      const forged = encodeMarker({ producerId: Number(pid), producerEpoch: epoch, type: "commit" }, 1000)
      const refused = yield* call("Produce", 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "tx", partitionData: [{ index: 1, records: forged }] }] })
      steps["forged"] = refused.responses[0]!.partitionResponses[0]!.errorCode
      return steps
    })).pipe(Effect.matchCause({ onSuccess: (value) => void (outcome = { value }), onFailure: (error) => void (outcome = { error }) }))
  )
  runFor(cluster, 120_000)
  if (outcome === undefined) throw new Error("the client did not finish")
  if ("error" in outcome) throw new Error(`the client failed: ${String(outcome.error)}`)
  const s = outcome.value as Record<string, unknown>
  expect(s["owned"]).toBe(true)
  expect(s["found"]).toEqual([[0, 7]])
  expect(s["init"]).toEqual([0, 0])
  expect(s["add"]).toEqual([0, 0])
  expect(s["produce"]).toEqual([0, 0])
  // Open: read_committed gets nothing (the LSO is the transaction's first offset); read_uncommitted the records.
  expect(s["open"]).toEqual({
    committed: [{ lso: 0, hw: 1, aborted: [], batches: "" }, { lso: 0, hw: 1, aborted: [], batches: "" }],
    uncommitted: [{ lso: 0, hw: 1, aborted: null, batches: "d" }, { lso: 0, hw: 1, aborted: null, batches: "d" }]
  })
  expect(s["openLatest"]).toEqual([0, 1])
  expect(s["commit"]).toBe(0)
  expect(s["committed"]).toEqual([{ lso: 2, hw: 2, aborted: [], batches: "dc" }, { lso: 2, hw: 2, aborted: [], batches: "dc" }])
  expect(s["add2"]).toEqual([0])
  expect(s["produce2"]).toBe(0)
  expect(s["abort"]).toBe(0)
  expect(s["aborted"]).toEqual([{ lso: 4, hw: 4, aborted: [2], batches: "dcdc" }])
  expect(s["forged"]).toBe(87) // INVALID_RECORD
})
