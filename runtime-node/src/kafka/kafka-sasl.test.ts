/**
 * SASL PLAIN on a real `cairn server --kafka-sasl` process (its own process
 * group, stopped by id): kcat (librdkafka) and kafkajs authenticate with
 * the admin's S3 access key and secret and work; a wrong secret is refused
 * with the broker's message, and a client that does not authenticate is
 * disconnected. The configuration refuses an anonymous listener off
 * loopback.
 */
import { Kafka, logLevel } from "kafkajs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { awaitReady, killAllStarted, startNode, TEST_CREDENTIALS } from "../server/cluster-processes.test-support.ts"
import { resolveConfig, ServerConfigError } from "../server/config.ts"
import { planCluster } from "../server/local-cluster.ts"
import { awaitListening, KCAT, runCommand, stopCommands } from "./kafka-processes.test-support.ts"

const dirs: Array<string> = []

afterEach(async () => {
  await stopCommands()
  await killAllStarted()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe("SASL PLAIN on the Kafka listener", () => {
  it("lets S3 keys in, refuses a wrong secret, and disconnects a client that does not authenticate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-kafka-sasl-"))
    dirs.push(dir)
    const ports = await freeLoopbackPorts(4)
    const cluster = planCluster({
      nodes: 1, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret: "kafka-sasl-secret-0123456789",
      credentials: TEST_CREDENTIALS, ports: ports.slice(0, 3), kafka: [ports[3]!]
    })
    const node = cluster.nodes[0]!
    startNode(cluster, node, join(dir, "node.log"), undefined, ["--kafka-sasl"])
    await awaitReady(node)
    await awaitListening(node.kafkaPort!)
    const bootstrap = `127.0.0.1:${node.kafkaPort}`
    const sasl = (password: string) => ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN", "-X", `sasl.username=${TEST_CREDENTIALS.accessKey}`, "-X", `sasl.password=${password}`]

    const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING, sasl: { mechanism: "plain", username: TEST_CREDENTIALS.accessKey, password: TEST_CREDENTIALS.secretKey } }).admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: "secured", numPartitions: 1 }], waitForLeaders: true })).toBe(true)
    await admin.disconnect()

    const produced = await runCommand(KCAT, ["-P", "-b", bootstrap, "-t", "secured", "-p", "0", ...sasl(TEST_CREDENTIALS.secretKey)], "one\ntwo\n")
    expect(produced.code, produced.err).toBe(0)
    const read = await runCommand(KCAT, ["-C", "-b", bootstrap, "-t", "secured", "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n", ...sasl(TEST_CREDENTIALS.secretKey)])
    expect(read.out.split("\n").filter((l) => l !== "")).toEqual(["one", "two"])

    const wrong = await runCommand(KCAT, ["-L", "-b", bootstrap, "-m", "3", ...sasl("not-the-secret")])
    expect(wrong.code).not.toBe(0)
    expect(wrong.err).toContain("invalid username or password")
    const anonymous = await runCommand(KCAT, ["-L", "-b", bootstrap, "-m", "3"])
    expect(anonymous.code).not.toBe(0)
    expect(anonymous.out).not.toContain("secured")

    const badAdmin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism: "plain", username: TEST_CREDENTIALS.accessKey, password: "nope" } }).admin()
    await expect(badAdmin.connect()).rejects.toThrow(/invalid username or password/)
  })

  it("refuses an anonymous listener off loopback", () => {
    const open = resolveConfig({ kafkaListen: { value: "0.0.0.0:9092", source: "flag --kafka-listen" } })
    expect(open instanceof ServerConfigError && open.message).toMatch(/anonymous Kafka listener may only listen on loopback/)
    const secured = resolveConfig({ kafkaListen: { value: "0.0.0.0:9092", source: "flag --kafka-listen" }, kafkaSasl: { value: "true", source: "flag --kafka-sasl" } })
    expect(secured instanceof ServerConfigError ? secured.message : secured.kafkaSasl).toBe(true)
  })
})
