/**
 * The log service of a simulated cluster (fault-free, virtual time), spoken
 * to by the log client from a client process: topics in the KV (create,
 * grow, delete, describe), produce and fetch through the partitions'
 * replicas, producer ids and fencing, consumer group offsets.
 */
import { Clock, nodeId } from "@cairn/core"
import { makeIdempotentProducer } from "@cairn/core/log/client/idempotent-producer"
import { makeLogClient, type LogClient } from "@cairn/core/log/client/log-client"
import { encodeBatch } from "@cairn/core/log/record-batch"
import { seededSource } from "@cairn/runtime-test"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { SimCluster } from "../cluster.ts"
import { faultFreeDisk } from "../disk.ts"
import { runFor } from "../harness.test-support.ts"
import { faultFreeNetwork } from "../network.ts"
import { logServers } from "./log-cluster.ts"

const record = (v: number) => ({ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Uint8Array.of(v), headers: [] })
const batch = (v: number) => encodeBatch({ baseTimestamp: 1, records: [record(v)] })
const valueOf = (b: Uint8Array) => b[b.length - 2]

/** A cluster of `nodes` with the log service and a log client on c1; runs `body` with the client once the cluster is up. */
const withCluster = async <A, E>(body: (client: LogClient) => Effect.Effect<A, E, Clock>, nodes = 1, retentionCheckMs?: number): Promise<A> => {
  const voters = Array.from({ length: nodes }, (_, i) => nodeId(`n${i + 1}`))
  const cluster = new SimCluster({ random: seededSource("log-service"), nodes, clients: 1, disk: faultFreeDisk, network: faultFreeNetwork, clocks: [] })
  const servers = logServers({ voters, log: { reconcileMs: 50, ...(retentionCheckMs === undefined ? {} : { retentionCheckMs }) } })
  cluster.start(servers.server)
  let outcome: { value: A } | { error: unknown } | undefined
  cluster.startClients(() =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* makeLogClient({ nodes: voters })
      outcome = { value: yield* body(client) }
    })).pipe(Effect.catchCause((cause) => Effect.sync(() => (outcome = { error: cause }))))
  )
  runFor(cluster, 120_000)
  if (outcome === undefined) throw new Error("the client did not finish")
  if ("error" in outcome) throw new Error(`the client failed: ${String(outcome.error)}`)
  return outcome.value
}

