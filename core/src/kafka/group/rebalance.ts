/**
 * The rebalance of a group (Kafka's classic protocol, as its
 * GroupCoordinator runs it): PreparingRebalance gathers the members at the
 * join barrier; once every member rejoined (or the rebalance timeout ran
 * out, and members that did not rejoin are dropped) the generation grows,
 * a protocol is chosen and every member learns the generation, the leader
 * also the members; CompletingRebalance then waits for the leader's
 * SyncGroup, whose assignment every member receives, and the group is
 * Stable. Anything that changes the membership in between starts over.
 */
import { assert } from "../../invariant/invariant.ts"
import type { Group, Member } from "./group.ts"
import { maxRebalanceTimeoutMs, metadataFor, allMembersJoined } from "./group.ts"
import { NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID } from "./error-codes.ts"
import { selectProtocol } from "./protocol-selection.ts"
import { joinError, replyJoin, replySync, syncError, type JoinResult, type Step } from "./step.ts"

/** The answer a member gets for the group's current generation (the leader also gets the members). */
export const joinResultFor = (g: Group, memberId: string, skipAssignment = false): JoinResult => {
  const isLeader = g.leader === memberId
  return {
    errorCode: NONE,
    generationId: g.generation,
    protocolType: g.protocolType,
    protocolName: g.protocolName,
    leader: g.leader ?? "",
    memberId,
    members: isLeader
      ? [...g.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.instanceId, metadata: metadataFor(m, g.protocolName) }))
      : [],
    skipAssignment: isLeader && skipAssignment
  }
}

/** Enters PreparingRebalance; members waiting for an assignment are told to rejoin. */
export const prepareRebalance = (g: Group, step: Step): void => {
  assert(g.state !== "PreparingRebalance" && g.state !== "Dead", () => `group ${g.groupId}: prepare rebalance in ${g.state}`)
  for (const m of g.members.values()) {
    if (m.syncWaiter !== undefined) replySync(step, m.syncWaiter, syncError(REBALANCE_IN_PROGRESS))
    m.syncWaiter = undefined
  }
  const fromEmpty = g.state === "Empty"
  g.awaitingSync.clear()
  g.state = "PreparingRebalance"
  g.joinDeadline = step.now + maxRebalanceTimeoutMs(g)
  g.initialDelayUntil = fromEmpty ? Math.min(step.now + step.config.initialRebalanceDelayMs, g.joinDeadline) : step.now
  checkJoin(g, step)
}

/** Starts a rebalance unless one is gathering members already. */
export const maybePrepareRebalance = (g: Group, step: Step): void => {
  if (g.state === "PreparingRebalance") checkJoin(g, step)
  else prepareRebalance(g, step)
}

/** Completes the join barrier if everyone is in (and the initial delay is over) or time is up. */
export const checkJoin = (g: Group, step: Step): void => {
  if (g.state !== "PreparingRebalance") return
  // With nobody left to wait for, the initial delay does not hold the group in a rebalance of no one.
  const nobody = g.members.size === 0 && g.pending.size === 0
  const everyone = allMembersJoined(g) && step.now >= g.initialDelayUntil
  if (nobody || everyone || step.now >= g.joinDeadline) completeJoin(g, step)
}

/** Removes a member; its parked requests are answered UNKNOWN_MEMBER_ID. The caller decides whether to rebalance. */
export const removeMember = (g: Group, memberId: string, step: Step): void => {
  const m = g.members.get(memberId)
  assert(m !== undefined, () => `group ${g.groupId}: removing unknown member ${memberId}`)
  if (m.joinWaiter !== undefined) replyJoin(step, m.joinWaiter, joinError(memberId, UNKNOWN_MEMBER_ID))
  if (m.syncWaiter !== undefined) replySync(step, m.syncWaiter, syncError(UNKNOWN_MEMBER_ID))
  g.members.delete(memberId)
  g.awaitingSync.delete(memberId)
  if (m.instanceId !== null && g.staticMembers.get(m.instanceId) === memberId) g.staticMembers.delete(m.instanceId)
  if (g.leader === memberId) g.leader = g.members.keys().next().value ?? null
}

/** After members left or expired: a settled group rebalances, a gathering one may now be complete. */
export const afterMembersLeft = (g: Group, step: Step): void => {
  if (g.state === "Stable" || g.state === "CompletingRebalance") prepareRebalance(g, step)
  else checkJoin(g, step)
}

const completeJoin = (g: Group, step: Step): void => {
  for (const m of [...g.members.values()]) {
    // Dynamic members that did not rejoin are gone; static ones keep their place until their session lapses.
    if (m.joinWaiter === undefined && m.instanceId === null) removeMember(g, m.memberId, step)
  }
  const joined = [...g.members.values()].filter((m) => m.joinWaiter !== undefined)
  if (g.members.size > 0 && joined.length === 0) {
    // Only static members that did not rejoin remain: wait another round for them (or for their sessions to lapse).
    g.joinDeadline = step.now + maxRebalanceTimeoutMs(g)
    return
  }
  if (g.leader !== null && g.members.get(g.leader)!.joinWaiter === undefined) g.leader = joined[0]!.memberId
  g.generation += 1
  step.persist = true
  if (g.members.size === 0) {
    g.state = "Empty"
    g.protocolName = null
    return
  }
  g.protocolName = selectProtocol(g)
  g.state = "CompletingRebalance"
  g.syncDeadline = step.now + maxRebalanceTimeoutMs(g)
  for (const m of g.members.values()) answerJoined(g, m, step)
}

const answerJoined = (g: Group, m: Member, step: Step): void => {
  g.awaitingSync.add(m.memberId)
  m.heartbeatDeadline = step.now + m.sessionTimeoutMs
  if (m.joinWaiter === undefined) return
  replyJoin(step, m.joinWaiter, joinResultFor(g, m.memberId))
  m.joinWaiter = undefined
}
