/**
 * The group coordinator (`core/src/kafka/group/`) on the simulator: behind
 * the broker's `handleFrame` (every request and answer through the codec),
 * over the real Raft KV of a simulated 3-node cluster reached through the
 * KV client on the simulated network, with its timer on virtual time.
 * Three consumers join (blocking JoinGroups released by the barrier), the
 * leader assigns, they commit; one goes silent and is expired by its
 * session timeout, the others rejoin into the next generation; the old
 * generation's commits are fenced; then a second coordinator over the same
 * KV (a failover) carries the group on at its generation.
 */
import { Clock, nodeId } from "@cairn/core"
import type { Broker, BrokerLog } from "@cairn/core/kafka/broker/broker-log"
import type { BrokerDirectory } from "@cairn/core/kafka/broker/group-port"
import { handleFrame } from "@cairn/core/kafka/broker/handle-frame"
import { ConnectionState } from "@cairn/core/kafka/broker/sasl"
import { makeGroupCoordinator } from "@cairn/core/kafka/group/coordinator"
import type { ApiName, RequestOf, ResponseOf } from "@cairn/core/kafka/protocol/api-table"
import { decodeResponse, encodeRequest } from "@cairn/core/kafka/protocol/request"
import { makeKvClient } from "@cairn/core/kv/client"
import { seededSource } from "@cairn/runtime-test"
import { Effect, Fiber, Result } from "effect"
import { expect, it } from "vitest"
import { SimCluster } from "../cluster.ts"
import { faultFreeDisk } from "../disk.ts"
import { runFor } from "../harness.test-support.ts"
import { logServers } from "../log/log-cluster.ts"
import { faultFreeNetwork } from "../network.ts"

const voters = [nodeId("n1"), nodeId("n2"), nodeId("n3")]
const address = { brokerId: 1, host: "n1.test", port: 9092, rack: null }
const directory: BrokerDirectory = {
  self: voters[0]!,
  brokers: Effect.succeed([{ node: voters[0]!, address }]),
  brokerOf: (node) => Effect.succeed(node === voters[0] ? address : undefined)
}
const noLog = {} as BrokerLog // the group APIs never touch the log

const text = (s: string) => new TextEncoder().encode(s)
const join = (memberId: string): RequestOf<"JoinGroup"> => ({
  groupId: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, memberId, groupInstanceId: null, protocolType: "consumer",
  protocols: [{ name: "cooperative-sticky", metadata: text("t") }], reason: null
})
const sync = (memberId: string, generationId: number, assignments: ReadonlyArray<readonly [string, string]> = []): RequestOf<"SyncGroup"> => ({
  groupId: "g", generationId, memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "cooperative-sticky",
  assignments: assignments.map(([m, a]) => ({ memberId: m, assignment: text(a) }))
})
const commit = (memberId: string, generation: number, offset: number): RequestOf<"OffsetCommit"> => ({
  groupId: "g", generationIdOrMemberEpoch: generation, memberId, groupInstanceId: null, retentionTimeMs: -1n,
  topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: BigInt(offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: "" }] }]
})

