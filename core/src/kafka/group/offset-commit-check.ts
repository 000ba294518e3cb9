/**
 * Generation fencing of OffsetCommit (Kafka's validateOffsetCommit): a
 * commit with generation -1 and no member is a simple (standalone)
 * consumer's and is accepted only while the group has no members; any
 * other commit must come from a current member in the current generation,
 * and not while the members are waiting for their new assignment.
 */
import type { Group } from "./group.ts"
import { COORDINATOR_NOT_AVAILABLE, ILLEGAL_GENERATION, NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, type ErrorCode } from "./error-codes.ts"
import { checkMemberAndGeneration } from "./member-check.ts"

export interface CommitSender {
  readonly memberId: string
  readonly instanceId: string | null
  readonly generation: number
}

/** For a group that does not exist: a simple commit creates it, anything else is from a generation long gone. */
export const checkCommitToUnknownGroup = (sender: CommitSender): ErrorCode => (sender.generation < 0 ? NONE : ILLEGAL_GENERATION)

export const checkCommit = (g: Group, sender: CommitSender): ErrorCode => {
  if (g.state === "Dead") return COORDINATOR_NOT_AVAILABLE
  if (g.pending.has(sender.memberId)) return UNKNOWN_MEMBER_ID
  if (sender.generation < 0 && g.state === "Empty") return NONE
  if (sender.generation >= 0 || sender.memberId !== "" || sender.instanceId !== null) {
    const code = checkMemberAndGeneration(g, sender.memberId, sender.instanceId, sender.generation)
    if (code !== NONE) return code
  } else if (g.state !== "Empty") return UNKNOWN_MEMBER_ID
  return g.state === "CompletingRebalance" ? REBALANCE_IN_PROGRESS : NONE
}
