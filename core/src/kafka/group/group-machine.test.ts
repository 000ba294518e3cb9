import { describe, expect, it } from "vitest"
import {
  FENCED_INSTANCE_ID,
  ILLEGAL_GENERATION,
  INCONSISTENT_GROUP_PROTOCOL,
  INVALID_SESSION_TIMEOUT,
  MEMBER_ID_REQUIRED,
  NONE,
  REBALANCE_IN_PROGRESS,
  UNKNOWN_MEMBER_ID
} from "./error-codes.ts"
import { newGroup } from "./group.ts"
import { decodeGroupRecord, encodeGroupRecord, loadGroup } from "./group-record.ts"
import { consumerProtocols, MachineHarness } from "./machine-harness.test-support.ts"
import { checkCommit, checkCommitToUnknownGroup } from "./offset-commit-check.ts"

/** Members join with MEMBER_ID_REQUIRED (v4+), the barrier completes after the initial delay, the leader assigns. */
const stableGroup = (h: MachineHarness, count: number, assign = (ids: ReadonlyArray<string>) => ids.map((id, i) => [id, `part-${i}`] as const)) => {
  const ids: Array<string> = []
  const waiters: Array<number> = []
  for (let i = 0; i < count; i++) {
    const first = h.join("", { requireKnownMemberId: true })
    const answer = h.joins.get(first)!
    expect(answer.errorCode).toBe(MEMBER_ID_REQUIRED)
    ids.push(answer.memberId)
    waiters.push(h.join(answer.memberId, { requireKnownMemberId: true }))
  }
  h.advance(h.config.initialRebalanceDelayMs)
  const generation = h.joins.get(waiters[0]!)!.generationId
  const leader = h.joins.get(waiters[0]!)!.leader
  const syncs = ids.filter((id) => id !== leader).map((id) => h.sync(id, generation))
  syncs.push(h.sync(leader, generation, assign(ids)))
  return { ids, waiters, generation, leader, syncs }
}

