/**
 * Real Kafka clients against a real one-node `cairn server` process (its
 * own process group, stopped by id): kafkajs administers and produces,
 * kcat (librdkafka) reads exactly those records; kcat produces and
 * @platformatic/kafka reads them by Fetch v17 with topic ids, without a
 * consumer group; python3-confluent-kafka (librdkafka 2.0) produces with
 * acks=all and enable.idempotence; ListOffsets, DescribeConfigs,
 * CreatePartitions and DeleteTopics through kafkajs's admin. Last, bad
 * input on the listener: garbage, an absurd length and an unknown API key
 * close the connection, ApiVersions in a version Cairn lacks gets the v0
 * answer, requests pipelined on one connection are answered in order, and
 * the node still serves.
 */
import { decodeResponse, encodeRequest } from "@cairn/core/kafka/protocol/request"
import { Consumer } from "@platformatic/kafka"
import { Result } from "effect"
import { Kafka, logLevel } from "kafkajs"
import { mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { awaitReady, killAllStarted, startNode, TEST_CREDENTIALS } from "../server/cluster-processes.test-support.ts"
import { type LocalNodeSpec, planCluster } from "../server/local-cluster.ts"
import { awaitListening, KCAT, PYTHON, runCommand, stopCommands } from "./kafka-processes.test-support.ts"

let dir = ""
let node: LocalNodeSpec
let bootstrap = ""

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cairn-kafka-"))
  const ports = await freeLoopbackPorts(4)
  const cluster = planCluster({
    nodes: 1, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret: "kafka-test-secret-0123456789",
    credentials: TEST_CREDENTIALS, ports: ports.slice(0, 3), kafka: [ports[3]!]
  })
  node = cluster.nodes[0]!
  bootstrap = `127.0.0.1:${node.kafkaPort}`
  startNode(cluster, node, join(dir, "node.log"))
  await awaitReady(node)
  await awaitListening(node.kafkaPort!)
})

afterEach(stopCommands)

afterAll(async () => {
  await killAllStarted()
  rmSync(dir, { recursive: true, force: true })
})

/** The part of @platformatic/kafka's Fetch response the test reads. */
interface FetchResponse {
  readonly responses: ReadonlyArray<{
    readonly partitions: ReadonlyArray<{
      readonly errorCode: number
      readonly highWatermark: bigint
      readonly records?: ReadonlyArray<{ readonly firstOffset: bigint; readonly records: ReadonlyArray<{ readonly offsetDelta: number; readonly value: Buffer }> }>
    }>
  }>
}

const kafkajs = () => new Kafka({ clientId: "cairn-test", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8 } })

/** kcat reads partition `p` from the beginning to its end: "offset key=value" lines. */
const kcatRead = async (topic: string, p: number) => {
  const ran = await runCommand(KCAT, ["-C", "-b", bootstrap, "-t", topic, "-p", String(p), "-o", "beginning", "-e", "-q", "-f", "%o %k=%s\n"])
  expect(ran.code, ran.err).toBe(0)
  return ran.out.split("\n").filter((l) => l !== "")
}

