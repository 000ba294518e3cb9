/**
 * Static membership (KIP-345, `group.instance.id`): a consumer that
 * restarts comes back with the same instance id and an empty member id. It
 * gets a new member id that replaces the old one in place; the old
 * incarnation's parked requests and any later request under the old id are
 * fenced (FENCED_INSTANCE_ID). In a Stable group whose member comes back
 * with the same protocols nothing is reassigned: the new id takes over the
 * old one's assignment in the same generation, and the group's record is
 * rewritten so a coordinator failover keeps the new id.
 */
import { assert } from "../../invariant/invariant.ts"
import type { Group, Member } from "./group.ts"
import { sameProtocols } from "./group.ts"
import { FENCED_INSTANCE_ID } from "./error-codes.ts"
import type { JoinInput } from "./join.ts"
import { checkJoin, joinResultFor, prepareRebalance } from "./rebalance.ts"
import { joinError, replyJoin, replySync, syncError, type Step } from "./step.ts"

export const replaceStatic = (g: Group, oldId: string, newId: string, input: JoinInput, step: Step): void => {
  const old = g.members.get(oldId)
  assert(old !== undefined && old.instanceId === input.instanceId, () => `group ${g.groupId}: static member ${oldId} missing`)
  if (old.joinWaiter !== undefined) replyJoin(step, old.joinWaiter, joinError(oldId, FENCED_INSTANCE_ID))
  if (old.syncWaiter !== undefined) replySync(step, old.syncWaiter, syncError(FENCED_INSTANCE_ID))
  const unchanged = sameProtocols(old.protocols, input.protocols)
  const m: Member = {
    ...old,
    memberId: newId,
    clientId: input.clientId,
    clientHost: input.clientHost,
    sessionTimeoutMs: input.sessionTimeoutMs,
    rebalanceTimeoutMs: input.rebalanceTimeoutMs,
    protocols: input.protocols,
    joinWaiter: undefined,
    syncWaiter: undefined,
    heartbeatDeadline: step.now + input.sessionTimeoutMs
  }
  renameMember(g, oldId, m)
  switch (g.state) {
    case "Stable":
      if (unchanged) {
        step.persist = true
        return replyJoin(step, input.waiter, joinResultFor(g, newId, true))
      }
      m.joinWaiter = input.waiter
      return prepareRebalance(g, step)
    case "CompletingRebalance":
      m.joinWaiter = input.waiter
      return prepareRebalance(g, step)
    case "PreparingRebalance":
      m.joinWaiter = input.waiter
      return checkJoin(g, step)
    case "Empty":
    case "Dead":
      assert(false, () => `group ${g.groupId}: a static member in ${g.state}`)
  }
}

/** Puts `m` in the place of `oldId`, keeping the join order (and so who leads next). */
const renameMember = (g: Group, oldId: string, m: Member): void => {
  const entries = [...g.members.entries()].map(([id, x]): [string, Member] => (id === oldId ? [m.memberId, m] : [id, x]))
  g.members.clear()
  for (const [id, x] of entries) g.members.set(id, x)
  if (g.leader === oldId) g.leader = m.memberId
  if (g.awaitingSync.delete(oldId)) g.awaitingSync.add(m.memberId)
  g.staticMembers.set(m.instanceId!, m.memberId)
}