describe("the group state machine", () => {
  it("forms a group of three in one generation: one leader with every member, followers wait for the leader's assignment", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 3_000 })
    const { ids, waiters, generation, leader, syncs } = stableGroup(h, 3)
    expect(generation).toBe(1)
    expect(leader).toBe(ids[0])
    const answers = waiters.map((w) => h.joins.get(w)!)
    expect(answers.map((a) => a.errorCode)).toEqual([NONE, NONE, NONE])
    expect(answers.map((a) => a.members.length)).toEqual([3, 0, 0])
    expect(answers.every((a) => a.protocolName === "range" && a.generationId === 1)).toBe(true)
    expect(syncs.map((s) => h.assignmentText(s))).toEqual(["part-1", "part-2", "part-0"])
    expect(h.group.state).toBe("Stable")
    // Persisted at the barrier (CompletingRebalance) and with the assignment (Stable).
    expect(h.persisted.map((r) => r.state)).toEqual(["CompletingRebalance", "Stable"])
    expect(h.persisted[1]!.members.map((m) => new TextDecoder().decode(m.assignment))).toEqual(["part-0", "part-1", "part-2"])
  })

  it("followers' SyncGroup waits until the leader's arrives", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 1_000 })
    const a = h.join("a0", {}) // unknown member id: refused
    expect(h.joins.get(a)!.errorCode).toBe(UNKNOWN_MEMBER_ID)
    const w1 = h.join("")
    const w2 = h.join("")
    h.advance(1_000)
    const m1 = h.joins.get(w1)!.memberId
    const m2 = h.joins.get(w2)!.memberId
    const follower = h.sync(m2, 1)
    expect(h.syncs.has(follower)).toBe(false)
    expect(h.heartbeat(m2, 1)).toBe(NONE)
    h.sync(m1, 1, [[m1, "x"], [m2, "y"], ["stranger", "z"]])
    expect(h.assignmentText(follower)).toBe("y")
  })

  it("a member leaves: the others are told to rejoin and the leader reassigns its partitions in the next generation", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 3_000 })
    const { ids } = stableGroup(h, 3)
    expect(h.leave([{ memberId: ids[1]!, instanceId: null }])).toEqual([NONE])
    expect(h.group.state).toBe("PreparingRebalance")
    expect(h.heartbeat(ids[0]!, 1)).toBe(REBALANCE_IN_PROGRESS)
    expect(h.heartbeat(ids[1]!, 1)).toBe(UNKNOWN_MEMBER_ID)
    const j0 = h.join(ids[0]!)
    expect(h.joins.has(j0)).toBe(false) // waits for the other member
    const j2 = h.join(ids[2]!)
    expect(h.joins.get(j0)!.generationId).toBe(2)
    expect(h.joins.get(j0)!.members.map((m) => m.memberId)).toEqual([ids[0], ids[2]])
    expect(h.joins.get(j2)!.members).toEqual([])
    const s2 = h.sync(ids[2]!, 2)
    const s0 = h.sync(ids[0]!, 2, [[ids[0]!, "p0,p1,p2"], [ids[2]!, "p3,p4,p5"]])
    expect([h.assignmentText(s0), h.assignmentText(s2)]).toEqual(["p0,p1,p2", "p3,p4,p5"])
    // A commit of the old generation is fenced.
    expect(checkCommit(h.group, { memberId: ids[0]!, instanceId: null, generation: 1 })).toBe(ILLEGAL_GENERATION)
    expect(checkCommit(h.group, { memberId: ids[0]!, instanceId: null, generation: 2 })).toBe(NONE)
  })

  it("expires a member whose session lapses, and the rest rebalance without it", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 3_000 })
    const { ids } = stableGroup(h, 3)
    // Members 0 and 1 heartbeat every 3 s; member 2 is silent (its 10 s session ends at 13 s).
    for (let t = 0; t < 3; t++) {
      h.advance(3_000)
      expect(h.heartbeat(ids[0]!, 1)).toBe(NONE)
      expect(h.heartbeat(ids[1]!, 1)).toBe(NONE)
    }
    expect(h.group.members.has(ids[2]!)).toBe(true)
    h.advance(1_500)
    expect(h.group.members.has(ids[2]!)).toBe(false)
    expect(h.group.state).toBe("PreparingRebalance")
    expect(h.heartbeat(ids[0]!, 1)).toBe(REBALANCE_IN_PROGRESS)
    h.join(ids[0]!)
    const j1 = h.join(ids[1]!)
    expect(h.joins.get(j1)!.generationId).toBe(2)
    expect(h.heartbeat(ids[2]!, 1)).toBe(UNKNOWN_MEMBER_ID)
  })

  it("the join barrier gives up on a member that does not rejoin within the rebalance timeout", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 3_000 })
    const { ids } = stableGroup(h, 3)
    h.leave([{ memberId: ids[2]!, instanceId: null }])
    const j0 = h.join(ids[0]!)
    // Member 1 keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins; the barrier waits 30 s.
    for (let t = 0; t < 9; t++) {
      h.advance(3_000)
      expect(h.heartbeat(ids[1]!, 1)).toBe(REBALANCE_IN_PROGRESS)
    }
    expect(h.joins.has(j0)).toBe(false)
    for (let t = 0; t < 2; t++) {
      h.advance(3_000)
      if (!h.joins.has(j0)) expect(h.heartbeat(ids[1]!, 1)).toBe(REBALANCE_IN_PROGRESS)
    }
    expect(h.joins.get(j0)!.generationId).toBe(2)
    expect([...h.group.members.keys()]).toEqual([ids[0]])
  })

  it("a follower's rejoin with the same metadata in a Stable group changes nothing; the leader's, or changed metadata, rebalances", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 3_000 })
    const { ids } = stableGroup(h, 2)
    const again = h.join(ids[1]!)
    expect(h.joins.get(again)).toMatchObject({ errorCode: NONE, generationId: 1, members: [] })
    expect(h.group.state).toBe("Stable")
    h.join(ids[1]!, { protocols: consumerProtocols("range", "roundrobin") })
    expect(h.group.state).toBe("PreparingRebalance")
    const h2 = new MachineHarness({ initialRebalanceDelayMs: 3_000 })
    const g2 = stableGroup(h2, 2)
    h2.join(g2.leader)
    expect(h2.group.state).toBe("PreparingRebalance")
  })

  it("chooses the protocol every member supports by preference, passes cooperative-sticky through, refuses a member that shares none", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 1_000 })
    const a = h.join("", { protocols: consumerProtocols("cooperative-sticky", "range") })
    const b = h.join("", { protocols: consumerProtocols("cooperative-sticky", "range") })
    const c = h.join("", { protocols: consumerProtocols("roundrobin") })
    expect(h.joins.get(c)!.errorCode).toBe(INCONSISTENT_GROUP_PROTOCOL)
    const d = h.join("", { protocolType: "connect", protocols: consumerProtocols("range") })
    expect(h.joins.get(d)!.errorCode).toBe(INCONSISTENT_GROUP_PROTOCOL)
    h.advance(1_000)
    expect(h.joins.get(a)!.protocolName).toBe("cooperative-sticky")
    expect(new TextDecoder().decode(h.joins.get(a)!.members[1]!.metadata)).toBe("sub:cooperative-sticky")
    expect(h.joins.get(b)!.protocolName).toBe("cooperative-sticky")
    // A third member that only speaks range: range is the protocol all support now.
    const e = h.join("", { protocols: consumerProtocols("range") })
    h.advance(30_000)
    expect(h.joins.get(e)!.protocolName).toBe("range")
  })

  it("refuses session timeouts outside the configured bounds", () => {
    const h = new MachineHarness()
    expect(h.joins.get(h.join("", { sessionTimeoutMs: 1_000 }))!.errorCode).toBe(INVALID_SESSION_TIMEOUT)
    expect(h.joins.get(h.join("", { sessionTimeoutMs: 3_600_000 }))!.errorCode).toBe(INVALID_SESSION_TIMEOUT)
    expect(h.group.members.size).toBe(0)
  })

  it("a member id handed out with MEMBER_ID_REQUIRED lapses after a session timeout", () => {
    const h = new MachineHarness()
    const w = h.join("", { requireKnownMemberId: true })
    const id = h.joins.get(w)!.memberId
    expect(h.group.pending.has(id)).toBe(true)
    h.advance(10_000)
    expect(h.group.pending.size).toBe(0)
    expect(h.joins.get(h.join(id, { requireKnownMemberId: true }))!.errorCode).toBe(UNKNOWN_MEMBER_ID)
  })

  it("a retried JoinGroup supersedes the parked one, which is told to rejoin", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 3_000 })
    const { ids } = stableGroup(h, 2)
    const first = h.join(ids[0]!)
    const second = h.join(ids[0]!)
    expect(h.joins.get(first)!.errorCode).toBe(REBALANCE_IN_PROGRESS)
    h.join(ids[1]!)
    expect(h.joins.get(second)!.generationId).toBe(2)
  })

  it("removes a leader that never sends SyncGroup, so the followers are not stuck", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 1_000 })
    const w1 = h.join("", { rebalanceTimeoutMs: 20_000 })
    const w2 = h.join("", { rebalanceTimeoutMs: 20_000 })
    h.advance(1_000)
    const [m1, m2] = [h.joins.get(w1)!.memberId, h.joins.get(w2)!.memberId]
    const s2 = h.sync(m2, 1)
    // Both heartbeat (the follower while it waits); the leader never assigns within its 20 s.
    for (let t = 0; t < 7; t++) {
      h.advance(3_000)
      h.heartbeat(m1, 1)
      h.heartbeat(m2, 1)
    }
    expect(h.syncs.get(s2)!.errorCode).toBe(REBALANCE_IN_PROGRESS)
    expect(h.group.members.has(m1)).toBe(false)
    expect(h.group.members.has(m2)).toBe(true)
  })

  it("the group empties when its last member leaves: the generation moves on and only simple commits are taken", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 1_000 })
    const { ids } = stableGroup(h, 1)
    expect(checkCommit(h.group, { memberId: "", instanceId: null, generation: -1 })).toBe(UNKNOWN_MEMBER_ID)
    h.leave([{ memberId: ids[0]!, instanceId: null }])
    expect(h.group.state).toBe("Empty")
    expect(h.group.generation).toBe(2)
    expect(h.persisted.at(-1)!.state).toBe("Empty")
    expect(checkCommit(h.group, { memberId: "", instanceId: null, generation: -1 })).toBe(NONE)
    expect(checkCommit(h.group, { memberId: ids[0]!, instanceId: null, generation: 1 })).toBe(UNKNOWN_MEMBER_ID)
    expect(checkCommitToUnknownGroup({ memberId: "", instanceId: null, generation: -1 })).toBe(NONE)
    expect(checkCommitToUnknownGroup({ memberId: "x", instanceId: null, generation: 3 })).toBe(ILLEGAL_GENERATION)
  })

  it("refuses commits while members wait for their assignment", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 1_000 })
    const w = h.join("")
    h.advance(1_000)
    const id = h.joins.get(w)!.memberId
    expect(h.group.state).toBe("CompletingRebalance")
    expect(checkCommit(h.group, { memberId: id, instanceId: null, generation: 1 })).toBe(REBALANCE_IN_PROGRESS)
    expect(checkCommit(h.group, { memberId: "nobody", instanceId: null, generation: 1 })).toBe(UNKNOWN_MEMBER_ID)
  })
})