describe("Kafka clients against cairn server", () => {
  it("kafkajs creates a topic and produces with acks=all; kcat reads exactly those records", async () => {
    const admin = kafkajs().admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 2 }], waitForLeaders: true })).toBe(true)
    expect(await admin.createTopics({ topics: [{ topic: "orders", numPartitions: 2 }] })).toBe(false)
    const producer = kafkajs().producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const sent = await producer.send({ topic: "orders", acks: -1, messages: [{ key: "a", value: "1", partition: 0 }, { key: "b", value: "2", partition: 0 }, { key: "c", value: "3", partition: 1 }] })
    expect(sent.map((r) => [r.partition, r.errorCode, r.baseOffset]).sort()).toEqual([[0, 0, "0"], [1, 0, "0"]])
    await producer.disconnect()
    const offsets = await admin.fetchTopicOffsets("orders")
    expect(offsets.map((o) => [o.partition, o.low, o.high]).sort()).toEqual([[0, "0", "2"], [1, "0", "1"]])
    await admin.disconnect()
    expect(await kcatRead("orders", 0)).toEqual(["0 a=1", "1 b=2"])
    expect(await kcatRead("orders", 1)).toEqual(["0 c=3"])
  })

  it("kcat produces; @platformatic/kafka reads the records by topic id, without a group", async () => {
    const admin = kafkajs().admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: "lines", numPartitions: 1 }], waitForLeaders: true })
    await admin.disconnect()
    const produced = await runCommand(KCAT, ["-P", "-b", bootstrap, "-t", "lines", "-p", "0", "-X", "acks=all"], "alpha\nbeta\ngamma\n")
    expect(produced.code, produced.err).toBe(0)
    const consumer = new Consumer({ clientId: "cairn-test", groupId: "unused-no-group-calls", bootstrapBrokers: [bootstrap] })
    try {
      const topic = (await consumer.metadata({ topics: ["lines"] })).topics.get("lines")!
      const response: FetchResponse = await (consumer.fetch as (o: Parameters<typeof consumer.fetch>[0]) => Promise<FetchResponse>)({
        node: topic.partitions[0]!.leader,
        maxWaitTime: 200,
        topics: [{ topicId: topic.id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }]
      })
      const partition = response.responses[0]!.partitions[0]!
      expect(partition.errorCode).toBe(0)
      expect(partition.highWatermark).toBe(3n)
      const values = (partition.records ?? []).flatMap((b) => b.records.map((r) => [Number(b.firstOffset) + r.offsetDelta, r.value.toString()]))
      expect(values).toEqual([[0, "alpha"], [1, "beta"], [2, "gamma"]])
    } finally {
      await consumer.close(true)
    }
  })

  it("confluent-kafka produces idempotently with acks=all; admin reads offsets by time, configs, grows and deletes the topic", async () => {
    const admin = kafkajs().admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: "py", numPartitions: 1, configEntries: [{ name: "retention.ms", value: "3600000" }] }], waitForLeaders: true })
    const script = [
      "from confluent_kafka import Producer",
      `p = Producer({"bootstrap.servers": "${bootstrap}", "acks": "all", "enable.idempotence": True})`,
      "errors = []",
      "for i in range(50):",
      "    p.produce('py', key=b'k%d' % i, value=b'v%d' % i, partition=0, on_delivery=lambda err, msg: errors.append(str(err)) if err else None)",
      "left = p.flush(20)",
      "print('left', left, 'errors', len(errors), errors[:3])"
    ].join("\n")
    const ran = await runCommand(PYTHON, ["-c", script])
    expect(ran.out.trim(), ran.err).toBe("left 0 errors 0 []")
    const lines = await kcatRead("py", 0)
    expect(lines).toEqual(Array.from({ length: 50 }, (_, i) => `${i} k${i}=v${i}`))
    // By timestamp: every record was written after this test began, none after now.
    const early = await admin.fetchTopicOffsetsByTimestamp("py", 0)
    // Past every record the broker answers -1, which kafkajs turns into the latest offset.
    const late = await admin.fetchTopicOffsetsByTimestamp("py", Date.now() + 3_600_000)
    expect([early[0]!.offset, late[0]!.offset]).toEqual(["0", "50"])
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: "py", configNames: ["retention.ms", "cleanup.policy"] }] })
    expect(configs.resources[0]!.configEntries.map((c) => [c.configName, c.configValue]).sort()).toEqual([["cleanup.policy", "delete"], ["retention.ms", "3600000"]])
    await admin.createPartitions({ topicPartitions: [{ topic: "py", count: 3 }] })
    expect((await admin.fetchTopicMetadata({ topics: ["py"] })).topics[0]!.partitions).toHaveLength(3)
    await admin.deleteTopics({ topics: ["py"] })
    expect(await admin.listTopics()).not.toContain("py")
    await admin.disconnect()
  })

  it("closes a connection on garbage, an absurd length or an unknown API key, answers ApiVersions v99 in v0, and keeps serving", async () => {
    /** Sends `bytes` on a fresh connection; resolves with the response frame, or with nothing once the broker closed it (or after 3 s). */
    const exchange = (bytes: Uint8Array) =>
      new Promise<{ readonly data: Buffer; readonly closed: boolean }>((resolve) => {
        const chunks: Array<Buffer> = []
        const s = connect(node.kafkaPort!, "127.0.0.1", () => s.write(bytes))
        const timer = setTimeout(() => (s.destroy(), resolve({ data: Buffer.concat(chunks), closed: false })), 3_000)
        s.on("data", (d: Buffer) => {
          chunks.push(d)
          const data = Buffer.concat(chunks)
          // One whole response frame: the connection stayed open to answer it.
          if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) (clearTimeout(timer), s.destroy(), resolve({ data, closed: false }))
        })
        s.on("error", () => {})
        s.on("close", () => (clearTimeout(timer), resolve({ data: Buffer.concat(chunks), closed: true })))
        // (resolve is idempotent: the first outcome wins)
      })
    const frame = (body: ReadonlyArray<number>) => Uint8Array.from([0, 0, 0, body.length, ...body])
    const garbage = await exchange(frame([0xff, 0xfe, 0x01]))
    const absurd = await exchange(Uint8Array.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]))
    // api key 999, version 0, correlation id 7, client id null
    const unknown = await exchange(frame([0x03, 0xe7, 0, 0, 0, 0, 0, 7, 0xff, 0xff]))
    expect([garbage, absurd, unknown].map((r) => [r.closed, r.data.length])).toEqual([[true, 0], [true, 0], [true, 0]])

    // ApiVersions v99: the v0 answer with UNSUPPORTED_VERSION (35) and the table; the connection stays open.
    const v99 = await exchange(frame([0, 18, 0, 99, 0, 0, 0, 42, 0xff, 0xff]))
    expect(v99.closed).toBe(false)
    const answer = decodeResponse("ApiVersions", 0, v99.data.subarray(4))
    expect(Result.isSuccess(answer) && [answer.success.correlationId, answer.success.body.errorCode]).toEqual([42, 35])

    // A well-formed request afterwards on a fresh connection is answered.
    const request = encodeRequest("ApiVersions", 3, { correlationId: 5, clientId: "t" }, { clientSoftwareName: "t", clientSoftwareVersion: "1" })
    const ok = await exchange(Result.getOrThrow(request))
    const decoded = decodeResponse("ApiVersions", 3, ok.data.subarray(4))
    expect(Result.isSuccess(decoded) && decoded.success.body.errorCode).toBe(0)
    // Three requests in one write (a slow Metadata first): answered in the order sent.
    const pipelined = await new Promise<Array<number>>((resolve) => {
      const frames = [
        Result.getOrThrow(encodeRequest("Metadata", 12, { correlationId: 11, clientId: "t" }, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })),
        Result.getOrThrow(encodeRequest("ApiVersions", 3, { correlationId: 12, clientId: "t" }, { clientSoftwareName: "t", clientSoftwareVersion: "1" })),
        Result.getOrThrow(encodeRequest("ApiVersions", 0, { correlationId: 13, clientId: "t" }, { clientSoftwareName: "", clientSoftwareVersion: "" }))
      ]
      let data = Buffer.alloc(0)
      const ids: Array<number> = []
      const s = connect(node.kafkaPort!, "127.0.0.1", () => s.write(Buffer.concat(frames)))
      s.on("data", (d: Buffer) => {
        data = Buffer.concat([data, d])
        while (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) {
          ids.push(data.readInt32BE(4))
          data = data.subarray(4 + data.readInt32BE(0))
        }
        if (ids.length === 3) (s.destroy(), resolve(ids))
      })
    })
    expect(pipelined).toEqual([11, 12, 13])
    const listed = await runCommand(KCAT, ["-L", "-b", bootstrap, "-t", "orders"])
    expect(listed.out).toContain(`topic "orders" with 2 partitions`)
  })
})
