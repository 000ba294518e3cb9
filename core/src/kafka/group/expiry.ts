/**
 * What time does to a group, checked on every tick of the coordinator's
 * timer: member ids handed out with MEMBER_ID_REQUIRED lapse after a
 * session timeout; a member whose session lapsed (no heartbeat, and no
 * request parked at a barrier, which keeps it alive as in Kafka) is removed
 * and the rest rebalance; members that have not sent SyncGroup by the sync
 * deadline are removed (Kafka's pending-sync timeout, so a leader that never
 * assigns cannot stall the group); the join barrier completes when its
 * initial delay or rebalance timeout runs out.
 */
import type { Group } from "./group.ts"
import { afterMembersLeft, checkJoin, removeMember } from "./rebalance.ts"
import type { Step } from "./step.ts"

export const tick = (g: Group, step: Step): void => {
  if (g.state === "Dead") return
  let removed = false
  for (const [id, deadline] of [...g.pending]) {
    if (step.now < deadline) continue
    g.pending.delete(id)
    removed = true
  }
  for (const m of [...g.members.values()]) {
    const keptAlive = m.joinWaiter !== undefined || m.syncWaiter !== undefined
    if (keptAlive || step.now < m.heartbeatDeadline) continue
    removeMember(g, m.memberId, step)
    removed = true
  }
  if ((g.state === "CompletingRebalance" || g.state === "Stable") && g.awaitingSync.size > 0 && step.now >= g.syncDeadline) {
    for (const id of [...g.awaitingSync]) removeMember(g, id, step)
    removed = true
  }
  if (removed) afterMembersLeft(g, step)
  else checkJoin(g, step)
}
