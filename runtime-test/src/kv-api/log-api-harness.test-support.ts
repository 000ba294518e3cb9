/**
 * The log API's handler over a real one-node KV (runtime-test services) and
 * a stand-in log client whose topics and partition ends the test fixes:
 * `orders` (2 partitions, ending at 10 and 5) and `clicks` (1, ending at 7).
 * Produces are recorded, not stored, so a test sees which partition each
 * went to; topic changes go to `topics`, which the test can read back.
 */
import { testServices } from "../index.ts"
import { Effect, Stream } from "effect"
import type { Clock } from "@cairn/core/clock/clock"
import type { KvClient } from "@cairn/core/kv/client"
import { makeLocalKvClient } from "@cairn/core/kv/local-client"
import { makeKvServer } from "@cairn/core/kv/server"
import type { KvApiMembers } from "@cairn/core/kv-api/context"
import { makeKvApiHandler } from "@cairn/core/kv-api/handler"
import type { KvApiPrincipal, KvApiRequest } from "@cairn/core/kv-api/request"
import type { KvApiResponse } from "@cairn/core/kv-api/response"
import { type LogClient, LogRequestError } from "@cairn/core/log/client/log-client"
import type { TopicMeta } from "@cairn/core/log/topics/topic-meta"
import { nodeId } from "@cairn/core/node/node-id"
import { Digest } from "@cairn/core/s3/digest"

const n1 = nodeId("n1")
export const ADMIN: KvApiPrincipal = { accessKey: "ADMINKEY", user: "admin", admin: true, bodySha256: undefined }
export const BOB: KvApiPrincipal = { accessKey: "BOBKEY", user: "bob", admin: false, bodySha256: undefined }
const decoder = new TextDecoder()
const encoder = new TextEncoder()

export interface Call {
  readonly method?: string
  readonly body?: unknown
  readonly caller?: KvApiPrincipal
}

export type Api = (target: string, call?: Call) => Effect.Effect<KvApiResponse, never, Clock | Digest>

export const json = (r: KvApiResponse) => JSON.parse(decoder.decode(r.body)) as Record<string, unknown>

/** Where each produce went. */
export interface Produced {
  readonly topic: string
  readonly partition: number
  readonly batch: Uint8Array
}

const topicMeta = (name: string, partitions: number): TopicMeta => ({
  name,
  id: `${name}-id`,
  replicationFactor: 1,
  maxMessageBytes: 1024 * 1024,
  segmentBytes: 128 * 1024 * 1024,
  replicas: Array.from({ length: partitions }, () => [n1])
})

/** A log client over fixed topics; `ends[topic][p]` is partition p's high watermark. */
const fakeLog = (topics: Map<string, TopicMeta>, ends: Record<string, Array<number>>, produced: Array<Produced>) => {
  const unknown = (topic: string) => new LogRequestError({ code: "unknown-topic", message: `no topic ${topic}`, bounds: undefined })
  const describe = (topic: string) => {
    const meta = topics.get(topic)
    return meta === undefined ? Effect.fail(unknown(topic)) : Effect.succeed(meta)
  }
  const fetchEnd: LogClient["fetch"] = (topic, partition, offset) => {
    const end = ends[topic]?.[partition]
    if (end === undefined) return Effect.fail(unknown(topic))
    if (offset > end) return Effect.fail(new LogRequestError({ code: "offset-out-of-range", message: "past the end", bounds: { logStartOffset: 0, highWatermark: end } }))
    return Effect.succeed({ batches: [], highWatermark: end, logStartOffset: 0, lastStableOffset: end, abortedTransactions: [] })
  }
  const produce: LogClient["produce"] = (topic, partition, batch) =>
    Effect.sync(() => {
      produced.push({ topic, partition, batch })
      const base = ends[topic]![partition]!
      ends[topic]![partition] = base + 1
      return { baseOffset: base, lastOffset: base, duplicate: false }
    })
  const alterTopic: LogClient["alterTopic"] = (topic, changes) =>
    Effect.flatMap(describe(topic), (meta) =>
      Effect.sync(() => {
        const pick = (now: number | undefined, change: number | null | undefined) => (change === undefined ? now : change ?? undefined)
        const altered = { ...meta, retentionMs: pick(meta.retentionMs, changes.retentionMs), retentionBytes: pick(meta.retentionBytes, changes.retentionBytes) }
        topics.set(topic, altered)
        return altered
      }))
  const unused = () => Effect.die("not used by these tests")
  return {
    fetch: fetchEnd,
    produce,
    startProduce: (topic, partition, batch) => Effect.succeed(produce(topic, partition, batch)),
    describeTopic: describe,
    alterTopic,
    createTopic: unused,
    growTopic: unused,
    deleteTopic: unused,
    initProducer: unused,
    commitOffset: unused,
    fetchOffset: unused
  } satisfies LogClient
}

const members: KvApiMembers = {
  apiAddress: () => undefined,
  list: Effect.succeed({ members: [{ id: "n1" }], removed: [] }),
  add: () => Effect.succeed("unused"),
  remove: () => Effect.succeed("unused"),
  drain: () => Effect.succeed("unused"),
  promote: () => Effect.succeed("unused")
}

const request = (target: string, call: Call): KvApiRequest => {
  const body = call.body === undefined ? undefined : encoder.encode(typeof call.body === "string" ? call.body : JSON.stringify(call.body))
  const headers = new Map<string, string>(body === undefined ? [] : [["content-length", String(body.length)], ["content-type", "application/json"]])
  return { method: call.method ?? "GET", target, headers, body: body === undefined ? Stream.empty : Stream.make(body), caller: call.caller ?? BOB }
}

/** Digest is only asked of signed bodies; these calls sign none. */
const noDigest = { hasher: () => ({ update: () => {}, digest: () => new Uint8Array(0) }), hmacSha256: () => new Uint8Array(32) }

/** Runs `test` against the handler of a one-node KV that leads, after `seed` wrote what the test needs to the KV. */
export const withLogApi = (
  seed: (kv: KvClient) => Effect.Effect<void, never, Clock>,
  test: (api: Api, produced: ReadonlyArray<Produced>) => Effect.Effect<void, never, Clock | Digest>
) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const kv = yield* makeKvServer({ id: n1, voters: [n1], dataDir: "kv" })
        yield* Effect.forkScoped(kv.run)
        for (let i = 0; i < 2_000 && (yield* kv.raft.status).role !== "leader"; i++) yield* Effect.yieldNow
        yield* seed(yield* makeLocalKvClient(kv, { clientId: "log-api-test" }))
        const topics = new Map([["orders", topicMeta("orders", 2)], ["clicks", topicMeta("clicks", 1)]])
        const produced: Array<Produced> = []
        const log = fakeLog(topics, { orders: [10, 5], clicks: [7] }, produced)
        const handler = makeKvApiHandler({ id: n1, kv, members, log, requestTimeoutMs: 1_000, sessionPrefix: "http-n1-test", newKeyPair: Effect.die("unused") })
        yield* test((target, call = {}) => handler(request(target, call)), produced).pipe(Effect.provideService(Digest, noDigest))
      })
    ).pipe(Effect.provide(testServices(n1)))
  )
