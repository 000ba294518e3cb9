/**
 * The Kafka protocol on a real 3-node cluster of `cairn server` processes
 * (each in its own process group, stopped by id): every node lists the
 * same three brokers; the nodes agree on each partition's leader, which is
 * the partition's Raft leader (every node runs a replica of every partition
 * here, so each knows it), one of its replicas; kafkajs, bootstrapped from
 * all three, produces to every partition, each batch routed by Metadata to
 * the partition's leader, and kcat, bootstrapped from one node only, sends
 * more; kcat reads every partition back through the third node in order.
 */
import { Kafka, logLevel } from "kafkajs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { awaitLeader, awaitReady, killAllStarted, startNode, TEST_CREDENTIALS } from "../server/cluster-processes.test-support.ts"
import { planCluster } from "../server/local-cluster.ts"
import { awaitListening, KCAT, runCommand, stopCommands } from "./kafka-processes.test-support.ts"

const dirs: Array<string> = []

afterEach(async () => {
  await stopCommands()
  await killAllStarted()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("Kafka on a 3-node cluster", () => {
  it("lists every broker, names Raft leaders as partition leaders, and takes produce through every node", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-kafka-cluster-"))
    dirs.push(dir)
    const ports = await freeLoopbackPorts(12)
    const cluster = planCluster({
      nodes: 3, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret: "kafka-cluster-secret-0123456789",
      credentials: TEST_CREDENTIALS, ports: ports.slice(0, 9), kafka: ports.slice(9)
    })
    for (const node of cluster.nodes) startNode(cluster, node, join(dir, "cluster.log"))
    for (const node of cluster.nodes) await awaitReady(node)
    await awaitLeader(cluster.nodes)
    for (const node of cluster.nodes) await awaitListening(node.kafkaPort!)
    const bootstraps = cluster.nodes.map((n) => `127.0.0.1:${n.kafkaPort}`)
    const client = (brokers: ReadonlyArray<string>) => new Kafka({ clientId: "cairn-cluster-test", brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 10 } })

    const admin = client([bootstraps[0]!]).admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: "spread", numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })).toBe(true)
    await admin.disconnect()

    // Each node's Metadata: the same brokers (once every node's record went round), and (once the partitions
    // elected) the same leader per partition.
    let views: Array<{ brokers: Array<number>; leaders: Array<number>; replicas: Array<Array<number>> }> = []
    for (let tries = 0; tries < 100; tries++) {
      views = await Promise.all(bootstraps.map(async (b) => {
        const a = client([b]).admin()
        await a.connect()
        const cluster = await a.describeCluster()
        const meta = (await a.fetchTopicMetadata({ topics: ["spread"] })).topics[0]!
        await a.disconnect()
        const partitions = [...meta.partitions].sort((x, y) => x.partitionId - y.partitionId)
        return { brokers: cluster.brokers.map((x) => x.nodeId).sort(), leaders: partitions.map((p) => p.leader), replicas: partitions.map((p) => [...p.replicas].sort()) }
      }))
      // Each node learns the others' listeners from their records in the KV within about a second of starting.
      if (views.every((v) => v.brokers.length === 3 && JSON.stringify(v.leaders) === JSON.stringify(views[0]!.leaders))) break
      await sleep(200)
    }
    const brokers = views[0]!.brokers
    expect(brokers).toHaveLength(3)
    for (const v of views) {
      expect(v.brokers).toEqual(brokers)
      expect(v.leaders).toEqual(views[0]!.leaders)
      expect(v.replicas).toEqual([brokers, brokers, brokers])
      for (const leader of v.leaders) expect(brokers).toContain(leader)
    }

    const producer = client(bootstraps).producer()
    await producer.connect()
    for (let p = 0; p < 3; p++) {
      await producer.send({ topic: "spread", acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `js-${p}-${i}`, partition: p })) })
    }
    await producer.disconnect()
    for (let p = 0; p < 3; p++) {
      const ran = await runCommand(KCAT, ["-P", "-b", bootstraps[1]!, "-t", "spread", "-p", String(p), "-X", "acks=all"], `kcat-${p}-0\nkcat-${p}-1\n`)
      expect(ran.code, ran.err).toBe(0)
    }
    for (let p = 0; p < 3; p++) {
      const read = await runCommand(KCAT, ["-C", "-b", bootstraps[2]!, "-t", "spread", "-p", String(p), "-o", "beginning", "-e", "-q", "-f", "%o %s\n"])
      expect(read.code, read.err).toBe(0)
      const expected = [...Array.from({ length: 5 }, (_, i) => `js-${p}-${i}`), `kcat-${p}-0`, `kcat-${p}-1`].map((v, o) => `${o} ${v}`)
      expect(read.out.split("\n").filter((l) => l !== "")).toEqual(expected)
    }
  })
})
