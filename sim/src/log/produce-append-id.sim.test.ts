/**
 * The produce request's append id (`log-protocol.ts`), spoken raw to the log
 * service of a 3-node simulated cluster (fault-free, virtual time): every
 * attempt of one produce carries the same append id under its own request
 * id, and the partition applies a batch with the same sender, session and
 * append id once (log seed 124 appended a plain batch twice when a retry
 * under a new id followed an attempt that was applied but never answered).
 *
 * - a plain batch applied, its answer lost, then retried through another
 *   node under a new request id and the same append id: applied once,
 *   answered with the first attempt's offsets, not the next ones;
 * - two copies arriving at a node while the first one's proposal is in
 *   flight: the second joins the first (one Raft entry, one outcome for both);
 * - and the client's half: the log client sends one append id over every
 *   attempt of a produce (to a scripted node that refuses the first).
 */
import { Network, nodeId, type NodeId } from "@cairn/core"
import { makeLogClient } from "@cairn/core/log/client/log-client"
import { encodeBatch } from "@cairn/core/log/record-batch"
import { decodeLogRequest, encodeLogRequest, encodeLogResponse, errorBody, LOG_REQUEST_KIND, parseLogResponse, type LogRequestBody, type LogResponse, type LogResponseBody } from "@cairn/core/log/service/log-protocol"
import { makeFrameDemux } from "@cairn/core/transport/frame-demux"
import { seededSource } from "@cairn/runtime-test"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { SimCluster } from "../cluster.ts"
import { faultFreeDisk } from "../disk.ts"
import { runFor } from "../harness.test-support.ts"
import { faultFreeNetwork } from "../network.ts"
import { recordsOf } from "../workload/log.ts"
import { logServers } from "./log-cluster.ts"

const [n1, n2, n3] = [nodeId("n1"), nodeId("n2"), nodeId("n3")]
const voters = [n1, n2, n3]
const session = 77

const batchOf = (value: number) => {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setUint32(0, value)
  return encodeBatch({ baseTimestamp: 1, records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: bytes, headers: [] }] })
}
const produce = (append: number, value: number): LogRequestBody => ({ op: "produce", topic: "t", partition: 0, append, batch: batchOf(value) })

interface Seen {
  /** Answers to the lost-answer retry: the first attempt (never read by a real client), another append, the retry. */
  readonly first: LogResponse
  readonly other: LogResponse
  readonly retry: LogResponse
  /** Answers to two copies sent at once, and how many entries the partition's Raft log grew by meanwhile. */
  readonly copies: ReadonlyArray<LogResponse>
  readonly entriesForCopies: number
  /** (offset, value) of every record in the partition at the end. */
  readonly records: ReadonlyArray<readonly [number, number]>
}

const runScenario = (): Seen => {
  const cluster = new SimCluster({ random: seededSource("produce-append-id"), nodes: 3, clients: 1, disk: faultFreeDisk, network: faultFreeNetwork, clocks: [] })
  const servers = logServers({ voters, log: { reconcileMs: 50 } })
  cluster.start(servers.server)
  /** The partition's Raft log length on `id` (the topic has one partition, so one group). */
  const lastIndex = (id: NodeId) => {
    const replica = [...(servers.node(id)?.log?.replicas().values() ?? [])][0]
    return replica === undefined ? Effect.die(`no replica on ${id}`) : Effect.map(replica.raft.status, (s) => s.lastIndex)
  }
  let seen: Seen | string | undefined
  cluster.startClients(() =>
    Effect.gen(function*() {
      // The client library creates the topic and, at the end, reads it; in between the test speaks the protocol
      // itself (the library's answer fiber is stopped with its scope, so the answers come to us).
      yield* Effect.scoped(Effect.flatMap(makeLogClient({ nodes: voters }), (client) =>
        Effect.andThen(client.createTopic({ name: "t", partitions: 1, replicationFactor: 3 }), client.produce("t", 0, batchOf(0)))))
      const network = yield* Network
      const send = (to: NodeId, requestId: number, body: LogRequestBody) => network.send(to, encodeLogRequest({ ...body, session, requestId }))
      const answers = (ids: ReadonlyArray<number>) =>
        Effect.gen(function*() {
          const got = new Map<number, LogResponse>()
          while (got.size < ids.length) {
            const r = parseLogResponse((yield* network.receive).payload)
            if (r !== undefined && ids.includes(r.requestId)) got.set(r.requestId, r)
          }
          return ids.map((id) => got.get(id)!)
        })
      // Append 1 through n1, applied; its answer is the one the client "lost".
      yield* send(n1, 1, produce(1, 101))
      const [first] = yield* answers([1])
      yield* send(n2, 2, produce(2, 102))
      const [other] = yield* answers([2])
      // The retry of append 1: a new request id, through another node.
      yield* send(n3, 3, produce(1, 101))
      const [retry] = yield* answers([3])
      // Two copies of append 3 at once (the network duplicated the request, or a retry overtook the attempt).
      const before = yield* lastIndex(n2)
      yield* send(n2, 4, produce(3, 103))
      yield* send(n2, 5, produce(3, 103))
      const copies = yield* answers([4, 5])
      const entriesForCopies = (yield* lastIndex(n2)) - before
      const fetched = yield* Effect.scoped(Effect.flatMap(makeLogClient({ nodes: voters }), (client) => client.fetch("t", 0, 0, 1 << 20)))
      seen = { first: first!, other: other!, retry: retry!, copies, entriesForCopies, records: recordsOf(fetched.batches) }
    }).pipe(Effect.catchCause((cause) => Effect.sync(() => (seen = String(cause)))))
  )
  runFor(cluster, 60_000)
  if (typeof seen !== "object") throw new Error(`the client did not finish: ${seen}`)
  return seen
}