describe("static membership", () => {
  const staticGroup = () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 1_000 })
    const a = h.join("", { instanceId: "host-a", sessionTimeoutMs: 60_000 })
    const b = h.join("", { instanceId: "host-b", sessionTimeoutMs: 60_000 })
    h.advance(1_000)
    const [ma, mb] = [h.joins.get(a)!.memberId, h.joins.get(b)!.memberId]
    h.sync(mb, 1)
    h.sync(ma, 1, [[ma, "A"], [mb, "B"]])
    expect(h.group.state).toBe("Stable")
    return { h, ma, mb }
  }

  it("a restarted static member takes over its old id and assignment without a rebalance; the old id is fenced", () => {
    const { h, ma, mb } = staticGroup()
    const persistedBefore = h.persisted.length
    const back = h.join("", { instanceId: "host-b" })
    const answer = h.joins.get(back)!
    expect(answer).toMatchObject({ errorCode: NONE, generationId: 1, protocolName: "range", leader: ma })
    expect(answer.memberId).not.toBe(mb)
    expect(h.group.state).toBe("Stable")
    expect(h.group.generation).toBe(1)
    // The new id is persisted, so a failover keeps it.
    expect(h.persisted.length).toBe(persistedBefore + 1)
    expect(h.persisted.at(-1)!.members.map((m) => m.memberId)).toEqual([ma, answer.memberId])
    expect(h.heartbeat(answer.memberId, 1, "host-b")).toBe(NONE)
    expect(h.heartbeat(mb, 1, "host-b")).toBe(FENCED_INSTANCE_ID)
    expect(h.assignmentText(h.sync(answer.memberId, 1, [], "host-b"))).toBe("B")
    expect(checkCommit(h.group, { memberId: mb, instanceId: "host-b", generation: 1 })).toBe(FENCED_INSTANCE_ID)
    expect(h.leave([{ memberId: mb, instanceId: "host-b" }])).toEqual([FENCED_INSTANCE_ID])
  })

  it("a static leader that comes back is told to skip the assignment", () => {
    const { h, ma } = staticGroup()
    const back = h.join("", { instanceId: "host-a" })
    const answer = h.joins.get(back)!
    expect(answer.leader).toBe(answer.memberId)
    expect(answer.leader).not.toBe(ma)
    expect(answer.skipAssignment).toBe(true)
    expect(answer.members.length).toBe(2)
  })

  it("a static member that comes back with other protocols makes the group rebalance", () => {
    const { h } = staticGroup()
    h.join("", { instanceId: "host-b", protocols: consumerProtocols("roundrobin", "range") })
    expect(h.group.state).toBe("PreparingRebalance")
  })

  it("a static member that did not rejoin keeps its place until its session lapses; leaving by instance id removes it", () => {
    const { h, ma, mb } = staticGroup()
    h.join(ma, { sessionTimeoutMs: 60_000 }) // the leader rejoins: rebalance; host-b does not
    h.advance(29_900)
    expect(h.group.state).toBe("PreparingRebalance")
    h.advance(100)
    expect(h.group.state).toBe("CompletingRebalance")
    expect([...h.group.members.keys()]).toEqual([ma, mb])
    expect(h.leave([{ memberId: "", instanceId: "host-b" }])).toEqual([NONE])
    expect(h.group.staticMembers.has("host-b")).toBe(false)
    expect(h.leave([{ memberId: "", instanceId: "host-b" }])).toEqual([UNKNOWN_MEMBER_ID])
  })
})

