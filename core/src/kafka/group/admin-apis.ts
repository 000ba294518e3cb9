/**
 * DescribeGroups, ListGroups and DeleteGroups on the wire. A coordinator
 * describes and deletes the groups it coordinates (NOT_COORDINATOR for the
 * others, as Kafka) and lists them: the groups in its memory and those
 * persisted in the KV that it would load. A group is deleted only when it
 * has no members (NON_EMPTY_GROUP otherwise): its offsets go first, then
 * its record, so a deletion cut short leaves an Empty group to delete again.
 */
import { Effect, Result } from "effect"
import type { makeConsumerOffsets } from "../../log/service/consumer-offsets.ts"
import type { GroupRequestContext } from "../broker/group-port.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import {
  COORDINATOR_NOT_AVAILABLE,
  GROUP_ID_NOT_FOUND,
  INVALID_GROUP_ID,
  NON_EMPTY_GROUP,
  NONE,
  NOT_COORDINATOR,
  type ErrorCode
} from "./error-codes.ts"
import { metadataFor, type Group, type GroupStateName } from "./group.ts"
import { validGroupId } from "./group-id.ts"
import type { GroupRecord } from "./group-record.ts"
import type { GroupRegistry } from "./group-registry.ts"
import type { GroupStore } from "./group-store.ts"

export interface AdminDeps {
  readonly registry: GroupRegistry
  readonly store: GroupStore
  readonly owns: (groupId: string) => Effect.Effect<boolean>
  readonly offsets: ReturnType<typeof makeConsumerOffsets>
}

type Described = ResponseOf<"DescribeGroups">["groups"][number]

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648

const described = (groupId: string, errorCode: ErrorCode, g: Group | undefined): Described => {
  const stable = g?.state === "Stable"
  return {
    errorCode,
    groupId,
    // Kafka describes a group it does not know as Dead with no members.
    groupState: g?.state ?? "Dead",
    protocolType: g?.protocolType ?? "",
    protocolData: stable ? (g.protocolName ?? "") : "",
    members: [...(g?.members.values() ?? [])].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      // Metadata and assignment only once the group is Stable, as Kafka.
      memberMetadata: stable ? metadataFor(m, g.protocolName) : new Uint8Array(0),
      memberAssignment: stable ? m.assignment : new Uint8Array(0)
    })),
    authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED
  }
}

/** The state a persisted group is in once loaded (`loadGroup`). */
const loadedState = (r: GroupRecord): GroupStateName => (r.state === "CompletingRebalance" ? "PreparingRebalance" : r.state)

export const makeAdminApis = (deps: AdminDeps) => {
  const describeOne = (groupId: string, version: number): Effect.Effect<Described> =>
    Effect.gen(function*() {
      if (!validGroupId(groupId, true)) return described(groupId, INVALID_GROUP_ID, undefined)
      if (!(yield* deps.owns(groupId))) return described(groupId, NOT_COORDINATOR, undefined)
      const d = yield* deps.registry.withGroup(groupId, (slot) => Effect.succeed(described(groupId, NONE, slot.group)), (code) => described(groupId, code, undefined))
      // The static instance id is carried from v4.
      return version >= 4 ? d : { ...d, members: d.members.map((m) => ({ ...m, groupInstanceId: null })) }
    })

  const describeGroups = (body: RequestOf<"DescribeGroups">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"DescribeGroups">> =>
    Effect.map(Effect.forEach(body.groups, (id) => describeOne(id, ctx.apiVersion)), (groups) => ({ throttleTimeMs: 0, groups }))

  const listGroups = (body: RequestOf<"ListGroups">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"ListGroups">> =>
    Effect.gen(function*() {
      const v = ctx.apiVersion
      const stored = yield* Effect.result(deps.store.list)
      if (Result.isFailure(stored)) return { throttleTimeMs: 0, errorCode: COORDINATOR_NOT_AVAILABLE, groups: [] }
      const found = new Map<string, { protocolType: string; state: GroupStateName }>()
      for (const s of stored.success) found.set(s.groupId, { protocolType: s.record.protocolType ?? "", state: loadedState(s.record) })
      // What is in memory is newer than the KV (and may not be persisted yet).
      for (const g of deps.registry.loaded()) found.set(g.groupId, { protocolType: g.protocolType ?? "", state: g.state })
      const states = v >= 4 ? body.statesFilter.map((s) => s.toLowerCase()) : []
      const types = v >= 5 ? body.typesFilter.map((s) => s.toLowerCase()) : []
      const groups: Array<ResponseOf<"ListGroups">["groups"][number]> = []
      for (const [groupId, g] of found) {
        if (!(yield* deps.owns(groupId))) continue
        if (states.length > 0 && !states.includes(g.state.toLowerCase())) continue
        // Every group here speaks the classic protocol.
        if (types.length > 0 && !types.includes("classic")) continue
        groups.push({ groupId, protocolType: g.protocolType, groupState: g.state, groupType: "classic" })
      }
      return { throttleTimeMs: 0, errorCode: NONE, groups }
    })

  return { describeGroups, listGroups, deleteGroups: makeDeleteGroups(deps) }
}

const makeDeleteGroups = (deps: AdminDeps) => {
  const deleteOffsets = (groupId: string) =>
    Effect.gen(function*() {
      const offsets = yield* deps.offsets.list(groupId)
      for (const o of offsets) yield* deps.offsets.remove(groupId, o.topic, o.partition)
      return offsets.length
    })

  const deleteOne = (groupId: string): Effect.Effect<ErrorCode> =>
    Effect.gen(function*() {
      if (!validGroupId(groupId, true)) return INVALID_GROUP_ID
      if (!(yield* deps.owns(groupId))) return NOT_COORDINATOR
      return yield* deps.registry.withGroup(
        groupId,
        (slot) =>
          Effect.gen(function*() {
            const g = slot.group
            if (g !== undefined && g.state !== "Empty") return g.state === "Dead" ? GROUP_ID_NOT_FOUND : NON_EMPTY_GROUP
            const removed = yield* Effect.result(deleteOffsets(groupId))
            if (Result.isFailure(removed)) return COORDINATOR_NOT_AVAILABLE
            // A group known only by its offsets (committed through Cairn's own API) is deleted with them.
            if (g === undefined) return removed.success > 0 ? NONE : GROUP_ID_NOT_FOUND
            if (slot.revision !== "absent") {
              const written = yield* Effect.result(deps.store.write(groupId, undefined, slot.revision))
              if (Result.isFailure(written)) return COORDINATOR_NOT_AVAILABLE
              if (written.success === "conflict") {
                yield* slot.drop(NOT_COORDINATOR)
                return NOT_COORDINATOR
              }
            }
            g.state = "Dead"
            yield* slot.drop(GROUP_ID_NOT_FOUND)
            return NONE
          }),
        (code) => code
      )
    })

  return (body: RequestOf<"DeleteGroups">, _ctx: GroupRequestContext): Effect.Effect<ResponseOf<"DeleteGroups">> =>
    Effect.map(Effect.forEach(body.groupsNames, (groupId) => Effect.map(deleteOne(groupId), (errorCode) => ({ groupId, errorCode }))), (results) => ({
      throttleTimeMs: 0,
      results
    }))
}