describe("a produce's append id, over every attempt", () => {
  let ran: Seen | undefined
  const scenario = () => (ran ??= runScenario()) // one run, read by each test

  it("applies a plain batch once when a retry under a new request id follows an attempt applied but unanswered, answering the first attempt's offsets", () => {
    expect(scenario().first).toMatchObject({ kind: "produced", baseOffset: 1, lastOffset: 1, duplicate: false })
    expect(scenario().other).toMatchObject({ kind: "produced", baseOffset: 2, duplicate: false })
    expect(scenario().retry).toMatchObject({ kind: "produced", baseOffset: 1, lastOffset: 1, duplicate: true })
  })

  it("lets a copy that arrives while the first copy's proposal is in flight wait for that proposal", () => {
    expect(scenario().copies.map((r) => r.kind === "produced" ? [r.baseOffset, r.duplicate] : r)).toEqual([[3, false], [3, false]])
    expect(scenario().entriesForCopies).toBe(1)
  })

  it("holds each batch once, in order", () => {
    expect(scenario().records).toEqual([[0, 0], [1, 101], [2, 102], [3, 103]])
  })
})

/**
 * The log client producing one plain batch to a scripted node: its first produce attempt is refused
 * "not-leader" (nothing appended, so even a plain batch is retried), the next is answered. Returns each
 * produce attempt's (request id, append id) as the node saw them, and the outcome.
 */
const clientAttempts = () => {
  const cluster = new SimCluster({ random: seededSource("produce-append-id-client"), nodes: 1, clients: 1, disk: faultFreeDisk, network: faultFreeNetwork, clocks: [] })
  const attempts: Array<readonly [number, number]> = []
  cluster.start(() =>
    Effect.gen(function*() {
      const network = yield* Network
      const frames = makeFrameDemux(network)
      frames.register("log", [LOG_REQUEST_KIND], (from, _kind, body) => {
        const r = decodeLogRequest(body)
        let answer: LogResponseBody = errorBody("unknown-topic", "no topics here") // the client then tries every node it knows
        if (r.op === "produce") {
          attempts.push([r.requestId, r.append])
          answer = attempts.length === 1 ? errorBody("not-leader", "not yet") : { kind: "produced", baseOffset: 0, lastOffset: 0, duplicate: false }
        }
        return network.send(from, encodeLogResponse({ ...answer, requestId: r.requestId }))
      })
      return yield* frames.run
    })
  )
  let outcome: unknown
  cluster.startClients(() =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* makeLogClient({ nodes: [n1] })
      outcome = yield* client.produce("t", 0, batchOf(1))
    })).pipe(Effect.catchCause((cause) => Effect.sync(() => (outcome = String(cause)))))
  )
  runFor(cluster, 30_000)
  return { attempts, outcome }
}

describe("the log client's produce", () => {
  it("sends every attempt of one produce under its own request id and the same append id", () => {
    const { attempts, outcome } = clientAttempts()
    expect(outcome).toEqual({ baseOffset: 0, lastOffset: 0, duplicate: false })
    expect(attempts).toHaveLength(2)
    expect(attempts[1]![0]).not.toBe(attempts[0]![0])
    expect(attempts[1]![1]).toBe(attempts[0]![1])
  })
})
