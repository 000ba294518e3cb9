/**
 * Kafka transactions with a real client: librdkafka 2.0 through
 * python3-confluent-kafka against a 3-node cluster of `cairn server`
 * processes (each in its own process group, stopped by id), so the
 * transaction coordinator, the group coordinator and the partitions'
 * leaders are spread over the nodes and markers cross between them. A transactional producer commits one
 * transaction, aborts one and commits another; a second producer with the
 * same transactional.id fences the first in the middle of a transaction.
 * A read_committed consumer then sees exactly the committed records and a
 * read_uncommitted one sees every record. kafkajs, which speaks v0-1 of
 * the transaction APIs, commits one transaction and aborts another. Last,
 * a consume-transform-produce
 * loop reads in a group, writes its output and commits its input offsets in
 * one transaction each: the output holds each input record once and the
 * group's offsets stand at the input's end.
 */
import { Kafka, logLevel } from "kafkajs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { killAllStarted } from "../server/cluster-processes.test-support.ts"
import { PYTHON, runCommand, startKafkaCluster, stopCommands } from "./kafka-processes.test-support.ts"

let dir = ""
let bootstrap = ""

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cairn-kafka-txn-"))
  const { cluster } = await startKafkaCluster(dir, "kafka-txn-secret-0123456789")
  bootstrap = cluster.nodes.map((n) => `127.0.0.1:${n.kafkaPort}`).join(",")
}, 120_000)

afterEach(stopCommands)

afterAll(async () => {
  await killAllStarted()
  rmSync(dir, { recursive: true, force: true })
})

const createTopics = async (topics: ReadonlyArray<string>) => {
  const admin = new Kafka({ clientId: "txn-test", brokers: bootstrap.split(","), logLevel: logLevel.NOTHING, retry: { retries: 8 } }).admin()
  await admin.connect()
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })), waitForLeaders: true })
  await admin.disconnect()
}

/** Python: `read(topic, isolation)`, every value of both partitions from the start, read until 4 s pass with nothing new. */
const reader = () => [
  "import json, time",
  "from confluent_kafka import Consumer, Producer, TopicPartition, KafkaException",
  `BS = "${bootstrap}"`,
  "def read(topic, iso):",
  "    c = Consumer({'bootstrap.servers': BS, 'group.id': 'reader', 'isolation.level': iso, 'enable.auto.commit': False})",
  "    c.assign([TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)])",
  "    got, quiet = [], time.time() + 4",
  "    while time.time() < quiet:",
  "        m = c.poll(0.2)",
  "        if m is None: continue",
  "        if m.error(): raise KafkaException(m.error())",
  "        got.append(m.value().decode())",
  "        quiet = time.time() + 4",
  "    c.close()",
  "    return sorted(got)"
]

