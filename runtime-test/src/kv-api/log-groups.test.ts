/**
 * The log API's consumer-group reads (`GET /v1/log/groups`, `/v1/log/groups/{group}`) over a real one-node
 * KV (runtime-test services) holding a coordinator's group record and committed offsets, with a stand-in log
 * client whose partitions end where the test says: each group's state, assignor, members and their
 * partitions (decoded from the consumer protocol's bytes, built here by hand), each partition's committed
 * offset, high watermark and lag, a topic's readers, and bad input refused with a 4xx that says why.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { Clock } from "@cairn/core/clock/clock"
import { encodeGroupRecord } from "@cairn/core/kafka/group/group-record"
import { groupKey } from "@cairn/core/kafka/group/group-store"
import type { KvClient } from "@cairn/core/kv/client"
import type { GroupsView, GroupView } from "@cairn/core/kv-api/log-views"
import { makeConsumerOffsets } from "@cairn/core/log/service/consumer-offsets"
import type { Digest } from "@cairn/core/s3/digest"
import { ADMIN, type Api, json, withLogApi } from "./log-api-harness.test-support.ts"

const encoder = new TextEncoder()

/** ConsumerProtocolAssignment v0 written by hand: int16 version, topics (int16 string, int32 partitions), null user data. */
const assignment = (topics: ReadonlyArray<readonly [string, ReadonlyArray<number>]>): Uint8Array => {
  const parts: Array<number> = [0, 0, ...int32(topics.length)]
  for (const [topic, partitions] of topics) {
    const name = encoder.encode(topic)
    parts.push(name.length >> 8, name.length & 0xff, ...name, ...int32(partitions.length))
    for (const p of partitions) parts.push(...int32(p))
  }
  return new Uint8Array([...parts, 0xff, 0xff, 0xff, 0xff])
}
function int32(n: number): Array<number> {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
}

/** Group "billing" (Stable, generation 3, one member on orders/0-1) with its offsets, and "audit", known by an offset only. */
const seedGroups = (client: KvClient): Effect.Effect<void, never, Clock> =>
  Effect.gen(function*() {
    yield* Effect.orDie(client.write({
      op: "put",
      key: groupKey("billing"),
      value: encodeGroupRecord({
        state: "Stable",
        generation: 3,
        protocolType: "consumer",
        protocolName: "range",
        leader: "m-1",
        members: [{
          memberId: "m-1",
          instanceId: null,
          clientId: "billing-app",
          clientHost: "/10.0.0.7",
          sessionTimeoutMs: 45_000,
          rebalanceTimeoutMs: 60_000,
          protocols: [{ name: "range", metadata: new Uint8Array(0) }],
          assignment: assignment([["orders", [0, 1]]])
        }]
      })
    }))
    const offsets = makeConsumerOffsets(client)
    const commit = (group: string, topic: string, partition: number, offset: number) =>
      Effect.orDie(offsets.commit(group, topic, partition, { offset, metadata: "m", committer: "t", seq: offset }))
    yield* commit("billing", "orders", 0, 4)
    yield* commit("billing", "clicks", 0, 9)
    yield* commit("audit", "gone", 0, 3)
    // "idle": its consumers left; the coordinator stored it Empty, offsets kept.
    yield* Effect.orDie(client.write({
      op: "put",
      key: groupKey("idle"),
      value: encodeGroupRecord({ state: "Empty", generation: 7, protocolType: "consumer", protocolName: null, leader: null, members: [] })
    }))
    yield* commit("idle", "orders", 1, 2)
  })

const withGroups = (test: (api: Api) => Effect.Effect<void, never, Clock | Digest>) => withLogApi(seedGroups, (api) => test(api))

