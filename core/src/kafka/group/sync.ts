/**
 * SyncGroup (Kafka's handleSyncGroup): in CompletingRebalance followers
 * wait; the leader's request carries every member's assignment, and once
 * the group's record holding it is durable each waiting member gets its
 * own and the group is Stable. In a Stable group a member simply gets its
 * assignment again.
 */
import { assert } from "../../invariant/invariant.ts"
import type { Group } from "./group.ts"
import { COORDINATOR_NOT_AVAILABLE, INCONSISTENT_GROUP_PROTOCOL, NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID } from "./error-codes.ts"
import { checkMemberAndGeneration } from "./member-check.ts"
import { replySync, syncError, type Step, type SyncResult } from "./step.ts"

export interface SyncInput {
  readonly memberId: string
  readonly instanceId: string | null
  readonly generation: number
  /** v5+: what the member believes the group uses (null: not said). */
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly assignments: ReadonlyArray<{ readonly memberId: string; readonly assignment: Uint8Array }>
  readonly waiter: number
}

const assigned = (g: Group, assignment: Uint8Array): SyncResult => ({ errorCode: NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment })

export const sync = (g: Group, input: SyncInput, step: Step): void => {
  const refuse = (code: number) => replySync(step, input.waiter, syncError(code))
  if (g.state === "Dead") return refuse(COORDINATOR_NOT_AVAILABLE)
  const code = checkMemberAndGeneration(g, input.memberId, input.instanceId, input.generation)
  if (code !== NONE) return refuse(code)
  if ((input.protocolType !== null && input.protocolType !== g.protocolType) || (input.protocolName !== null && input.protocolName !== g.protocolName))
    return refuse(INCONSISTENT_GROUP_PROTOCOL)
  const m = g.members.get(input.memberId)!
  switch (g.state) {
    case "Empty":
      return refuse(UNKNOWN_MEMBER_ID)
    case "PreparingRebalance":
      return refuse(REBALANCE_IN_PROGRESS)
    case "Stable":
      g.awaitingSync.delete(m.memberId)
      m.heartbeatDeadline = step.now + m.sessionTimeoutMs
      return replySync(step, input.waiter, assigned(g, m.assignment))
    case "CompletingRebalance":
      if (m.syncWaiter !== undefined) replySync(step, m.syncWaiter, syncError(REBALANCE_IN_PROGRESS))
      m.syncWaiter = input.waiter
      g.awaitingSync.delete(m.memberId)
      if (g.leader === m.memberId) completeSync(g, input, step)
  }
}

/** The leader's assignment: members it left out get an empty one, ids that are not members are ignored. */
const completeSync = (g: Group, input: SyncInput, step: Step): void => {
  const given = new Map(input.assignments.map((a) => [a.memberId, a.assignment]))
  g.state = "Stable"
  step.persist = true
  for (const m of g.members.values()) {
    m.assignment = given.get(m.memberId) ?? new Uint8Array(0)
    if (m.syncWaiter === undefined) continue
    m.heartbeatDeadline = step.now + m.sessionTimeoutMs
    replySync(step, m.syncWaiter, assigned(g, m.assignment))
    m.syncWaiter = undefined
  }
  assert(g.leader !== null && !g.awaitingSync.has(g.leader), () => `group ${g.groupId}: leader still awaiting sync`)
}
