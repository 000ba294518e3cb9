/**
 * A consumer group as its coordinator holds it: the state of the classic
 * rebalance protocol (Kafka's GroupMetadata), its members, and the waiters
 * of the JoinGroup and SyncGroup requests it has not answered yet. The
 * transitions are in `rebalance.ts`, `join.ts`, `sync.ts`, `membership.ts`
 * and `expiry.ts`; this module holds the records, the rules every state
 * must keep (`checkGroup`), and the small questions asked of a group.
 *
 * Times are the coordinator node's monotonic milliseconds: deadlines are
 * never compared across nodes (a coordinator that loads a group from the KV
 * starts every member's session afresh).
 */
import { assert } from "../../invariant/invariant.ts"

export type GroupStateName = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead"

export const groupStateNames: ReadonlyArray<GroupStateName> = ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"]

/** One protocol a member supports (an assignor, for consumers), with its opaque subscription metadata. */
export interface Protocol {
  readonly name: string
  readonly metadata: Uint8Array
}

export interface Member {
  readonly memberId: string
  /** `group.instance.id`: a static member keeps its place across restarts. */
  readonly instanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  /** In the member's order of preference. */
  protocols: ReadonlyArray<Protocol>
  /** What the leader assigned it in the last completed SyncGroup (empty until then). */
  assignment: Uint8Array
  /** The JoinGroup request parked at the join barrier, if any. */
  joinWaiter: number | undefined
  /** The SyncGroup request waiting for the leader's assignment, if any. */
  syncWaiter: number | undefined
  /** The member is expired at this time unless it heartbeats (or waits at a barrier). */
  heartbeatDeadline: number
}

export interface Group {
  readonly groupId: string
  state: GroupStateName
  generation: number
  protocolType: string | null
  protocolName: string | null
  leader: string | null
  /** In join order: the first member becomes leader when the leader goes. */
  readonly members: Map<string, Member>
  /** Member ids handed out with MEMBER_ID_REQUIRED (JoinGroup v4+), not yet joined with, and when they lapse. */
  readonly pending: Map<string, number>
  /** instance id -> the member id that holds it now. */
  readonly staticMembers: Map<string, string>
  /** PreparingRebalance: when the barrier stops waiting for members that did not rejoin. */
  joinDeadline: number
  /** PreparingRebalance out of Empty: the barrier waits at least until then for more members (Kafka's initial delay). */
  initialDelayUntil: number
  /** Members of this generation that have not sent SyncGroup yet, and when they are removed for it. */
  readonly awaitingSync: Set<string>
  syncDeadline: number
}

export interface GroupConfig {
  readonly minSessionTimeoutMs: number
  readonly maxSessionTimeoutMs: number
  /** How long a rebalance of an empty group waits for more members to join (Kafka's group.initial.rebalance.delay.ms). */
  readonly initialRebalanceDelayMs: number
  readonly maxGroupSize: number
}

/** Apache Kafka's broker defaults. */
export const defaultGroupConfig: GroupConfig = {
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3_000,
  maxGroupSize: 1_000
}

export const newGroup = (groupId: string): Group => ({
  groupId,
  state: "Empty",
  generation: 0,
  protocolType: null,
  protocolName: null,
  leader: null,
  members: new Map(),
  pending: new Map(),
  staticMembers: new Map(),
  joinDeadline: 0,
  initialDelayUntil: 0,
  awaitingSync: new Set(),
  syncDeadline: 0
})

export const sameProtocols = (a: ReadonlyArray<Protocol>, b: ReadonlyArray<Protocol>): boolean =>
  a.length === b.length && a.every((p, i) => p.name === b[i]!.name && sameBytes(p.metadata, b[i]!.metadata))

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** The metadata a member sent for `protocol` (empty if it does not support it). */
export const metadataFor = (member: Member, protocol: string | null): Uint8Array =>
  member.protocols.find((p) => p.name === protocol)?.metadata ?? new Uint8Array(0)

export const maxRebalanceTimeoutMs = (group: Group): number => {
  let max = 0
  for (const m of group.members.values()) max = Math.max(max, m.rebalanceTimeoutMs)
  return max
}

/** Every member has rejoined and no handed-out member id is still expected (Kafka's hasAllMembersJoined). */
export const allMembersJoined = (group: Group): boolean =>
  group.pending.size === 0 && [...group.members.values()].every((m) => m.joinWaiter !== undefined)

/** A group nothing refers to: never persisted, no members, no pending ids. */
export const isVacant = (group: Group): boolean =>
  group.state === "Empty" && group.generation === 0 && group.members.size === 0 && group.pending.size === 0

/** The rules every state keeps; checked after every transition. */
export const checkGroup = (g: Group): void => {
  assert(g.generation >= 0 && Number.isSafeInteger(g.generation), () => `group ${g.groupId}: generation ${g.generation}`)
  assert((g.leader === null) === (g.members.size === 0), () => `group ${g.groupId}: leader ${g.leader} with ${g.members.size} members`)
  assert(g.leader === null || g.members.has(g.leader), () => `group ${g.groupId}: leader ${g.leader} is not a member`)
  for (const [instance, memberId] of g.staticMembers) assert(g.members.get(memberId)?.instanceId === instance, () => `group ${g.groupId}: instance ${instance} maps to ${memberId}`)
  for (const m of g.members.values()) {
    if (m.instanceId !== null) assert(g.staticMembers.get(m.instanceId) === m.memberId, () => `group ${g.groupId}: static member ${m.memberId} not mapped`)
    assert(m.joinWaiter === undefined || g.state === "PreparingRebalance", () => `group ${g.groupId}: join waiter in ${g.state}`)
    assert(m.syncWaiter === undefined || g.state === "CompletingRebalance", () => `group ${g.groupId}: sync waiter in ${g.state}`)
    assert(!g.pending.has(m.memberId), () => `group ${g.groupId}: ${m.memberId} both pending and member`)
  }
  for (const id of g.awaitingSync) assert(g.members.has(id), () => `group ${g.groupId}: ${id} awaits sync but is no member`)
  switch (g.state) {
    case "Empty":
    case "Dead":
      assert(g.members.size === 0, () => `group ${g.groupId}: ${g.state} with members`)
      assert(g.awaitingSync.size === 0, () => `group ${g.groupId}: ${g.state} awaiting sync`)
      return
    case "PreparingRebalance":
      assert(g.members.size > 0 || g.pending.size > 0, () => `group ${g.groupId}: rebalancing nobody`)
      assert(g.awaitingSync.size === 0, () => `group ${g.groupId}: awaiting sync while preparing`)
      return
    case "CompletingRebalance":
    case "Stable":
      assert(g.members.size > 0 && g.generation > 0, () => `group ${g.groupId}: ${g.state} without members`)
      assert(g.protocolName !== null, () => `group ${g.groupId}: ${g.state} without a protocol`)
      for (const m of g.members.values())
        assert(m.protocols.some((p) => p.name === g.protocolName), () => `group ${g.groupId}: ${m.memberId} lacks ${g.protocolName}`)
  }
}