describe("group records", () => {
  it("round-trip, and a coordinator that loads one continues the generation with the same members", () => {
    const h = new MachineHarness({ initialRebalanceDelayMs: 1_000 })
    const { ids } = stableGroup(h, 2)
    const record = decodeGroupRecord(encodeGroupRecord(h.persisted.at(-1)!))
    expect(record).toEqual(h.persisted.at(-1))
    const g = loadGroup("g", record, 500_000)
    expect(g.state).toBe("Stable")
    expect(g.generation).toBe(1)
    expect([...g.members.keys()]).toEqual(ids)
    expect(g.members.get(ids[1]!)!.heartbeatDeadline).toBe(510_000)
    // A record of a barrier whose assignment never came loads as a rebalance in progress.
    const midway = loadGroup("g", h.persisted[0]!, 0)
    expect(midway.state).toBe("PreparingRebalance")
    expect(midway.generation).toBe(1)
  })

  it("refuse truncated, extended or unknown-version bytes", () => {
    const bytes = encodeGroupRecord({ state: "Empty", generation: 3, protocolType: "consumer", protocolName: null, leader: null, members: [] })
    expect(decodeGroupRecord(bytes).generation).toBe(3)
    expect(() => decodeGroupRecord(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/)
    expect(() => decodeGroupRecord(new Uint8Array([...bytes, 0]))).toThrow(/trailing/)
    expect(() => decodeGroupRecord(new Uint8Array([9, ...bytes.subarray(1)]))).toThrow(/version 9/)
    expect(newGroup("x").state).toBe("Empty")
  })
})
