/**
 * Is the sender of a request the current holder of its member id (and of
 * its static instance id), in the group's current generation? Shared by
 * SyncGroup, Heartbeat and OffsetCommit, as Kafka's validateCurrentMember.
 */
import type { Group } from "./group.ts"
import { FENCED_INSTANCE_ID, ILLEGAL_GENERATION, NONE, UNKNOWN_MEMBER_ID, type ErrorCode } from "./error-codes.ts"

export const checkMember = (g: Group, memberId: string, instanceId: string | null): ErrorCode => {
  if (instanceId !== null) {
    const holder = g.staticMembers.get(instanceId)
    if (holder === undefined) return UNKNOWN_MEMBER_ID
    if (holder !== memberId) return FENCED_INSTANCE_ID
  }
  return g.members.has(memberId) ? NONE : UNKNOWN_MEMBER_ID
}

export const checkMemberAndGeneration = (g: Group, memberId: string, instanceId: string | null, generation: number): ErrorCode => {
  const code = checkMember(g, memberId, instanceId)
  if (code !== NONE) return code
  return generation === g.generation ? NONE : ILLEGAL_GENERATION
}