describe("Kafka transactions with librdkafka", () => {
  it("read_committed sees the committed transactions only, read_uncommitted sees all; a second producer fences the first", async () => {
    await createTopics(["txn"])
    const script = [
      ...reader(),
      "def send(p, prefix, n):",
      "    for i in range(n): p.produce('txn', value=('%s-%d' % (prefix, i)).encode(), partition=i % 2)",
      "p = Producer({'bootstrap.servers': BS, 'transactional.id': 'tx-1'})",
      "p.init_transactions(30)",
      "p.begin_transaction(); send(p, 'first', 4); p.commit_transaction(30)",
      "p.begin_transaction(); send(p, 'aborted', 4); p.flush(30); p.abort_transaction(30)",
      "p.begin_transaction(); send(p, 'second', 2); p.commit_transaction(30)",
      "zombie = Producer({'bootstrap.servers': BS, 'transactional.id': 'tx-z'})",
      "zombie.init_transactions(30)",
      "zombie.begin_transaction(); send(zombie, 'zombie', 2); zombie.flush(30)",
      "heir = Producer({'bootstrap.servers': BS, 'transactional.id': 'tx-z'})",
      "heir.init_transactions(30)",
      "heir.begin_transaction(); send(heir, 'heir', 2); heir.commit_transaction(30)",
      "try:",
      "    zombie.commit_transaction(30)",
      "    fenced = 'committed'",
      "except KafkaException as e:",
      "    fenced = e.args[0].name()",
      "print(json.dumps({'fenced': fenced, 'committed': read('txn', 'read_committed'), 'uncommitted': read('txn', 'read_uncommitted')}))"
    ].join("\n")
    const ran = await runCommand(PYTHON, ["-c", script], "", 150_000)
    expect(ran.code, ran.err).toBe(0)
    const out = JSON.parse(ran.out) as { fenced: string; committed: Array<string>; uncommitted: Array<string> }
    const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)
    expect(out.fenced).toMatch(/FENCED|EPOCH/)
    expect(out.committed).toEqual([...values("first", 4), ...values("heir", 2), ...values("second", 2)].sort())
    expect(out.uncommitted).toEqual([...values("aborted", 4), ...values("first", 4), ...values("heir", 2), ...values("second", 2), ...values("zombie", 2)].sort())
  })

  it("kafkajs (v0-1 of the transaction APIs) commits one transaction and aborts another; librdkafka reads committed", async () => {
    await createTopics(["kjs"])
    const kafka = new Kafka({ clientId: "txn-kafkajs", brokers: bootstrap.split(","), logLevel: logLevel.NOTHING, retry: { retries: 8 } })
    const producer = kafka.producer({ transactionalId: "kjs-1", maxInFlightRequests: 1, idempotent: true, allowAutoTopicCreation: false })
    await producer.connect()
    try {
      const send = (t: Awaited<ReturnType<typeof producer.transaction>>, prefix: string) =>
        t.send({ topic: "kjs", acks: -1, messages: [0, 1, 2, 3].map((i) => ({ value: `${prefix}-${i}`, partition: i % 2 })) })
      const first = await producer.transaction()
      await send(first, "kept")
      await first.commit()
      const second = await producer.transaction()
      await send(second, "dropped")
      await second.abort()
    } finally {
      await producer.disconnect()
    }
    const script = [...reader(), "print(json.dumps({'committed': read('kjs', 'read_committed'), 'uncommitted': read('kjs', 'read_uncommitted')}))"].join("\n")
    const ran = await runCommand(PYTHON, ["-c", script], "", 60_000)
    expect(ran.code, ran.err).toBe(0)
    const out = JSON.parse(ran.out) as { committed: Array<string>; uncommitted: Array<string> }
    expect(out.committed).toEqual(["kept-0", "kept-1", "kept-2", "kept-3"])
    expect(out.uncommitted).toEqual(["dropped-0", "dropped-1", "dropped-2", "dropped-3", "kept-0", "kept-1", "kept-2", "kept-3"])
  })

  it("consume-transform-produce: each input record is transformed once, and the group's offsets move with the output's commits", async () => {
    await createTopics(["ctp-in", "ctp-out"])
    const script = [
      ...reader(),
      "p = Producer({'bootstrap.servers': BS, 'acks': 'all', 'enable.idempotence': True})",
      "for i in range(20): p.produce('ctp-in', value=('r%d' % i).encode(), partition=i % 2)",
      "p.flush(30)",
      "def transform(limit, abort_last):",
      "    c = Consumer({'bootstrap.servers': BS, 'group.id': 'ctp', 'isolation.level': 'read_committed', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False})",
      "    c.subscribe(['ctp-in'])",
      "    out = Producer({'bootstrap.servers': BS, 'transactional.id': 'ctp-1'})",
      "    out.init_transactions(30)",
      "    done, committed, end = 0, 0, time.time() + 60",
      "    while done < limit and time.time() < end:",
      "        batch = c.consume(5, 1.0)",
      "        if not batch: continue",
      "        out.begin_transaction()",
      "        for m in batch:",
      "            if m.error(): raise KafkaException(m.error())",
      "            out.produce('ctp-out', value=m.value().upper(), partition=m.partition())",
      "        out.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)",
      "        done += len(batch)",
      "        if abort_last and done >= limit:",
      "            out.abort_transaction(30)",
      "        else:",
      "            out.commit_transaction(30)",
      "            committed += len(batch)",
      "    c.close()",
      "    return committed",
      // The first worker stops after at least 8 records, aborting its last transaction: those records are done again.
      "first = transform(8, True)",
      "second = transform(20 - first, False)",
      "offsets = Consumer({'bootstrap.servers': BS, 'group.id': 'ctp'}).committed([TopicPartition('ctp-in', 0), TopicPartition('ctp-in', 1)], 30)",
      "print(json.dumps({'first': first, 'second': second, 'out': read('ctp-out', 'read_committed'), 'offsets': sorted(tp.offset for tp in offsets)}))"
    ].join("\n")
    const ran = await runCommand(PYTHON, ["-c", script], "", 200_000)
    expect(ran.code, ran.err).toBe(0)
    const out = JSON.parse(ran.out) as { first: number; second: number; out: Array<string>; offsets: Array<number> }
    // The first worker's last (aborted) transaction was redone by the second, once.
    expect(out.first).toBeLessThan(20)
    expect(out.first + out.second).toBe(20)
    expect(out.out).toEqual(Array.from({ length: 20 }, (_, i) => `R${i}`).sort())
    expect(out.offsets).toEqual([10, 10])
  })
})