it("three consumers join, commit, one is expired on virtual time, the rest rebalance, and a second coordinator carries the group on", () => {
  const cluster = new SimCluster({ random: seededSource("kafka-groups"), nodes: 3, clients: 1, disk: faultFreeDisk, network: faultFreeNetwork, clocks: [] })
  const servers = logServers({ voters, log: { reconcileMs: 50 } })
  cluster.start(servers.server)
  const seen: Array<string> = []
  let finished = false
  let failure: string | undefined
  cluster.startClients(() =>
    Effect.scoped(Effect.gen(function*() {
      const clock = yield* Clock
      const kv = yield* makeKvClient({ clientId: "groups", nodes: voters, deadlineMs: 20_000 })
      const coordinatorOn = (config = { initialRebalanceDelayMs: 1_000 }) =>
        Effect.map(makeGroupCoordinator({ kv, directory, config }), (groups): Broker => ({ log: noLog, directory, groups, clusterId: "sim" }))
      let correlationId = 0
      const connection = new ConnectionState("c1", false)
      const call = <N extends ApiName>(broker: Broker, api: N, version: number, body: RequestOf<N>) =>
        Effect.gen(function*() {
          const frame = Result.getOrThrow(encodeRequest(api, version, { correlationId: ++correlationId, clientId: "c" }, body))
          const out = yield* handleFrame(broker, frame.subarray(4), connection)
          if (out._tag !== "Respond") throw new Error(`no answer: ${out._tag}`)
          return Result.getOrThrow(decodeResponse(api, version, out.frame.subarray(4))).body as ResponseOf<N>
        })
      yield* clock.sleep(3_000) // the KV elects a leader
      const a = yield* coordinatorOn()
      const ids = yield* Effect.forEach([0, 1, 2], () => Effect.map(call(a, "JoinGroup", 5, join("")), (r) => r.memberId))
      const joins = yield* Effect.forEach(ids, (id) => Effect.forkChild(call(a, "JoinGroup", 5, join(id))))
      const joined = yield* Effect.forEach(joins, Fiber.join)
      expect(joined.map((j) => [j.errorCode, j.generationId, j.protocolName])).toEqual(ids.map(() => [0, 1, "cooperative-sticky"]))
      const leader = joined[0]!.leader
      const followers = yield* Effect.forEach(ids.filter((id) => id !== leader), (id) => Effect.forkChild(call(a, "SyncGroup", 5, sync(id, 1))))
      yield* call(a, "SyncGroup", 5, sync(leader, 1, ids.map((id, i) => [id, `p${i}`])))
      seen.push(...(yield* Effect.forEach(followers, Fiber.join)).map((s) => new TextDecoder().decode(s.assignment)))
      expect((yield* call(a, "OffsetCommit", 8, commit(ids[1]!, 1, 10))).topics[0]!.partitions[0]!.errorCode).toBe(0)
      // ids[2] goes silent; the other two heartbeat each second until told to rejoin.
      let code = 0
      while (code === 0) {
        yield* clock.sleep(1_000)
        code = (yield* call(a, "Heartbeat", 4, { groupId: "g", generationId: 1, memberId: ids[0]!, groupInstanceId: null })).errorCode
        yield* call(a, "Heartbeat", 4, { groupId: "g", generationId: 1, memberId: ids[1]!, groupInstanceId: null })
      }
      expect(code).toBe(27) // REBALANCE_IN_PROGRESS
      const rejoined = yield* Effect.forEach(yield* Effect.forEach([ids[0]!, ids[1]!], (id) => Effect.forkChild(call(a, "JoinGroup", 5, join(id)))), Fiber.join)
      expect(rejoined.map((j) => j.generationId)).toEqual([2, 2])
      const follower = yield* Effect.forkChild(call(a, "SyncGroup", 5, sync(ids[1]!, 2)))
      yield* call(a, "SyncGroup", 5, sync(ids[0]!, 2, [[ids[0]!, "p0,p2"], [ids[1]!, "p1"]]))
      seen.push(new TextDecoder().decode((yield* Fiber.join(follower)).assignment))
      expect((yield* call(a, "OffsetCommit", 8, commit(ids[2]!, 1, 99))).topics[0]!.partitions[0]!.errorCode).toBe(25) // UNKNOWN_MEMBER_ID
      expect((yield* call(a, "OffsetCommit", 8, commit(ids[1]!, 1, 99))).topics[0]!.partitions[0]!.errorCode).toBe(22) // ILLEGAL_GENERATION
      expect((yield* call(a, "OffsetCommit", 8, commit(ids[1]!, 2, 12))).topics[0]!.partitions[0]!.errorCode).toBe(0)
      // A second coordinator over the same KV: the group goes on at generation 2 with its offsets.
      const b = yield* coordinatorOn()
      expect((yield* call(b, "Heartbeat", 4, { groupId: "g", generationId: 2, memberId: ids[0]!, groupInstanceId: null })).errorCode).toBe(0)
      const fetched = yield* call(b, "OffsetFetch", 8, { groupId: "", topics: [], groups: [{ groupId: "g", memberId: null, memberEpoch: -1, topics: null }], requireStable: false })
      expect(fetched.groups[0]!.topics[0]!.partitions.map((p) => Number(p.committedOffset))).toEqual([12])
      finished = true
    })).pipe(Effect.catchCause((cause) => Effect.sync(() => (failure = String(cause)))))
  )
  runFor(cluster, 120_000)
  expect(failure).toBeUndefined()
  expect(finished).toBe(true)
  expect(seen).toEqual(["p1", "p2", "p1"])
})
