/**
 * Kafka consumer groups on a real 3-node cluster of `cairn server`
 * processes (each in its own process group, stopped by id): three kafkajs
 * consumers of one group share a 6-partition topic, two partitions each,
 * the coordinator found through FindCoordinator wherever placement puts
 * it; one consumer leaves and the two others take its partitions; a fourth
 * joins and the partitions spread again. Every record is read exactly once
 * across the rebalances (each is committed right after it is processed),
 * and the committed offsets are the partitions' ends. Then the group's
 * coordinator node is SIGKILLed and restarted: it loads the group from the
 * KV, and the consumers go on without reading anything twice. Last,
 * librdkafka (python3-confluent-kafka) on one node: a consumer reads half
 * a topic in a group and commits, a second consumer of the group reads the
 * rest from the committed offsets; and with the cooperative-sticky
 * assignor a second member joining a consuming one takes one partition
 * incrementally (the first gives up exactly that one and keeps reading
 * the other), each record read once.
 *
 * The kafkajs consumers run in a child process (`kafkajs-consumers.child.ts`
 * says why): a consumer that spins there fails the test with its crash
 * instead of stopping the test runner's timers.
 */
import { coordinatorOf } from "@cairn/core/kafka/group/placement"
import { Kafka, logLevel } from "kafkajs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { awaitReady, killAllStarted, startNode, stopNode, TEST_CREDENTIALS } from "../server/cluster-processes.test-support.ts"
import { planCluster } from "../server/local-cluster.ts"
import { type ConsumerEvent, type ConsumerProcess, startConsumerProcess, stopConsumerProcesses } from "./kafkajs-consumers.test-support.ts"
import { awaitListening, PYTHON, runCommand, startKafkaCluster, stopCommands } from "./kafka-processes.test-support.ts"

const dirs: Array<string> = []

