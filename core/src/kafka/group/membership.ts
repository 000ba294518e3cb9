/**
 * Heartbeat and LeaveGroup (Kafka's handleHeartbeat, handleLeaveGroup): a
 * heartbeat keeps a member's session alive and tells it, by its error
 * code, to rejoin (REBALANCE_IN_PROGRESS), that its generation is over
 * (ILLEGAL_GENERATION) or that it is no longer a member; a leave removes
 * members (by member id, or v3+ by static instance id) and rebalances the rest.
 */
import type { Group } from "./group.ts"
import { COORDINATOR_NOT_AVAILABLE, FENCED_INSTANCE_ID, NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, type ErrorCode } from "./error-codes.ts"
import { checkMemberAndGeneration } from "./member-check.ts"
import { afterMembersLeft, removeMember } from "./rebalance.ts"
import type { Step } from "./step.ts"

export interface HeartbeatInput {
  readonly memberId: string
  readonly instanceId: string | null
  readonly generation: number
}

export const heartbeat = (g: Group, input: HeartbeatInput, step: Step): ErrorCode => {
  if (g.state === "Dead") return COORDINATOR_NOT_AVAILABLE
  const code = checkMemberAndGeneration(g, input.memberId, input.instanceId, input.generation)
  if (code !== NONE) return code
  if (g.state === "Empty") return UNKNOWN_MEMBER_ID
  const m = g.members.get(input.memberId)!
  m.heartbeatDeadline = step.now + m.sessionTimeoutMs
  return g.state === "PreparingRebalance" ? REBALANCE_IN_PROGRESS : NONE
}

export interface Leaver {
  readonly memberId: string
  readonly instanceId: string | null
}

/** Each leaver's error code, in order; the group rebalances once if anyone left. */
export const leave = (g: Group, leavers: ReadonlyArray<Leaver>, step: Step): ReadonlyArray<ErrorCode> => {
  if (g.state === "Dead") return leavers.map(() => COORDINATOR_NOT_AVAILABLE)
  let removed = false
  const codes = leavers.map((l): ErrorCode => {
    if (l.instanceId !== null) {
      const holder = g.staticMembers.get(l.instanceId)
      if (holder === undefined) return UNKNOWN_MEMBER_ID
      if (l.memberId !== "" && l.memberId !== holder) return FENCED_INSTANCE_ID
      removeMember(g, holder, step)
      removed = true
      return NONE
    }
    if (g.pending.delete(l.memberId)) {
      removed = true
      return NONE
    }
    if (!g.members.has(l.memberId)) return UNKNOWN_MEMBER_ID
    removeMember(g, l.memberId, step)
    removed = true
    return NONE
  })
  if (removed) afterMembersLeft(g, step)
  return codes
}
