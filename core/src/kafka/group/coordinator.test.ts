import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { manualClock } from "../../clock/manual-clock.test-support.ts"
import { localKv } from "../../kv/state-machine-kv.test-support.ts"
import type { RequestOf } from "../protocol/api-table.ts"
import { makeTestCoordinator, type TestCoordinator } from "./coordinator-harness.test-support.ts"
import {
  COORDINATOR_NOT_AVAILABLE,
  GROUP_ID_NOT_FOUND,
  ILLEGAL_GENERATION,
  MEMBER_ID_REQUIRED,
  NON_EMPTY_GROUP,
  NONE,
  NOT_COORDINATOR,
  REBALANCE_IN_PROGRESS,
  UNKNOWN_MEMBER_ID
} from "./error-codes.ts"
import { coordinatorOf } from "./placement.ts"
import { nodeId } from "../../node/node-id.ts"

const text = (s: string) => new TextEncoder().encode(s)
const untext = (b: Uint8Array) => new TextDecoder().decode(b)

const joinBody = (groupId: string, memberId: string, o: { instanceId?: string | null; sessionTimeoutMs?: number; protocol?: string } = {}): RequestOf<"JoinGroup"> => ({
  groupId,
  sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
  rebalanceTimeoutMs: 30_000,
  memberId,
  groupInstanceId: o.instanceId ?? null,
  protocolType: "consumer",
  protocols: [{ name: o.protocol ?? "range", metadata: text("topics=t") }],
  reason: null
})

const syncBody = (groupId: string, memberId: string, generationId: number, assignments: ReadonlyArray<readonly [string, string]> = [], instanceId: string | null = null): RequestOf<"SyncGroup"> => ({
  groupId,
  generationId,
  memberId,
  groupInstanceId: instanceId,
  protocolType: null,
  protocolName: null,
  assignments: assignments.map(([m, a]) => ({ memberId: m, assignment: text(a) }))
})

const heartbeatBody = (groupId: string, memberId: string, generationId: number, instanceId: string | null = null): RequestOf<"Heartbeat"> => ({
  groupId,
  generationId,
  memberId,
  groupInstanceId: instanceId
})

const commitBody = (groupId: string, memberId: string, generation: number, offsets: ReadonlyArray<readonly [number, number]>): RequestOf<"OffsetCommit"> => ({
  groupId,
  generationIdOrMemberEpoch: generation,
  memberId,
  groupInstanceId: null,
  retentionTimeMs: -1n,
  topics: [{ name: "t", partitions: offsets.map(([p, o]) => ({ partitionIndex: p, committedOffset: BigInt(o), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })) }]
})

const fetchBody = (groupId: string): RequestOf<"OffsetFetch"> => ({
  groupId: "",
  topics: null,
  groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }],
  requireStable: true
})

const commitCodes = (r: { readonly topics: ReadonlyArray<{ readonly partitions: ReadonlyArray<{ readonly errorCode: number }> }> }) =>
  r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))

/** Three consumers join (v5: MEMBER_ID_REQUIRED first), the leader assigns partitions 0..5 round the members. */
const formGroup = (t: TestCoordinator, advance: (ms: number) => Effect.Effect<void>, groupId: string, count: number) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    for (let i = 0; i < count; i++) {
      const first = yield* t.call("JoinGroup", 5, joinBody(groupId, ""), `consumer-${i}`)
      expect(first.errorCode).toBe(MEMBER_ID_REQUIRED)
      ids.push(first.memberId)
    }
    const joins = yield* Effect.forEach(ids, (id) => t.start("JoinGroup", 5, joinBody(groupId, id)))
    expect(joins.map((j) => j.answer())).toEqual(ids.map(() => undefined)) // the initial delay
    yield* advance(3_000)
    const answers = joins.map((j) => j.answer()!)
    const generation = answers[0]!.generationId
    const leader = answers[0]!.leader
    expect(answers.map((a) => a.errorCode)).toEqual(ids.map(() => NONE))
    const assignment = ids.map((id, i) => [id, [0, 1, 2, 3, 4, 5].filter((p) => p % count === i).join(",")] as const)
    const followers = yield* Effect.forEach(ids.filter((id) => id !== leader), (id) => t.start("SyncGroup", 3, syncBody(groupId, id, generation)))
    expect(followers.map((f) => f.answer())).toEqual(followers.map(() => undefined))
    const led = yield* t.call("SyncGroup", 3, syncBody(groupId, leader, generation, assignment))
    expect(led.errorCode).toBe(NONE)
    const got = new Map([[leader, untext(led.assignment)], ...ids.filter((id) => id !== leader).map((id, i) => [id, untext(followers[i]!.answer()!.assignment)] as const)])
    return { ids, generation, leader, assignment: ids.map((id) => got.get(id)!) }
  })