describe("the log service on a node", () => {
  it("creates, grows, describes and deletes topics, and refuses what the rules forbid", async () => {
    const out = await withCluster((client) =>
      Effect.gen(function*() {
        const created = yield* client.createTopic({ name: "orders", partitions: 2, retentionMs: 60_000, maxMessageBytes: 4096 })
        const again = yield* Effect.flip(client.createTopic({ name: "orders", partitions: 1 }))
        const tooMany = yield* Effect.flip(client.createTopic({ name: "wide", partitions: 1, replicationFactor: 3 }))
        const badName = yield* Effect.flip(client.createTopic({ name: "a/b", partitions: 1 }))
        const grown = yield* client.growTopic("orders", 3)
        const shrink = yield* Effect.flip(client.growTopic("orders", 1))
        const described = yield* client.describeTopic("orders")
        yield* client.deleteTopic("orders")
        const gone = yield* Effect.flip(client.describeTopic("orders"))
        return {
          created: [created.replicas.length, created.replicationFactor, created.retentionMs, created.maxMessageBytes],
          refused: [again, tooMany, badName, shrink, gone].map((e) => (e._tag === "LogRequestError" ? e.code : e._tag)),
          grown: grown.replicas.length,
          sameId: described.id === created.id && grown.id === created.id
        }
      }))
    expect(out).toEqual({
      created: [2, 1, 60_000, 4096],
      refused: ["topic-exists", "invalid-request", "invalid-request", "invalid-request", "unknown-topic"],
      grown: 3,
      sameId: true
    })
  })

  it("changes a topic's retention after creation, keeps what it was not asked to change, and refuses a bad value", async () => {
    const out = await withCluster((client) =>
      Effect.gen(function*() {
        const created = yield* client.createTopic({ name: "orders", partitions: 1, retentionMs: 60_000, maxMessageBytes: 4096 })
        const altered = yield* client.alterTopic("orders", { retentionBytes: 1_000_000 })
        const removed = yield* client.alterTopic("orders", { retentionMs: null })
        const described = yield* client.describeTopic("orders")
        const bad = yield* Effect.flip(client.alterTopic("orders", { retentionMs: -1 }))
        const unknown = yield* Effect.flip(client.alterTopic("nope", { retentionMs: 1 }))
        return {
          altered: [altered.retentionMs, altered.retentionBytes, altered.maxMessageBytes],
          removed: [removed.retentionMs, removed.retentionBytes],
          described: [described.retentionMs, described.retentionBytes, described.id === created.id],
          refused: [bad, unknown].map((e) => (e._tag === "LogRequestError" ? e.code : e._tag))
        }
      }))
    expect(out).toEqual({
      altered: [60_000, 1_000_000, 4096],
      removed: [undefined, 1_000_000],
      described: [undefined, 1_000_000, true],
      refused: ["invalid-request", "unknown-topic"]
    })
  })

  it("applies a retention changed after creation to the running replica at its next check, without a restart", async () => {
    const out = await withCluster((client) =>
      Effect.gen(function*() {
        // Segments of 200 bytes: a few one-record batches each, so ten batches seal several.
        yield* client.createTopic({ name: "t", partitions: 1, maxMessageBytes: 200, segmentBytes: 200 })
        for (let i = 0; i < 10; i++) yield* client.produce("t", 0, batch(i))
        const clock = yield* Clock
        // No retention yet: after two checks the log still starts at 0.
        yield* clock.sleep(2_500)
        const before = (yield* client.fetch("t", 0, 0, 1 << 20)).logStartOffset
        yield* client.alterTopic("t", { retentionBytes: 0 })
        yield* clock.sleep(2_500)
        const after = yield* Effect.flip(client.fetch("t", 0, 0, 1 << 20))
        return { before, after: after._tag === "LogRequestError" ? [after.code, (after.bounds?.logStartOffset ?? 0) > 0, after.bounds?.highWatermark] : [after._tag] }
      }), 1, 1_000)
    expect(out).toEqual({ before: 0, after: ["offset-out-of-range", true, 10] })
  })

  it("appends to and reads from each partition, grown ones too, and refuses a batch over the topic's limit", async () => {
    const out = await withCluster((client) =>
      Effect.gen(function*() {
        yield* client.createTopic({ name: "t", partitions: 1, maxMessageBytes: 200 })
        const offsets = [yield* client.produce("t", 0, batch(1)), yield* client.produce("t", 0, batch(2))].map((p) => p.baseOffset)
        yield* client.growTopic("t", 2)
        const other = (yield* client.produce("t", 1, batch(9))).baseOffset
        const big = yield* Effect.flip(client.produce("t", 0, encodeBatch({ baseTimestamp: 1, records: [{ ...record(0), value: new Uint8Array(300) }] })))
        const p0 = yield* client.fetch("t", 0, 0, 1 << 20)
        const p1 = yield* client.fetch("t", 1, 0, 1 << 20)
        const past = yield* Effect.flip(client.fetch("t", 0, 5, 1 << 20))
        const noPartition = yield* Effect.flip(client.fetch("t", 7, 0, 1 << 20))
        return {
          offsets,
          other,
          big: big._tag === "LogRequestError" ? big.code : big._tag,
          p0: p0.batches.map(valueOf),
          hw: p0.highWatermark,
          p1: p1.batches.map(valueOf),
          past: past._tag === "LogRequestError" ? [past.code, past.bounds?.highWatermark] : past._tag,
          noPartition: noPartition._tag === "LogRequestError" ? noPartition.code : noPartition._tag
        }
      }))
    expect(out).toEqual({ offsets: [0, 1], other: 0, big: "too-large", p0: [1, 2], hw: 2, p1: [9], past: ["offset-out-of-range", 2], noPartition: "unknown-partition" })
  })

  it("gives idempotent producers ids and epochs, answers a retry with its offset, and fences a producer taken over by name", async () => {
    const out = await withCluster((client) =>
      Effect.gen(function*() {
        yield* client.createTopic({ name: "t", partitions: 1 })
        const anonymous = [yield* client.initProducer(""), yield* client.initProducer("")]
        const old = makeIdempotentProducer(client, "app")
        const a = yield* old.send("t", 0, [record(1), record(2)], 1)
        // The same batch again (a retry whose first answer was lost): the same offsets.
        const id = old.identity()!
        const retry = yield* client.produce("t", 0, encodeBatch({ baseTimestamp: 1, records: [record(1), { ...record(2), offsetDelta: 1 }], producerId: id.producerId, producerEpoch: id.epoch, baseSequence: 0 }))
        const b = yield* old.send("t", 0, [record(3)], 1)
        const successor = makeIdempotentProducer(client, "app")
        const c = yield* successor.send("t", 0, [record(4)], 1)
        const fenced = yield* Effect.flip(old.send("t", 0, [record(5)], 1))
        return {
          anonymous: anonymous.map((p) => [p.producerId, p.epoch]),
          offsets: [a.baseOffset, a.lastOffset, retry.baseOffset, retry.duplicate, b.baseOffset, c.baseOffset],
          epochs: [id.epoch, successor.identity()!.epoch, successor.identity()!.producerId === id.producerId],
          fenced: fenced._tag === "LogRequestError" ? fenced.code : fenced._tag,
          hw: (yield* client.fetch("t", 0, 0, 1 << 20)).highWatermark
        }
      }))
    expect(out).toEqual({
      anonymous: [[0, 0], [1, 0]],
      offsets: [0, 1, 0, true, 2, 3],
      epochs: [0, 1, true],
      fenced: "fenced",
      hw: 4
    })
  })

  it("commits and fetches consumer group offsets per group and partition", async () => {
    const out = await withCluster((client) =>
      Effect.gen(function*() {
        const before = yield* client.fetchOffset("g", "t", 0)
        yield* client.commitOffset("g", "t", 0, 42, "m1")
        yield* client.commitOffset("g", "t", 1, 7)
        yield* client.commitOffset("h", "t", 0, 3)
        yield* client.commitOffset("g", "t", 0, 43, "m2")
        return {
          before: before.offset,
          g0: yield* client.fetchOffset("g", "t", 0),
          g1: (yield* client.fetchOffset("g", "t", 1)).offset,
          h0: (yield* client.fetchOffset("h", "t", 0)).offset
        }
      }))
    expect(out).toEqual({ before: undefined, g0: { offset: 43, metadata: "m2" }, g1: 7, h0: 3 })
  })
})

