/**
 * JoinGroup (Kafka's GroupCoordinator.handleJoinGroup): a new member gets
 * an id (from v4 it must first come back with it: MEMBER_ID_REQUIRED), a
 * known member rejoins, a static member (`group.instance.id`) that comes
 * back under a new id replaces its old incarnation. A join that changes
 * nothing in a settled group (same protocols, not the leader) is answered
 * with the current generation instead of starting a needless rebalance.
 */
import { assert } from "../../invariant/invariant.ts"
import type { Group, Member, Protocol } from "./group.ts"
import { sameProtocols } from "./group.ts"
import {
  COORDINATOR_NOT_AVAILABLE,
  FENCED_INSTANCE_ID,
  GROUP_MAX_SIZE_REACHED,
  INCONSISTENT_GROUP_PROTOCOL,
  INVALID_GROUP_ID,
  INVALID_SESSION_TIMEOUT,
  MEMBER_ID_REQUIRED,
  REBALANCE_IN_PROGRESS,
  UNKNOWN_MEMBER_ID
} from "./error-codes.ts"
import { supportsProtocols } from "./protocol-selection.ts"
import { joinResultFor, maybePrepareRebalance } from "./rebalance.ts"
import { replaceStatic } from "./static-membership.ts"
import { joinError, replyJoin, type Step } from "./step.ts"

export interface JoinInput {
  readonly memberId: string
  readonly instanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly protocolType: string
  readonly protocols: ReadonlyArray<Protocol>
  /** JoinGroup v4+: a member joining without an id must come back with the one it is given. */
  readonly requireKnownMemberId: boolean
  /** The id a new member gets (drawn by the driver: the machine has no randomness). */
  readonly newMemberId: string
  readonly waiter: number
}

export const join = (g: Group, input: JoinInput, step: Step): void => {
  const refuse = (code: number) => replyJoin(step, input.waiter, joinError(input.memberId, code))
  if (g.groupId.length === 0) return refuse(INVALID_GROUP_ID)
  if (input.sessionTimeoutMs < step.config.minSessionTimeoutMs || input.sessionTimeoutMs > step.config.maxSessionTimeoutMs)
    return refuse(INVALID_SESSION_TIMEOUT)
  if (g.state === "Dead") return refuse(COORDINATOR_NOT_AVAILABLE)
  if (!supportsProtocols(g, input.protocolType, input.protocols)) return refuse(INCONSISTENT_GROUP_PROTOCOL)
  if (g.pending.has(input.memberId)) return addMember(g, input.memberId, input, step)
  if (input.memberId === "") return joinNew(g, input, step)
  joinKnown(g, input, step)
}

const joinNew = (g: Group, input: JoinInput, step: Step): void => {
  if (g.members.size + g.pending.size >= step.config.maxGroupSize)
    return replyJoin(step, input.waiter, joinError("", GROUP_MAX_SIZE_REACHED))
  const id = input.newMemberId
  assert(!g.members.has(id) && !g.pending.has(id), () => `group ${g.groupId}: drawn member id ${id} is taken`)
  if (input.instanceId !== null) {
    const old = g.staticMembers.get(input.instanceId)
    return old === undefined ? addMember(g, id, input, step) : replaceStatic(g, old, id, input, step)
  }
  if (input.requireKnownMemberId) {
    g.pending.set(id, step.now + input.sessionTimeoutMs)
    return replyJoin(step, input.waiter, joinError(id, MEMBER_ID_REQUIRED))
  }
  addMember(g, id, input, step)
}

const joinKnown = (g: Group, input: JoinInput, step: Step): void => {
  const refuse = (code: number) => replyJoin(step, input.waiter, joinError(input.memberId, code))
  if (input.instanceId !== null) {
    const holder = g.staticMembers.get(input.instanceId)
    if (holder !== undefined && holder !== input.memberId) return refuse(FENCED_INSTANCE_ID)
  }
  const m = g.members.get(input.memberId)
  if (m === undefined) return refuse(UNKNOWN_MEMBER_ID)
  switch (g.state) {
    case "PreparingRebalance":
      return updateAndRebalance(g, m, input, step)
    case "CompletingRebalance":
      // A repeated join (its answer was lost): the same generation, unless the member changed.
      if (sameProtocols(m.protocols, input.protocols)) return replyJoin(step, input.waiter, joinResultFor(g, m.memberId))
      return updateAndRebalance(g, m, input, step)
    case "Stable":
      // The leader rejoins to make the group reassign (new partitions, a changed subscription).
      if (g.leader === m.memberId || !sameProtocols(m.protocols, input.protocols)) return updateAndRebalance(g, m, input, step)
      m.heartbeatDeadline = step.now + m.sessionTimeoutMs
      return replyJoin(step, input.waiter, joinResultFor(g, m.memberId))
    case "Empty":
    case "Dead":
      return refuse(UNKNOWN_MEMBER_ID)
  }
}

/** Parks `waiter` at the member's join barrier; a join it superseded (a client retry) is told to rejoin. */
export const park = (m: Member, waiter: number, step: Step): void => {
  if (m.joinWaiter !== undefined) replyJoin(step, m.joinWaiter, joinError(m.memberId, REBALANCE_IN_PROGRESS))
  m.joinWaiter = waiter
}

const updateAndRebalance = (g: Group, m: Member, input: JoinInput, step: Step): void => {
  m.protocols = input.protocols
  m.sessionTimeoutMs = input.sessionTimeoutMs
  m.rebalanceTimeoutMs = input.rebalanceTimeoutMs
  m.clientId = input.clientId
  m.clientHost = input.clientHost
  park(m, input.waiter, step)
  maybePrepareRebalance(g, step)
}

const addMember = (g: Group, id: string, input: JoinInput, step: Step): void => {
  g.pending.delete(id)
  if (g.members.size === 0) g.protocolType = input.protocolType
  const m: Member = {
    memberId: id,
    instanceId: input.instanceId,
    clientId: input.clientId,
    clientHost: input.clientHost,
    sessionTimeoutMs: input.sessionTimeoutMs,
    rebalanceTimeoutMs: input.rebalanceTimeoutMs,
    protocols: input.protocols,
    assignment: new Uint8Array(0),
    joinWaiter: input.waiter,
    syncWaiter: undefined,
    heartbeatDeadline: step.now + input.sessionTimeoutMs
  }
  g.members.set(id, m)
  if (g.leader === null) g.leader = id
  if (input.instanceId !== null) g.staticMembers.set(input.instanceId, id)
  if (g.state === "PreparingRebalance" && g.initialDelayUntil > step.now) {
    // A new member during the initial delay: wait a little longer for the next one (bounded by the rebalance timeout).
    g.joinDeadline = Math.max(g.joinDeadline, step.now + input.rebalanceTimeoutMs)
    g.initialDelayUntil = Math.min(step.now + step.config.initialRebalanceDelayMs, g.joinDeadline)
  }
  maybePrepareRebalance(g, step)
}