const run = <A>(body: Effect.Effect<A>) => Effect.runPromise(body)

describe("the group coordinator over the wire", () => {
  it("three consumers join, commit, one leaves, the partitions are reassigned, and the leaver's and old generation's commits are fenced", async () => {
    await run(
      Effect.gen(function*() {
        const { t, clock } = yield* makeTestCoordinator()
        const g = yield* formGroup(t, clock.advance, "orders", 3)
        expect(g.generation).toBe(1)
        expect(g.assignment).toEqual(["0,3", "1,4", "2,5"])
        expect(commitCodes(yield* t.call("OffsetCommit", 7, commitBody("orders", g.ids[1]!, 1, [[1, 10], [4, 40]])))).toEqual([NONE, NONE])
        const left = yield* t.call("LeaveGroup", 3, { groupId: "orders", memberId: "", members: [{ memberId: g.ids[2]!, groupInstanceId: null, reason: null }] })
        expect(left.members.map((m) => m.errorCode)).toEqual([NONE])
        expect((yield* t.call("Heartbeat", 3, heartbeatBody("orders", g.ids[0]!, 1))).errorCode).toBe(REBALANCE_IN_PROGRESS)
        const rejoin = yield* Effect.forEach([g.ids[0]!, g.ids[1]!], (id) => t.start("JoinGroup", 5, joinBody("orders", id)))
        const [a0, a1] = rejoin.map((j) => j.answer()!)
        expect([a0!.generationId, a1!.generationId]).toEqual([2, 2])
        expect(a0!.members.map((m) => m.memberId)).toEqual([g.ids[0], g.ids[1]])
        const follower = yield* t.start("SyncGroup", 3, syncBody("orders", g.ids[1]!, 2))
        yield* t.call("SyncGroup", 3, syncBody("orders", g.ids[0]!, 2, [[g.ids[0]!, "0,1,2"], [g.ids[1]!, "3,4,5"]]))
        expect(untext(follower.answer()!.assignment)).toBe("3,4,5")
        expect(commitCodes(yield* t.call("OffsetCommit", 7, commitBody("orders", g.ids[2]!, 1, [[2, 99]])))).toEqual([UNKNOWN_MEMBER_ID])
        expect(commitCodes(yield* t.call("OffsetCommit", 7, commitBody("orders", g.ids[1]!, 1, [[4, 41]])))).toEqual([ILLEGAL_GENERATION])
        expect(commitCodes(yield* t.call("OffsetCommit", 7, commitBody("orders", g.ids[1]!, 2, [[4, 44]])))).toEqual([NONE])
        const fetched = yield* t.call("OffsetFetch", 8, fetchBody("orders"))
        const offsets = fetched.groups[0]!.topics[0]!.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)])
        expect(offsets).toEqual([[1, 10], [4, 44]])
        expect(t.coordinator.registry.parked()).toBe(0)
        yield* t.close
      })
    )
  })

  it("expires a silent member on the coordinator's clock and tells the others to rejoin", async () => {
    await run(
      Effect.gen(function*() {
        const { t, clock } = yield* makeTestCoordinator()
        const g = yield* formGroup(t, clock.advance, "g", 2)
        for (let i = 0; i < 3; i++) {
          yield* clock.advance(3_000)
          expect((yield* t.call("Heartbeat", 4, heartbeatBody("g", g.ids[0]!, 1))).errorCode).toBe(NONE)
        }
        yield* clock.advance(2_000)
        const d = yield* t.call("DescribeGroups", 5, { groups: ["g"], includeAuthorizedOperations: false })
        expect(d.groups[0]!.groupState).toBe("PreparingRebalance")
        expect(d.groups[0]!.members.map((m) => m.memberId)).toEqual([g.ids[0]])
        expect((yield* t.call("Heartbeat", 4, heartbeatBody("g", g.ids[1]!, 1))).errorCode).toBe(UNKNOWN_MEMBER_ID)
        expect((yield* t.call("Heartbeat", 4, heartbeatBody("g", g.ids[0]!, 1))).errorCode).toBe(REBALANCE_IN_PROGRESS)
        yield* t.close
      })
    )
  })

  it("a new coordinator over the same KV (a failover) keeps the generation, members, assignments and offsets", async () => {
    await run(
      Effect.gen(function*() {
        const kv = localKv()
        const first = yield* makeTestCoordinator({ kv, seed: 1 })
        const g = yield* formGroup(first.t, first.clock.advance, "g", 3)
        yield* first.t.call("OffsetCommit", 8, commitBody("g", g.ids[0]!, 1, [[0, 7]]))
        yield* first.t.close
        // The next coordinator has its own clock (another node's): sessions start afresh there.
        const second = yield* makeTestCoordinator({ kv, seed: 2, clock: manualClock(5_000_000) })
        for (const id of g.ids) expect((yield* second.t.call("Heartbeat", 4, heartbeatBody("g", id, 1))).errorCode).toBe(NONE)
        expect(commitCodes(yield* second.t.call("OffsetCommit", 8, commitBody("g", g.ids[2]!, 1, [[2, 20]])))).toEqual([NONE])
        const d = (yield* second.t.call("DescribeGroups", 5, { groups: ["g"], includeAuthorizedOperations: false })).groups[0]!
        expect(d.groupState).toBe("Stable")
        expect(d.protocolData).toBe("range")
        expect(d.members.map((m) => untext(m.memberAssignment))).toEqual(g.assignment)
        const fetched = yield* second.t.call("OffsetFetch", 8, fetchBody("g"))
        expect(fetched.groups[0]!.topics[0]!.partitions.map((p) => Number(p.committedOffset))).toEqual([7, 20])
        // A member that rejoins with the same metadata is not made to rebalance.
        const again = yield* second.t.call("JoinGroup", 5, joinBody("g", g.ids[1]!))
        expect([again.errorCode, again.generationId]).toEqual([NONE, 1])
        yield* second.t.close
      })
    )
  })

  it("a coordinator that failed over before the leader's assignment was stored makes the members rejoin into a new generation", async () => {
    await run(
      Effect.gen(function*() {
        const kv = localKv()
        const first = yield* makeTestCoordinator({ kv, seed: 1 })
        // v3: no MEMBER_ID_REQUIRED, both wait at the barrier for the initial delay.
        const joins = yield* Effect.forEach([0, 1], () => first.t.start("JoinGroup", 3, joinBody("g", "")))
        yield* first.clock.advance(3_000)
        const other = joins[1]!.answer()!
        expect([other.errorCode, other.generationId]).toEqual([NONE, 1])
        yield* first.t.close
        const second = yield* makeTestCoordinator({ kv, seed: 2 })
        expect((yield* second.t.call("Heartbeat", 2, heartbeatBody("g", other.memberId, 1))).errorCode).toBe(REBALANCE_IN_PROGRESS)
        expect((yield* second.t.call("SyncGroup", 2, syncBody("g", other.memberId, 1))).errorCode).toBe(REBALANCE_IN_PROGRESS)
        yield* second.t.close
      })
    )
  })

  it("of two coordinators that both think they coordinate a group, only one completes a rebalance; the other tells its members to find the coordinator again", async () => {
    await run(
      Effect.gen(function*() {
        const kv = localKv()
        const a = yield* makeTestCoordinator({ kv, seed: 1 })
        const b = yield* makeTestCoordinator({ kv, seed: 2 })
        const ja = yield* a.t.start("JoinGroup", 3, joinBody("g", ""))
        const jb = yield* b.t.start("JoinGroup", 3, joinBody("g", ""))
        yield* a.clock.advance(3_000)
        expect(ja.answer()!.errorCode).toBe(NONE)
        yield* b.clock.advance(3_000)
        expect(jb.answer()!.errorCode).toBe(NOT_COORDINATOR)
        yield* a.t.close
        yield* b.t.close
      })
    )
  })

  it("a coordinator whose copy of a group is older than the KV's refuses commits by it (NOT_COORDINATOR) instead of judging them by an old generation", async () => {
    await run(
      Effect.gen(function*() {
        const kv = localKv()
        const a = yield* makeTestCoordinator({ kv, seed: 1 })
        const g = yield* formGroup(a.t, a.clock.advance, "g", 1)
        // Node b also takes itself for the coordinator: it loads the group and rebalances it into generation 2.
        const b = yield* makeTestCoordinator({ kv, seed: 2 })
        expect((yield* b.t.call("Heartbeat", 4, heartbeatBody("g", g.ids[0]!, 1))).errorCode).toBe(NONE)
        expect((yield* b.t.call("JoinGroup", 5, joinBody("g", g.ids[0]!))).generationId).toBe(2)
        expect(commitCodes(yield* a.t.call("OffsetCommit", 8, commitBody("g", g.ids[0]!, 1, [[0, 5]])))).toEqual([NOT_COORDINATOR])
        // a dropped its copy: it loads generation 2 from the KV and judges the next commit by it.
        expect(commitCodes(yield* a.t.call("OffsetCommit", 8, commitBody("g", g.ids[0]!, 1, [[0, 5]])))).toEqual([ILLEGAL_GENERATION])
        yield* a.t.close
        yield* b.t.close
      })
    )
  })

  it("answers NOT_COORDINATOR for groups another node coordinates, and FindCoordinator names the same broker from every node", async () => {
    await run(
      Effect.gen(function*() {
        const nodes = ["n1", "n2", "n3"]
        const groups = ["a", "b", "c", "d", "e", "f"]
        const owner = (group: string) => coordinatorOf(group, nodes.map(nodeId))!
        expect(new Set(groups.map(owner)).size).toBeGreaterThan(1)
        const kv = localKv()
        const cs = yield* Effect.forEach(nodes, (self, i) => makeTestCoordinator({ kv, self, nodes, seed: i + 1 }))
        for (const group of groups) {
          const found = yield* Effect.forEach(cs, (c) => c.t.call("FindCoordinator", 2, { key: group, keyType: 0, coordinatorKeys: [] }))
          expect(new Set(found.map((f) => f.nodeId))).toEqual(new Set([nodes.indexOf(owner(group)) + 1]))
          const batched = yield* cs[0]!.t.call("FindCoordinator", 4, { key: "", keyType: 0, coordinatorKeys: [group, group] })
          expect(batched.coordinators.map((c) => [c.nodeId, c.port, c.errorCode])).toEqual([0, 1].map(() => [nodes.indexOf(owner(group)) + 1, 19092 + nodes.indexOf(owner(group)), NONE]))
          for (const [i, c] of cs.entries()) {
            const code = (yield* c.t.call("Heartbeat", 1, heartbeatBody(group, "m", 1))).errorCode
            expect(code).toBe(nodes[i] === owner(group) ? UNKNOWN_MEMBER_ID : NOT_COORDINATOR)
          }
        }
        const txn = yield* cs[0]!.t.call("FindCoordinator", 3, { key: "tx", keyType: 1, coordinatorKeys: [] })
        expect(txn.errorCode).toBe(COORDINATOR_NOT_AVAILABLE)
        for (const c of cs) yield* c.t.close
      })
    )
  })

  it("deletes only empty groups, with their offsets; lists groups by state", async () => {
    await run(
      Effect.gen(function*() {
        const { t, clock } = yield* makeTestCoordinator()
        const g = yield* formGroup(t, clock.advance, "busy", 1)
        yield* t.call("OffsetCommit", 2, commitBody("simple", "", -1, [[0, 5]]))
        const listed = yield* t.call("ListGroups", 4, { statesFilter: ["stable"], typesFilter: [] })
        expect(listed.groups.map((x) => x.groupId)).toEqual(["busy"])
        const all = yield* t.call("ListGroups", 0, { statesFilter: [], typesFilter: [] })
        expect(all.groups.map((x) => [x.groupId, x.protocolType]).sort()).toEqual([["busy", "consumer"], ["simple", ""]])
        const first = yield* t.call("DeleteGroups", 2, { groupsNames: ["busy", "simple", "nothing"] })
        expect(first.results.map((r) => r.errorCode)).toEqual([NON_EMPTY_GROUP, NONE, GROUP_ID_NOT_FOUND])
        const gone = yield* t.call("OffsetFetch", 8, fetchBody("simple"))
        expect(gone.groups[0]!.topics).toEqual([])
        yield* t.call("LeaveGroup", 1, { groupId: "busy", memberId: g.ids[0]!, members: [] })
        const second = yield* t.call("DeleteGroups", 1, { groupsNames: ["busy"] })
        expect(second.results.map((r) => r.errorCode)).toEqual([NONE])
        expect((yield* t.call("ListGroups", 3, { statesFilter: [], typesFilter: [] })).groups).toEqual([])
        yield* t.close
      })
    )
  })

  it("forgets a parked JoinGroup whose client went away; the barrier still completes for the member", async () => {
    await run(
      Effect.gen(function*() {
        const { t, clock } = yield* makeTestCoordinator()
        const gone = yield* t.start("JoinGroup", 3, joinBody("g", ""))
        const stays = yield* t.start("JoinGroup", 3, joinBody("g", ""))
        expect(t.coordinator.registry.parked()).toBe(2)
        yield* gone.interrupt
        expect(t.coordinator.registry.parked()).toBe(1)
        yield* clock.advance(3_000)
        // The departed client's member joined the barrier before it went: it is in generation 1 until its session lapses.
        expect(stays.answer()).toMatchObject({ errorCode: NONE, generationId: 1 })
        expect(t.coordinator.registry.parked()).toBe(0)
        yield* t.close
      })
    )
  })

  it("answers COORDINATOR_NOT_AVAILABLE when the KV cannot be read, and serves again once it can", async () => {
    await run(
      Effect.gen(function*() {
        const kv = localKv()
        const { t } = yield* makeTestCoordinator({ kv })
        kv.failNext(1)
        expect((yield* t.call("Heartbeat", 4, heartbeatBody("g", "m", 1))).errorCode).toBe(COORDINATOR_NOT_AVAILABLE)
        expect((yield* t.call("Heartbeat", 4, heartbeatBody("g", "m", 1))).errorCode).toBe(UNKNOWN_MEMBER_ID)
        yield* t.close
      })
    )
  })
})
