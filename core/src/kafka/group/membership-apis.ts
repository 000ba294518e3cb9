/**
 * The membership APIs on the wire: JoinGroup, SyncGroup, Heartbeat and
 * LeaveGroup, each decoded into an input of the group's state machine,
 * run under the group's lock, and answered in the request's version.
 * JoinGroup and SyncGroup answers may wait for the barrier (a Deferred
 * resolved by a later transition); the others answer at once.
 */
import { Effect } from "effect"
import type { RandomShape } from "../../random/random.ts"
import type { GroupRequestContext } from "../broker/group-port.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { INVALID_GROUP_ID, NONE, NOT_COORDINATOR, UNKNOWN_MEMBER_ID, type ErrorCode } from "./error-codes.ts"
import { newGroup } from "./group.ts"
import { validGroupId } from "./group-id.ts"
import type { GroupRegistry } from "./group-registry.ts"
import { join } from "./join.ts"
import { heartbeat, leave, type Leaver } from "./membership.ts"
import { joinBody, syncBody } from "./responses.ts"
import { joinError, syncError } from "./step.ts"
import { sync } from "./sync.ts"

export interface MembershipDeps {
  readonly registry: GroupRegistry
  readonly owns: (groupId: string) => Effect.Effect<boolean>
  readonly random: RandomShape
}

const hex = (random: RandomShape) =>
  Effect.map(Effect.all([random.nextUint32, random.nextUint32]), ([a, b]) => `${a.toString(16).padStart(8, "0")}${b.toString(16).padStart(8, "0")}`)

export const makeMembershipApis = (deps: MembershipDeps) => {
  const { registry } = deps

  const joinGroup = (body: RequestOf<"JoinGroup">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"JoinGroup">> =>
    Effect.gen(function*() {
      const v = ctx.apiVersion
      const refuse = (code: ErrorCode) => joinBody(joinError(body.memberId, code), v)
      if (!validGroupId(body.groupId, false)) return refuse(INVALID_GROUP_ID)
      if (!(yield* deps.owns(body.groupId))) return refuse(NOT_COORDINATOR)
      // A member id is `<client id or instance id>-<random>`, as Kafka's (which uses a UUID).
      const newMemberId = body.memberId === "" ? `${body.groupInstanceId ?? ctx.clientId}-${yield* hex(deps.random)}` : ""
      const waiter = registry.joinWaiter(body.memberId)
      const input = {
        memberId: body.memberId,
        instanceId: v >= 5 ? body.groupInstanceId : null,
        clientId: ctx.clientId,
        clientHost: ctx.clientHost,
        sessionTimeoutMs: body.sessionTimeoutMs,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalanceTimeoutMs: v >= 1 ? body.rebalanceTimeoutMs : body.sessionTimeoutMs,
        protocolType: body.protocolType,
        protocols: body.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
        requireKnownMemberId: v >= 4,
        newMemberId,
        waiter: waiter.id
      }
      const started = yield* registry.withGroup(
        body.groupId,
        (slot) => {
          if (slot.group === undefined && body.memberId !== "") return Effect.succeed<ErrorCode>(UNKNOWN_MEMBER_ID)
          const g = slot.group ?? newGroup(body.groupId)
          return Effect.map(slot.run(g, (g, step) => join(g, input, step)), (r) => (r.ok ? NONE : r.code))
        },
        (code) => code
      )
      if (started !== NONE) {
        yield* waiter.cancel
        return refuse(started)
      }
      return joinBody(yield* waiter.result, v)
    })

  const syncGroup = (body: RequestOf<"SyncGroup">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"SyncGroup">> =>
    Effect.gen(function*() {
      const v = ctx.apiVersion
      const refuse = (code: ErrorCode) => syncBody(syncError(code), v)
      if (!validGroupId(body.groupId, false)) return refuse(INVALID_GROUP_ID)
      if (!(yield* deps.owns(body.groupId))) return refuse(NOT_COORDINATOR)
      const waiter = registry.syncWaiter()
      const input = {
        memberId: body.memberId,
        instanceId: v >= 3 ? body.groupInstanceId : null,
        generation: body.generationId,
        protocolType: v >= 5 ? body.protocolType : null,
        protocolName: v >= 5 ? body.protocolName : null,
        assignments: body.assignments,
        waiter: waiter.id
      }
      const started = yield* registry.withGroup(
        body.groupId,
        (slot) => {
          if (slot.group === undefined) return Effect.succeed<ErrorCode>(UNKNOWN_MEMBER_ID)
          return Effect.map(slot.run(slot.group, (g, step) => sync(g, input, step)), (r) => (r.ok ? NONE : r.code))
        },
        (code) => code
      )
      if (started !== NONE) {
        yield* waiter.cancel
        return refuse(started)
      }
      return syncBody(yield* waiter.result, v)
    })

  const heartbeatApi = (body: RequestOf<"Heartbeat">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"Heartbeat">> =>
    Effect.gen(function*() {
      const answer = (errorCode: ErrorCode) => ({ throttleTimeMs: 0, errorCode })
      if (!validGroupId(body.groupId, false)) return answer(INVALID_GROUP_ID)
      if (!(yield* deps.owns(body.groupId))) return answer(NOT_COORDINATOR)
      const input = { memberId: body.memberId, instanceId: ctx.apiVersion >= 3 ? body.groupInstanceId : null, generation: body.generationId }
      const code = yield* registry.withGroup(
        body.groupId,
        (slot) => {
          if (slot.group === undefined) return Effect.succeed<ErrorCode>(UNKNOWN_MEMBER_ID)
          return Effect.map(slot.run(slot.group, (g, step) => heartbeat(g, input, step)), (r) => (r.ok ? r.value : r.code))
        },
        (code) => code
      )
      return answer(code)
    })

  return { joinGroup, syncGroup, heartbeat: heartbeatApi, leaveGroup: makeLeaveGroup(deps) }
}

const makeLeaveGroup = (deps: MembershipDeps) => (body: RequestOf<"LeaveGroup">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"LeaveGroup">> =>
  Effect.gen(function*() {
    const v = ctx.apiVersion
    const leavers: ReadonlyArray<Leaver> =
      v >= 3 ? body.members.map((m) => ({ memberId: m.memberId, instanceId: m.groupInstanceId })) : [{ memberId: body.memberId, instanceId: null }]
    const answer = (top: ErrorCode, codes: ReadonlyArray<ErrorCode>): ResponseOf<"LeaveGroup"> =>
      v >= 3
        ? { throttleTimeMs: 0, errorCode: top, members: leavers.map((l, i) => ({ memberId: l.memberId, groupInstanceId: l.instanceId, errorCode: codes[i]! })) }
        : // Before v3 the one member's error is the response's.
          { throttleTimeMs: 0, errorCode: top !== NONE ? top : codes[0]!, members: [] }
    if (!validGroupId(body.groupId, false)) return answer(INVALID_GROUP_ID, leavers.map(() => INVALID_GROUP_ID))
    if (!(yield* deps.owns(body.groupId))) return answer(NOT_COORDINATOR, leavers.map(() => NOT_COORDINATOR))
    return yield* deps.registry.withGroup(
      body.groupId,
      (slot) => {
        if (slot.group === undefined) return Effect.succeed(answer(NONE, leavers.map(() => UNKNOWN_MEMBER_ID)))
        return Effect.map(slot.run(slot.group, (g, step) => leave(g, leavers, step)), (r) => (r.ok ? answer(NONE, r.value) : answer(r.code, leavers.map(() => r.code))))
      },
      (code) => answer(code, leavers.map(() => code))
    )
  })
