import { Effect, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { GroupApiName } from "../broker/group-port.ts"
import { kafkaApis, type RequestOf, type ResponseOf } from "../protocol/api-table.ts"
import type { MessageSchema } from "../protocol/schema.ts"
import { arbitraryMessage } from "../protocol/arbitrary.test-support.ts"
import { encodeMessage } from "../protocol/message-codec.ts"
import { makeTestCoordinator } from "./coordinator-harness.test-support.ts"
import { MEMBER_ID_REQUIRED, NONE, NOT_COORDINATOR, UNKNOWN_MEMBER_ID } from "./error-codes.ts"
import { coordinatorOf } from "./placement.ts"
import { nodeId } from "../../node/node-id.ts"

const groupApis: ReadonlyArray<GroupApiName> = [
  "FindCoordinator",
  "JoinGroup",
  "SyncGroup",
  "Heartbeat",
  "LeaveGroup",
  "OffsetCommit",
  "OffsetFetch",
  "DescribeGroups",
  "ListGroups",
  "DeleteGroups"
]

const versionsOf = (api: GroupApiName) => {
  const entry = kafkaApis[api]
  return Array.from({ length: entry.maxVersion - entry.minVersion + 1 }, (_, i) => entry.minVersion + i)
}

/** Handles `body` on a fresh coordinator and encodes the answer in the request's version. */
const answerAndEncode = <N extends GroupApiName>(api: N, version: number, body: RequestOf<N>) =>
  Effect.gen(function*() {
    const { t, clock } = yield* makeTestCoordinator({ config: { initialRebalanceDelayMs: 0 } })
    const pending = yield* t.start(api, version, body)
    // Alone in a fresh group with no initial delay, even a join completes at once.
    yield* clock.advance(1_000)
    const answer = pending.answer()
    yield* t.close
    if (answer === undefined) return "no answer" as const
    // kafkaApis[api] is the entry of `api`; TypeScript cannot correlate the union.
    return encodeMessage(kafkaApis[api].response as MessageSchema<ResponseOf<N>>, version, answer)
  })

describe("every group API in every version", () => {
  for (const api of groupApis) {
    it(`${api}: a random request in each version is answered with a body that version can carry`, async () => {
      for (const version of versionsOf(api)) {
        await fc.assert(
          fc.asyncProperty(arbitraryMessage(kafkaApis[api].request as MessageSchema<RequestOf<typeof api>>, version), async (body) => {
            const encoded = await Effect.runPromise(answerAndEncode(api, version, body))
            if (encoded === "no answer") throw new Error(`${api} v${version}: no answer`)
            if (Result.isFailure(encoded)) throw new Error(`${api} v${version}: ${encoded.failure.message}`)
          }),
          { numRuns: 8 }
        )
      }
    })
  }
})

const join = (memberId: string): RequestOf<"JoinGroup"> => ({
  groupId: "g",
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  memberId,
  groupInstanceId: null,
  protocolType: "consumer",
  protocols: [{ name: "range", metadata: new Uint8Array([1]) }],
  reason: null
})

describe("error codes in the shape each version has", () => {
  it("JoinGroup asks for a member id first from v4 only; before v7 the protocol name is never null", async () => {
    await Effect.runPromise(
      Effect.gen(function*() {
        const { t, clock } = yield* makeTestCoordinator({ config: { initialRebalanceDelayMs: 0 } })
        const v4 = yield* t.call("JoinGroup", 4, join(""))
        expect([v4.errorCode, v4.memberId.length > 0, v4.protocolName]).toEqual([MEMBER_ID_REQUIRED, true, ""])
        const v9 = yield* t.call("JoinGroup", 9, { ...join("stranger"), groupId: "h" })
        expect([v9.errorCode, v9.protocolName]).toEqual([UNKNOWN_MEMBER_ID, null])
        const v3 = yield* t.start("JoinGroup", 3, { ...join(""), groupId: "k" })
        yield* clock.advance(0)
        expect(v3.answer()).toMatchObject({ errorCode: NONE, generationId: 1, protocolName: "range" })
        yield* t.close
      })
    )
  })

  it("LeaveGroup reports a member's error at the top before v3 and per member from v3", async () => {
    await Effect.runPromise(
      Effect.gen(function*() {
        const { t } = yield* makeTestCoordinator()
        const v0 = yield* t.call("LeaveGroup", 0, { groupId: "g", memberId: "m", members: [] })
        expect([v0.errorCode, v0.members]).toEqual([UNKNOWN_MEMBER_ID, []])
        const v3 = yield* t.call("LeaveGroup", 3, { groupId: "g", memberId: "", members: [{ memberId: "m", groupInstanceId: null, reason: null }] })
        expect([v3.errorCode, v3.members.map((m) => m.errorCode)]).toEqual([NONE, [UNKNOWN_MEMBER_ID]])
        yield* t.close
      })
    )
  })

  it("OffsetFetch reports NOT_COORDINATOR per partition (v0-1), at the top (v2-7) or per group (v8+); FindCoordinator per key from v4", async () => {
    await Effect.runPromise(
      Effect.gen(function*() {
        const nodes = ["n1", "n2"]
        const group = ["a", "b", "c", "d", "e"].find((g) => coordinatorOf(g, nodes.map(nodeId)) === "n2")!
        const { t } = yield* makeTestCoordinator({ self: "n1", nodes })
        const topics = [{ name: "t", partitionIndexes: [0] }]
        const v1 = yield* t.call("OffsetFetch", 1, { groupId: group, topics, groups: [], requireStable: false })
        expect(v1.topics[0]!.partitions[0]!.errorCode).toBe(NOT_COORDINATOR)
        const v5 = yield* t.call("OffsetFetch", 5, { groupId: group, topics, groups: [], requireStable: false })
        expect(v5.errorCode).toBe(NOT_COORDINATOR)
        const v8 = yield* t.call("OffsetFetch", 8, { groupId: "", topics: null, groups: [{ groupId: group, memberId: null, memberEpoch: -1, topics: null }], requireStable: false })
        expect(v8.groups.map((g) => g.errorCode)).toEqual([NOT_COORDINATOR])
        const f0 = yield* t.call("FindCoordinator", 0, { key: group, keyType: 0, coordinatorKeys: [] })
        expect([f0.errorCode, f0.nodeId, f0.port]).toEqual([NONE, 2, 19093])
        const f4 = yield* t.call("FindCoordinator", 4, { key: "", keyType: 0, coordinatorKeys: [group] })
        expect([f4.errorCode, f4.coordinators.map((c) => c.nodeId)]).toEqual([NONE, [2]])
        const other = yield* t.call("FindCoordinator", 4, { key: "", keyType: 7, coordinatorKeys: [group] })
        expect(other.coordinators.map((c) => c.errorCode)).toEqual([42])
        yield* t.close
      })
    )
  })
})
