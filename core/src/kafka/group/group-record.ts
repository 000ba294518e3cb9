/**
 * A group as it is persisted in the cluster's Raft KV (Kafka writes the
 * same to __consumer_offsets): its generation, protocol, leader and
 * members with their protocols, session settings, static ids and
 * assignments. It is written when a join barrier completes (so a
 * generation handed out is never handed out again after a failover), when
 * the leader's assignment completes a rebalance, and when a static member
 * takes over its old id; a coordinator that becomes the group's
 * coordinator loads it (`loadGroup`).
 *
 * Encoding, version 1 (`codec/writer.ts`): u8 version, string state
 * ("Empty" | "CompletingRebalance" | "Stable"), uint generation, optional
 * strings protocolType, protocolName, leader (u8 present + string), uint
 * member count, then per member: string memberId, optional string
 * instanceId, strings clientId, clientHost, uint sessionTimeoutMs, uint
 * rebalanceTimeoutMs, uint protocol count, per protocol string name and
 * bytes metadata, bytes assignment. The KV's Raft entries are checksummed.
 */
import { Data } from "effect"
import { RaftDecodeError } from "../../codec/decode-error.ts"
import { Reader } from "../../codec/reader.ts"
import { Writer } from "../../codec/writer.ts"
import { assert } from "../../invariant/invariant.ts"
import type { Group, Member, Protocol } from "./group.ts"
import { checkGroup, newGroup } from "./group.ts"

export type RecordState = "Empty" | "CompletingRebalance" | "Stable"

export interface MemberRecord {
  readonly memberId: string
  readonly instanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly protocols: ReadonlyArray<Protocol>
  readonly assignment: Uint8Array
}

export interface GroupRecord {
  readonly state: RecordState
  readonly generation: number
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly leader: string | null
  readonly members: ReadonlyArray<MemberRecord>
}

export class GroupRecordDecodeError extends Data.TaggedError("GroupRecordDecodeError")<{ readonly message: string }> {}

const VERSION = 1
const states: ReadonlyArray<RecordState> = ["Empty", "CompletingRebalance", "Stable"]

export const recordOf = (g: Group): GroupRecord => {
  assert(g.state === "Empty" || g.state === "CompletingRebalance" || g.state === "Stable", () => `group ${g.groupId}: persisting ${g.state}`)
  return {
    state: g.state,
    generation: g.generation,
    protocolType: g.protocolType,
    protocolName: g.protocolName,
    leader: g.leader,
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      protocols: m.protocols,
      assignment: m.assignment
    }))
  }
}

/**
 * The group a coordinator starts from: every member's session starts now.
 * A record of CompletingRebalance (the old coordinator went before the
 * leader's assignment was stored) is loaded as a rebalance in progress, so
 * its members rejoin into the next generation.
 */
export const loadGroup = (groupId: string, record: GroupRecord, now: number): Group => {
  const g = newGroup(groupId)
  g.generation = record.generation
  g.protocolType = record.protocolType
  g.protocolName = record.protocolName
  g.leader = record.leader
  for (const r of record.members) {
    const m: Member = { ...r, joinWaiter: undefined, syncWaiter: undefined, heartbeatDeadline: now + r.sessionTimeoutMs }
    g.members.set(m.memberId, m)
    if (m.instanceId !== null) g.staticMembers.set(m.instanceId, m.memberId)
  }
  if (record.state === "CompletingRebalance") {
    g.state = "PreparingRebalance"
    g.joinDeadline = now + Math.max(0, ...record.members.map((m) => m.rebalanceTimeoutMs))
    g.initialDelayUntil = now
  } else g.state = record.state
  checkGroup(g)
  return g
}

const optional = (w: Writer, s: string | null): void => {
  w.bool(s !== null)
  if (s !== null) w.string(s)
}

export const encodeGroupRecord = (r: GroupRecord): Uint8Array => {
  const w = new Writer()
  w.u8(VERSION)
  w.string(r.state)
  w.uint(r.generation)
  optional(w, r.protocolType)
  optional(w, r.protocolName)
  optional(w, r.leader)
  w.uint(r.members.length)
  for (const m of r.members) {
    w.string(m.memberId)
    optional(w, m.instanceId)
    w.string(m.clientId)
    w.string(m.clientHost)
    w.uint(m.sessionTimeoutMs)
    w.uint(m.rebalanceTimeoutMs)
    w.uint(m.protocols.length)
    for (const p of m.protocols) {
      w.string(p.name)
      w.raw(p.metadata)
    }
    w.raw(m.assignment)
  }
  return w.finish()
}

const readOptional = (r: Reader): string | null => (r.bool() ? r.string() : null)

const readMember = (r: Reader): MemberRecord => {
  const memberId = r.string()
  const instanceId = readOptional(r)
  const clientId = r.string()
  const clientHost = r.string()
  const sessionTimeoutMs = r.uint()
  const rebalanceTimeoutMs = r.uint()
  const count = r.uint()
  const protocols: Array<Protocol> = []
  for (let i = 0; i < count; i++) protocols.push({ name: r.string(), metadata: r.raw() })
  return { memberId, instanceId, clientId, clientHost, sessionTimeoutMs, rebalanceTimeoutMs, protocols, assignment: r.raw() }
}

export const decodeGroupRecord = (bytes: Uint8Array): GroupRecord => {
  try {
    const r = new Reader(bytes)
    const version = r.u8()
    if (version !== VERSION) throw new GroupRecordDecodeError({ message: `group record version ${version}` })
    const state = r.string() as RecordState
    if (!states.includes(state)) throw new GroupRecordDecodeError({ message: `group record state ${state}` })
    const generation = r.uint()
    const protocolType = readOptional(r)
    const protocolName = readOptional(r)
    const leader = readOptional(r)
    const count = r.uint()
    const members: Array<MemberRecord> = []
    for (let i = 0; i < count; i++) members.push(readMember(r))
    r.done()
    return { state, generation, protocolType, protocolName, leader, members }
  } catch (error) {
    if (error instanceof RaftDecodeError) throw new GroupRecordDecodeError({ message: error.message })
    throw error
  }
}