describe("the log API: consumer groups", () => {
  it("lists every group with its state, assignor, members' partitions, offsets, high watermarks and lag", () =>
    withGroups((api) =>
      Effect.gen(function*() {
        const r = yield* api("/v1/log/groups")
        expect(r.status).toBe(200)
        const { groups } = json(r) as unknown as GroupsView
        expect(groups.map((g) => g.group)).toEqual(["audit", "billing", "idle"])
        const billing = groups[1]!
        expect([billing.state, billing.protocolType, billing.protocol, billing.generation, billing.leader]).toEqual(["Stable", "consumer", "range", 3, "m-1"])
        expect(billing.members).toEqual([{ memberId: "m-1", instanceId: null, clientId: "billing-app", clientHost: "/10.0.0.7", assignment: [{ topic: "orders", partitions: [0, 1] }] }])
        // clicks/0 committed past its end (9 > 7): the lag is never below 0. orders/1 is assigned, nothing committed: no lag.
        expect(billing.partitions).toEqual([
          { topic: "clicks", partition: 0, offset: 9, metadata: "m", highWatermark: 7, lag: 0, memberId: null },
          { topic: "orders", partition: 0, offset: 4, metadata: "m", highWatermark: 10, lag: 6, memberId: "m-1" },
          { topic: "orders", partition: 1, offset: null, metadata: "", highWatermark: 5, lag: null, memberId: "m-1" }
        ])
        expect(billing.totalLag).toBe(6)
        // Known by offsets only; its topic is gone: the offset stays, the lag says why it is missing.
        const audit = groups[0]!
        expect([audit.state, audit.members, audit.generation, audit.totalLag]).toEqual(["Empty", [], 0, 0])
        expect(audit.partitions).toEqual([{ topic: "gone", partition: 0, offset: 3, metadata: "m", highWatermark: null, lag: null, memberId: null, error: "unknown-topic: no topic gone" }])
      })))

  it("keeps a topic's readers only, with that topic's partitions", () =>
    withGroups((api) =>
      Effect.gen(function*() {
        const { groups } = json(yield* api("/v1/log/groups?topic=orders")) as unknown as GroupsView
        expect(groups.map((g) => [g.group, g.partitions.map((p) => `${p.topic}/${p.partition}`), g.totalLag])).toEqual([["billing", ["orders/0", "orders/1"], 6], ["idle", ["orders/1"], 3]])
        expect((json(yield* api("/v1/log/groups?topic=nobody-reads")) as unknown as GroupsView).groups).toEqual([])
      })))

  it("describes one group, and answers an unknown one 404", () =>
    withGroups((api) =>
      Effect.gen(function*() {
        const one = yield* api("/v1/log/groups/billing")
        expect([one.status, (json(one) as unknown as GroupView).totalLag]).toEqual([200, 6])
        const missing = yield* api("/v1/log/groups/nobody")
        expect([missing.status, json(missing).error]).toEqual([404, "unknown-group"])
      })))

  it("deletes an Empty group and its offsets with the admin's key; refuses a group with members, another key, an unknown group", () =>
    withGroups((api) =>
      Effect.gen(function*() {
        const del = (group: string, caller = ADMIN) => api(`/v1/log/groups/${group}`, { method: "DELETE", caller })
        const bob = yield* api("/v1/log/groups/idle", { method: "DELETE" })
        expect([bob.status, json(bob).error]).toEqual([403, "forbidden"])
        const busy = yield* del("billing")
        expect([busy.status, json(busy).error]).toEqual([409, "non-empty-group"])
        expect(json(busy).message).toContain("stop its consumers")
        const idle = yield* del("idle")
        expect([idle.status, json(idle)]).toEqual([200, { deleted: "idle", offsets: 1 }])
        const audit = yield* del("audit")
        expect([audit.status, json(audit)]).toEqual([200, { deleted: "audit", offsets: 1 }])
        for (const gone of ["idle", "audit"]) expect((yield* api(`/v1/log/groups/${gone}`)).status).toBe(404)
        // The refused group is untouched, its offsets too.
        const { groups } = json(yield* api("/v1/log/groups")) as unknown as GroupsView
        expect(groups.map((g) => [g.group, g.partitions.filter((p) => p.offset !== null).length])).toEqual([["billing", 2]])
        const unknown = yield* del("nobody")
        expect([unknown.status, json(unknown).error]).toEqual([404, "unknown-group"])
      })))

  it("refuses bad input with a 4xx that says why", () =>
    withGroups((api) =>
      Effect.gen(function*() {
        const badTopic = yield* api("/v1/log/groups?topic=no%20spaces")
        expect([badTopic.status, json(badTopic).error]).toEqual([400, "bad-topic"])
        expect(json(badTopic).message).toContain("A-Z a-z 0-9")
        const badGroup = yield* api(`/v1/log/groups/${"g".repeat(256)}`)
        expect([badGroup.status, json(badGroup).error]).toEqual([400, "bad-group"])
        const badEscape = yield* api("/v1/log/groups/%E0%A4%A")
        expect([badEscape.status, json(badEscape).error]).toEqual([400, "bad-path"])
        const post = yield* api("/v1/log/groups", { method: "POST" })
        expect([post.status, json(post).error]).toEqual([405, "method-not-allowed"])
      })))
})