afterEach(async () => {
  // The consumers' and the servers' process groups are stopped by id.
  await stopConsumerProcesses()
  await stopCommands()
  await killAllStarted()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
}, 60_000)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `ready` until it holds (bounded by the test's timeout); a failure names the consumers' crashes. */
const until = async (what: string, ready: () => boolean, consumers: ConsumerProcess, limitMs = 90_000): Promise<void> => {
  const start = Date.now()
  while (!ready()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}: ${consumers.troubles()}`)
    await sleep(100)
  }
}

const TOPIC = "work"
const GROUP = "workers"

type ReadEvent = Extract<ConsumerEvent, { event: "read" }>
const readsOf = (consumers: ConsumerProcess): Array<ReadEvent> => consumers.events.filter((e): e is ReadEvent => e.event === "read")

/** Each member's latest assignment of `TOPIC`'s partitions. */
const assignmentsOf = (consumers: ConsumerProcess): Map<number, ReadonlyArray<number>> => {
  const latest = new Map<number, ReadonlyArray<number>>()
  for (const e of consumers.events) {
    if (e.event === "joined") latest.set(e.member, e.partitions)
    if (e.event === "stopped") latest.delete(e.member)
  }
  return latest
}

describe("Kafka consumer groups on a 3-node cluster", () => {
  it("three kafkajs consumers share six partitions; one leaves, one joins; each record is read once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-kafka-groups-"))
    dirs.push(dir)
    const { cluster } = await startKafkaCluster(dir, "kafka-groups-secret-0123456789")
    // Each client is bootstrapped from one node only: the group's coordinator is wherever FindCoordinator says.
    const brokerOf = (i: number) => [`127.0.0.1:${cluster.nodes[i % 3]!.kafkaPort}`]
    const kafka = (i: number) => new Kafka({ clientId: `groups-test-${i}`, brokers: brokerOf(i), logLevel: logLevel.NOTHING, retry: { retries: 10 } })

    const admin = kafka(0).admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true })).toBe(true)
    const producer = kafka(1).producer({ allowAutoTopicCreation: false })
    await producer.connect()
    let sent = 0
    const produce = async (count: number) => {
      const messages = Array.from({ length: count }, () => ({ value: String(sent), partition: sent++ % 6 }))
      await producer.send({ topic: TOPIC, acks: -1, messages })
    }

    const consumers = startConsumerProcess()
    const reads = () => readsOf(consumers)
    const spread = (members: ReadonlyArray<number>) => () => {
      const assignments = assignmentsOf(consumers)
      const parts = members.map((m) => assignments.get(m) ?? [])
      return parts.every((p) => p.length === 6 / members.length) && new Set(parts.flat()).size === 6
    }

    for (const i of [0, 1, 2]) consumers.start(i, brokerOf(i), GROUP, TOPIC)
    await until("three consumers with two partitions each", spread([0, 1, 2]), consumers)
    await produce(60)
    await until("the first 60 records read", () => reads().length >= 60, consumers)

    // Consumer 2 leaves (LeaveGroup): 0 and 1 take its partitions and read what is produced next.
    const taken = assignmentsOf(consumers).get(2)!
    consumers.stop(2)
    await until("consumer 2 gone", () => consumers.events.some((e) => e.event === "stopped" && e.member === 2), consumers)
    await until("two consumers with three partitions each", spread([0, 1]), consumers)
    await produce(60)
    await until("120 records read", () => reads().length >= 120, consumers)
    expect(reads().filter((r) => Number(r.value) >= 60 && taken.includes(r.partition)).every((r) => r.member !== 2)).toBe(true)

    // A fourth consumer joins: the six partitions spread over three again.
    consumers.start(3, brokerOf(3), GROUP, TOPIC)
    await until("three consumers again", spread([0, 1, 3]), consumers)
    await produce(60)
    await until("180 records read", () => reads().length >= 180, consumers)
    await sleep(2_000) // anything read twice would arrive by now

    const values = reads().map((r) => Number(r.value)).sort((a, b) => a - b)
    expect(values).toEqual(Array.from({ length: 180 }, (_, i) => i))
    expect(new Set(reads().map((r) => `${r.partition}/${r.offset}`)).size).toBe(180)
    expect(new Set(reads().filter((r) => Number(r.value) >= 120).map((r) => r.member))).toEqual(new Set([0, 1, 3]))

    const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
    expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      [0, 1, 2, 3, 4, 5].map((p) => [p, "30"])
    )
    const described = await admin.describeGroups([GROUP])
    expect(described.groups[0]!.state).toBe("Stable")
    expect(described.groups[0]!.members.length).toBe(3)
    await producer.disconnect()
    await admin.disconnect()
  }, 240_000)

  it("the coordinator node is killed and restarted: the group resumes from the KV and nothing is read twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-kafka-groups-"))
    dirs.push(dir)
    const { cluster, processes } = await startKafkaCluster(dir, "kafka-groups-secret-0123456789")
    const all = cluster.nodes.map((n) => `127.0.0.1:${n.kafkaPort}`)
    const kafka = (name: string) => new Kafka({ clientId: name, brokers: all, logLevel: logLevel.NOTHING, retry: { retries: 15 } })
    const group = "resilient"
    const victim = cluster.nodes.findIndex((n) => n.id === coordinatorOf(group, cluster.nodes.map((x) => x.id as never)))
    expect(victim).toBeGreaterThanOrEqual(0)

    const admin = kafka("admin").admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })).toBe(true)
    await admin.disconnect()
    const producer = kafka("producer").producer({ allowAutoTopicCreation: false })
    await producer.connect()
    let sent = 0
    const produce = async (count: number) => {
      const messages = Array.from({ length: count }, () => ({ value: String(sent), partition: sent++ % 3 }))
      await producer.send({ topic: TOPIC, acks: -1, messages })
    }
    const consumers = startConsumerProcess()
    const reads = () => readsOf(consumers).map((r) => Number(r.value))
    const joins = () => consumers.events.filter((e) => e.event === "joined").length
    for (const i of [0, 1]) consumers.start(i, all, group, TOPIC)
    await until("both consumers in the group", () => assignmentsOf(consumers).size === 2, consumers)
    await produce(30)
    await until("the first 30 records read", () => reads().length >= 30, consumers)

    const joinsBefore = joins()
    await stopNode(processes[victim]!, "SIGKILL")
    processes[victim] = startNode(cluster, cluster.nodes[victim]!, join(dir, "cluster.log"))
    await awaitReady(cluster.nodes[victim]!)
    await produce(30)
    await until("60 records read", () => reads().length >= 60, consumers, 120_000)
    await sleep(2_000)
    // The restarted coordinator loaded the group: the consumers' heartbeats in their generation succeeded, nobody rejoined.
    expect(joins()).toBe(joinsBefore)
    expect([...reads()].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i))

    const check = kafka("check").admin()
    await check.connect()
    const committed = await check.fetchOffsets({ groupId: group, topics: [TOPIC] })
    expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([0, 1, 2].map((p) => [p, "20"]))
    await check.disconnect()
    await producer.disconnect()
  }, 240_000)

  it("librdkafka: a group's next consumer reads on from the committed offsets; cooperative-sticky moves one partition incrementally", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-kafka-groups-"))
    dirs.push(dir)
    const ports = await freeLoopbackPorts(4)
    const cluster = planCluster({
      nodes: 1, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret: "kafka-groups-secret-0123456789",
      credentials: TEST_CREDENTIALS, ports: ports.slice(0, 3), kafka: [ports[3]!]
    })
    const node = cluster.nodes[0]!
    startNode(cluster, node, join(dir, "node.log"))
    await awaitReady(node)
    await awaitListening(node.kafkaPort!)
    const bootstrap = `127.0.0.1:${node.kafkaPort}`
    const kafka = new Kafka({ clientId: "librdkafka-test", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8 } })
    const admin = kafka.admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: "lib", numPartitions: 2 }], waitForLeaders: true })).toBe(true)
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    await producer.send({ topic: "lib", acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ value: String(i), partition: i % 2 })) })
    await producer.disconnect()
    const script = [
      "import json, time",
      "from confluent_kafka import Consumer",
      "def consume(n):",
      `    c = Consumer({"bootstrap.servers": "${bootstrap}", "group.id": "py-group", "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 10000})`,
      "    c.subscribe(['lib'])",
      "    got, end = [], time.time() + 60",
      "    while len(got) < n and time.time() < end:",
      "        m = c.poll(0.5)",
      "        if m is None: continue",
      "        got.append('error ' + str(m.error()) if m.error() else m.value().decode())",
      "    c.commit(asynchronous=False)",
      "    c.close()",
      "    return got",
      "first = consume(20)",
      "second = consume(20)",
      "print(json.dumps({'first': first, 'second': second}))"
    ].join("\n")
    const ran = await runCommand(PYTHON, ["-c", script], "", 150_000)
    expect(ran.code, ran.err).toBe(0)
    const { first, second } = JSON.parse(ran.out) as { first: Array<string>; second: Array<string> }
    expect([first.length, second.length]).toEqual([20, 20])
    expect([...first, ...second].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i))
    const committed = await admin.fetchOffsets({ groupId: "py-group", topics: ["lib"] })
    expect(committed[0]!.partitions.map((p) => p.offset).sort()).toEqual(["20", "20"])

    // Cooperative incremental rebalancing (librdkafka's cooperative-sticky): a second member joins a
    // consuming one; the first gives up one partition without losing the other, and each record is read once.
    const cooperative = [
      "import json, time",
      "from confluent_kafka import Consumer, Producer",
      `conf = {"bootstrap.servers": "${bootstrap}", "group.id": "coop", "auto.offset.reset": "earliest", "session.timeout.ms": 10000, "partition.assignment.strategy": "cooperative-sticky"}`,
      "a, b = Consumer(conf), Consumer(conf)",
      "events, got = [], []",
      "log = lambda name: (lambda c, ps: events.append((name, sorted(p.partition for p in ps), len(got))))",
      "def poll(pairs, until):",
      "    end = time.time() + 60",
      "    while not until() and time.time() < end:",
      "        for name, c in pairs:",
      "            m = c.poll(0.1)",
      "            if m is not None and not m.error(): got.append((name, m.partition(), m.value().decode()))",
      "a.subscribe(['lib'], on_assign=log('a+'), on_revoke=log('a-'))",
      "poll([('a', a)], lambda: len(got) >= 40)",
      "b.subscribe(['lib'], on_assign=log('b+'), on_revoke=log('b-'))",
      "poll([('a', a), ('b', b)], lambda: any(e[0] == 'b+' and e[1] for e in events))",
      `p = Producer({"bootstrap.servers": "${bootstrap}", "acks": "all"})`,
      "for i in range(40, 60): p.produce('lib', value=str(i), partition=i % 2)",
      "p.flush(30)",
      "poll([('a', a), ('b', b)], lambda: len(got) >= 60)",
      "events.append(('close', [], len(got)))",
      "a.close(); b.close()",
      "print(json.dumps({'got': got, 'events': events}))"
    ].join("\n")
    const coop = await runCommand(PYTHON, ["-c", cooperative], "", 200_000)
    expect(coop.code, coop.err).toBe(0)
    const { got, events } = JSON.parse(coop.out) as { got: Array<[string, number, string]>; events: Array<[string, Array<number>, number]> }
    expect(got.map((g) => Number(g[2])).sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i))
    // Incremental: a, assigned both partitions, gives up exactly one before the close and keeps the other;
    // b gets that one in the follow-up rebalance (its first assignment is empty while a still owns it).
    const beforeClose = events.slice(0, events.findIndex((e) => e[0] === "close"))
    expect(beforeClose[0]).toEqual(["a+", [0, 1], 0])
    const revoked = beforeClose.filter((e) => e[0] === "a-").map((e) => e[1])
    expect(revoked.map((r) => r.length)).toEqual([1])
    expect(beforeClose.filter((e) => e[0] === "b+").flatMap((e) => e[1])).toEqual(revoked[0])
    // The records produced after the move were read on b's partition by b, on a's by a.
    for (const [name, partition, value] of got.filter((g) => Number(g[2]) >= 40)) expect([value, name]).toEqual([value, partition === revoked[0]![0] ? "b" : "a"])
    await admin.disconnect()
  }, 240_000)
})