describe("the log service on three nodes", () => {
  it("places each partition on three replicas, spreads their first replicas, and serves every partition", async () => {
    const out = await withCluster((client) =>
      Effect.gen(function*() {
        const meta = yield* client.createTopic({ name: "t", partitions: 4, replicationFactor: 3 })
        const produced: Array<number> = []
        for (let p = 0; p < 4; p++) for (let i = 0; i < 3; i++) produced.push((yield* client.produce("t", p, batch(10 * p + i))).baseOffset)
        const fetched: Array<Array<number | undefined>> = []
        for (let p = 0; p < 4; p++) fetched.push((yield* client.fetch("t", p, 0, 1 << 20)).batches.map(valueOf))
        yield* client.deleteTopic("t")
        // Each node stops its replicas when its reconciler next reads the topics (every 50 ms here).
        yield* Effect.flatMap(Clock, (clock) => clock.sleep(1_000))
        const afterDelete = yield* Effect.flip(client.produce("t", 0, batch(99)))
        return {
          sets: meta.replicas.map((r) => [...r].sort().join(",")),
          firsts: new Set(meta.replicas.map((r) => r[0])).size,
          produced,
          fetched,
          afterDelete: afterDelete._tag === "LogRequestError" ? afterDelete.code : afterDelete._tag
        }
      }), 3)
    expect(out.sets).toEqual(["n1,n2,n3", "n1,n2,n3", "n1,n2,n3", "n1,n2,n3"])
    expect(out.firsts).toBe(3)
    expect(out.produced).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    expect(out.fetched).toEqual([[0, 1, 2], [10, 11, 12], [20, 21, 22], [30, 31, 32]])
    expect(out.afterDelete).toBe("unknown-topic")
  })
})
