import { describe, expect, it } from "vitest"
import { nodeId } from "../node/node-id.ts"
import { encodeConfChange } from "./codec.ts"
import { initialConfig } from "./membership.ts"
import { defaultRaftOptions, Raft } from "./raft.ts"
import { ids, RaftHarness } from "./raft-harness.test-support.ts"
import type { NodeId } from "../node/node-id.ts"
import type { Entry } from "./types.ts"

const cmd = Raft.command
/** A command entry whose data names its index and term. */
const e = (index: number, term: number): Entry => ({ index, term, kind: "command", data: cmd(`e${index}t${term}`) })

/**
 * Term 2 wrote 2..4 everywhere; a led term 3 and wrote (5, 3) only on itself; b led term 4 and
 * wrote (5, 4) on b and c. a's durable commit index lagged at 1, and it lost 2..4 with their terms.
 */
const bootLostTermRun = (h: RaftHarness, a: NodeId, b: NodeId, c: NodeId): void => {
  const prefix = [e(1, 1), e(2, 2), e(3, 2), e(4, 2)]
  for (const id of [b, c]) h.durable.set(id, { hardState: { term: 4, vote: b, commit: 4 }, entries: [...prefix, e(5, 4)], snapshot: undefined })
  h.durable.set(a, { hardState: { term: 4, vote: b, commit: 1 }, entries: [...prefix, e(5, 3)], snapshot: undefined })
  h.boot(b)
  h.boot(c)
  h.boot(a, [2, 3, 4].map((index) => ({ index, term: undefined })))
}

describe("Raft elections", () => {
  it("a single node elects itself and commits once its entry is durable", () => {
    const h = new RaftHarness(ids(1))
    const leader = h.electLeader()
    expect(leader).toBe("n1")
    expect(h.raft(leader).propose([cmd("a")])).toBe("appended")
    h.deliverAll()
    expect(h.commands(leader)).toEqual(["a"])
  })

  it("three nodes elect exactly one leader per term and replicate in order", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    const terms = [...h.rafts.values()].map((r) => r.term)
    expect(new Set(terms).size).toBe(1)
    expect([...h.rafts.values()].filter((r) => r.role === "leader").length).toBe(1)
    for (const c of ["a", "b", "c"]) h.raft(leader).propose([cmd(c)])
    h.deliverAll()
    h.tick(3)
    for (const id of ids(3)) expect(h.commands(id)).toEqual(["a", "b", "c"])
  })

  it("a follower forwards proposals to the leader", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    const follower = ids(3).find((id) => id !== leader)!
    expect(h.raft(follower).propose([cmd("via-follower")])).toBe("forwarded")
    h.deliverAll()
    h.tick(3)
    expect(h.commands(leader)).toEqual(["via-follower"])
  })

  it("PreVote: a node that was partitioned away rejoins without raising the term or deposing the leader", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    const loner = ids(3).find((id) => id !== leader)!
    const term = h.raft(leader).term
    h.isolate(loner)
    h.tick(100)
    expect(h.raft(loner).term).toBe(term) // pre-votes failed, so it never bumped its term
    h.heal()
    h.tick(5)
    expect(h.leader()).toBe(leader)
    expect(h.raft(leader).term).toBe(term)
  })

  it("CheckQuorum: a leader cut off from the majority steps down", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    h.isolate(leader)
    h.tick(40)
    expect(h.raft(leader).role).not.toBe("leader")
    const others = ids(3).filter((id) => id !== leader)
    expect(others.some((id) => h.raft(id).role === "leader")).toBe(true)
  })

  it("a new leader after a crash keeps every committed entry (leader completeness)", () => {
    const h = new RaftHarness(ids(5))
    const leader = h.electLeader()
    for (const c of ["a", "b", "c"]) h.raft(leader).propose([cmd(c)])
    h.deliverAll()
    h.isolate(leader)
    h.tick(60)
    const next = h.leader()!
    expect(next).not.toBe(leader)
    h.tick(2)
    expect(h.commands(next).slice(0, 3)).toEqual(["a", "b", "c"])
  })

  it("a stale leader's uncommitted entries are overwritten (fast backtracking over a divergent log)", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    h.raft(leader).propose([cmd("committed")])
    h.deliverAll()
    h.isolate(leader)
    for (let i = 0; i < 20; i++) h.raft(leader).propose([cmd(`lost-${i}`)])
    h.deliverAll()
    h.tick(60, ids(3).filter((id) => id !== leader))
    const next = h.leader()!
    expect(next).not.toBe(leader)
    h.raft(next).propose([cmd("new")])
    h.deliverAll()
    h.heal()
    h.tick(10)
    for (const id of ids(3)) expect(h.commands(id)).toEqual(["committed", "new"])
    expect(h.raft(leader).log.lastIndex()).toBe(h.raft(next).log.lastIndex())
  })
})

describe("Raft reads", () => {
  it("ReadIndex on the leader is answered after a heartbeat quorum, at the commit index", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    h.raft(leader).propose([cmd("x")])
    h.deliverAll()
    h.raft(leader).readIndex(7)
    h.deliverAll()
    const states = h.readStates.get(leader)!
    expect(states).toEqual([{ context: 7, index: h.raft(leader).log.committed }])
  })

  it("ReadIndex from a follower is forwarded and answered", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    const follower = ids(3).find((id) => id !== leader)!
    h.raft(follower).readIndex(3)
    h.deliverAll()
    expect(h.readStates.get(follower)!.map((r) => r.context)).toEqual([3])
  })

  it("a leader cut off from the quorum never answers a ReadIndex", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    h.isolate(leader)
    h.raft(leader).readIndex(9)
    h.tick(3, [leader])
    expect(h.readStates.get(leader)!).toEqual([])
  })

  it("lease reads are served locally only while the lease holds", () => {
    const h = new RaftHarness(ids(3), { readMode: "lease" })
    const leader = h.electLeader()
    h.tick(3) // heartbeats establish the lease
    h.isolate(leader)
    h.raft(leader).readIndex(1)
    h.process()
    expect(h.readStates.get(leader)!.map((r) => r.context)).toEqual([1])
    h.tick(10, [leader]) // the lease runs out without a quorum
    h.raft(leader).readIndex(2)
    h.process()
    expect(h.readStates.get(leader)!.map((r) => r.context)).toEqual([1])
  })
})

describe("Raft membership", () => {
  it("adds a voter through the joint configuration and leaves it automatically", () => {
    const n4 = nodeId("n4")
    const h = new RaftHarness(ids(3), {}, [n4])
    const leader = h.electLeader()
    h.tick(2)
    expect(h.raft(leader).proposeConfChange({ kind: "enter-joint", steps: [{ op: "add-voter", node: n4 }] })).toBe("appended")
    h.deliverAll()
    h.tick(5)
    const config = h.raft(leader).config
    expect(config.voters).toEqual(["n1", "n2", "n3", "n4"])
    expect(config.outgoing).toEqual([])
    h.raft(leader).propose([cmd("after")])
    h.deliverAll()
    h.tick(3)
    expect(h.commands(n4)).toEqual(["after"])
  })

  it("a removed leader steps down and the rest elect a new one", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    h.tick(2)
    h.raft(leader).proposeConfChange({ kind: "enter-joint", steps: [{ op: "remove", node: leader }] })
    h.deliverAll()
    h.tick(60)
    expect(h.raft(leader).role).not.toBe("leader")
    const next = h.leader()!
    expect(next).not.toBe(leader)
    expect(h.raft(next).config.voters).not.toContain(leader)
  })

  it("only one membership change at a time", () => {
    const h = new RaftHarness(ids(3), {}, [nodeId("n4"), nodeId("n5")])
    const leader = h.electLeader()
    h.tick(2)
    expect(h.raft(leader).proposeConfChange({ kind: "enter-joint", steps: [{ op: "add-learner", node: nodeId("n4") }] })).toBe("appended")
    expect(h.raft(leader).proposeConfChange({ kind: "enter-joint", steps: [{ op: "add-learner", node: nodeId("n5") }] })).toBe("dropped")
  })

  it("a change that would leave no voters is refused, and such an entry is skipped, never fatal", () => {
    const h = new RaftHarness(ids(1))
    const leader = h.electLeader()
    h.tick(2)
    expect(h.raft(leader).proposeConfChange({ kind: "enter-joint", steps: [{ op: "remove", node: leader }] })).toBe("dropped")
    expect(h.raft(leader).proposeConfChange({ kind: "leave-joint" })).toBe("dropped")
    expect(h.raft(leader).config.voters).toEqual(["n1"])
  })

  it("leadership transfer hands over to the target", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    const target = ids(3).find((id) => id !== leader)!
    h.raft(leader).propose([cmd("x")])
    h.deliverAll()
    h.raft(leader).transferLeadership(target)
    h.deliverAll()
    h.tick(2)
    expect(h.leader()).toBe(target)
  })
})

describe("Raft snapshots and repair", () => {
  it("a follower behind the compacted log catches up through a chunked snapshot", () => {
    const h = new RaftHarness(ids(3), { snapshotChunkBytes: 7 })
    const leader = h.electLeader()
    const lagger = ids(3).find((id) => id !== leader)!
    h.isolate(lagger)
    for (let i = 0; i < 10; i++) h.raft(leader).propose([cmd(`c${i}`)])
    h.deliverAll()
    h.tick(1)
    const raft = h.raft(leader)
    const applied = raft.log.applied
    raft.compact({ meta: { index: applied, term: raft.log.term(applied)!, config: raft.config }, data: new TextEncoder().encode("state-machine-image-of-many-bytes") })
    expect(raft.log.firstIndex()).toBe(applied + 1)
    h.heal()
    h.tick(5)
    expect(h.raft(lagger).log.committed).toBe(raft.log.committed)
    expect(h.durable.get(lagger)!.snapshot?.meta.index).toBe(applied)
    expect(new TextDecoder().decode(h.durable.get(lagger)!.snapshot!.data)).toBe("state-machine-image-of-many-bytes")
  })

  it("a node with a damaged entry neither campaigns nor votes on an unknown tail, and is repaired from its peers", () => {
    const h = new RaftHarness(ids(3))
    const leader = h.electLeader()
    for (const c of ["a", "b", "c"]) h.raft(leader).propose([cmd(c)])
    h.deliverAll()
    h.tick(2)
    const victim = ids(3).find((id) => id !== leader)!
    const damagedIndex = h.raft(victim).log.lastIndex()
    // Crash and restart the victim with its last entry damaged, term lost.
    const raft = h.boot(victim, [{ index: damagedIndex, term: undefined }])
    expect(raft.log.tailKnown()).toBe(false)
    raft.campaignNow()
    expect(raft.role).toBe("follower")
    h.tick(4)
    expect(h.raft(victim).log.hasDamage()).toBe(false)
    expect(h.raft(victim).log.entry(damagedIndex)?.data).toEqual(h.raft(leader).log.entry(damagedIndex)?.data)
  })
})

describe("Raft votes with a damaged uncommitted tail (Protocol-Aware Recovery)", () => {
  const n = (i: number) => nodeId(`n${i}`)
  // n3 led term 1 and wrote entries 1..3; after a crash entries 2 and 3 are damaged, their terms
  // lost. Entry 1 is committed. `voters` is the configuration in force.
  const damagedVoter = (voters: ReadonlyArray<number>, hardTerm = 1) =>
    new Raft(defaultRaftOptions(n(3), () => 0), {
      hardState: { term: hardTerm, vote: undefined, commit: 1 },
      snapshot: undefined,
      entries: [1, 2, 3].map((index) => ({ index, term: 1, kind: "command" as const, data: cmd(`e${index}`) })),
      config: initialConfig(voters.map(n)),
      damaged: [{ index: 2, term: undefined }, { index: 3, term: undefined }]
    })
  const ask = (raft: Raft, from: number, term: number, preVote = false, lastTerm = 1): boolean => {
    raft.step({ type: "vote", from: n(from), to: n(3), term, preVote, transfer: false, lastIndex: 2, lastTerm })
    const ready = raft.ready()
    const response = [...ready.messages, ...ready.messagesAfterPersist].find((m) => m.type === "vote-response" && m.to === n(from))
    return response?.type === "vote-response" && response.granted
  }

  it("votes for a candidate whose promise proves the rest of the tail uncommitted", () => {
    // Voters {n2, n3}: n2 lacks entry 3, and every quorum needs n2, so 3 was never committed;
    // entry 2's lost term lies between its neighbours' (1 and our term 1): it is 1.
    expect(ask(damagedVoter([2, 3]), 2, 2, true)).toBe(true)
    expect(ask(damagedVoter([2, 3]), 2, 2)).toBe(true)
  })

  it("refuses while the candidates that lack the entry do not block every quorum", () => {
    const raft = damagedVoter([1, 2, 3])
    // {n1, n3} could have committed entry 3 without n2.
    expect(ask(raft, 2, 2)).toBe(false)
    // n1 lacks it too, in the same term: now no quorum could have.
    expect(ask(raft, 1, 2)).toBe(true)
  })

  it("does not count a candidate of the term in which the damage was found", () => {
    // We may have acknowledged entry 3 to a leader of term 2 before finding it damaged, and
    // entry 2 may be of term 2: only a candidate with (2, term 2) of a later term will do.
    expect(ask(damagedVoter([2, 3], 2), 2, 2, false, 2)).toBe(false)
    expect(ask(damagedVoter([2, 3], 2), 2, 3, false, 1)).toBe(false)
    expect(ask(damagedVoter([2, 3], 2), 2, 3, false, 2)).toBe(true)
  })

  const repairAnswer = (raft: Raft, from: number, term: number, lastIndex: number, entries: ReadonlyArray<{ index: number; term: number }>) => {
    raft.step({
      type: "repair-response", from: n(from), to: n(3), term, commit: 0, lastIndex, lastTerm: entries.at(-1)?.term ?? 1,
      entries: entries.map((e) => ({ ...e, kind: "command" as const, data: cmd(`e${e.index}`) }))
    })
    raft.ready()
  }

  it("stays silent while unproven, and a peer's repair answer in the candidate's term can prove it (seed 3472)", () => {
    const raft = damagedVoter([1, 2, 3])
    raft.step({ type: "vote", from: n(2), to: n(3), term: 2, preVote: false, transfer: false, lastIndex: 2, lastTerm: 1 })
    const ready = raft.ready()
    // Not a refusal: a refusal would make the candidate give up its term.
    expect([...ready.messages, ...ready.messagesAfterPersist].some((m) => m.type === "vote-response")).toBe(false)
    // n1 answers our repair request in term 2: its log ends at 1, so it lacks entries 2 and 3.
    repairAnswer(raft, 1, 2, 1, [{ index: 1, term: 1 }])
    // The candidate asks again (it does, each heartbeat): n1 and n2 block every quorum now.
    expect(ask(raft, 2, 2)).toBe(true)
  })

  it("judges a pre-vote against its log before the damaged tail, so some election can start", () => {
    expect(ask(damagedVoter([1, 2, 3]), 2, 2, true, 1)).toBe(true)
    const raft = damagedVoter([1, 2, 3])
    raft.step({ type: "vote", from: n(2), to: n(3), term: 2, preVote: true, transfer: false, lastIndex: 0, lastTerm: 0 })
    const response = raft.ready().messages.find((m) => m.type === "vote-response")
    expect(response?.type === "vote-response" && response.granted).toBe(false)
  })

  it("fills holes from a peer's entry of its own term only if it led that term (a vote for itself is not enough)", () => {
    // n3 was in term 2 with entries 2 and 3 of term 2, lost both, and is still in term 2.
    const restart = (led: boolean) =>
      new Raft(defaultRaftOptions(n(3), () => 0), {
        hardState: { term: 2, vote: n(3), commit: 1, ...(led ? { led: true } : {}) },
        snapshot: undefined,
        entries: [1, 2, 3].map((index) => ({ index, term: index === 1 ? 1 : 2, kind: "command" as const, data: cmd(`e${index}`) })),
        config: initialConfig([1, 2, 3].map(n)),
        damaged: [{ index: 2, term: undefined }, { index: 3, term: undefined }]
      })
    const leader = restart(true)
    repairAnswer(leader, 1, 2, 3, [{ index: 2, term: 2 }, { index: 3, term: 2 }])
    expect(leader.log.hasDamage()).toBe(false)
    // A candidate that lost term 2: its entries may be an older term's, another branch.
    const loser = restart(false)
    repairAnswer(loser, 1, 2, 3, [{ index: 2, term: 2 }, { index: 3, term: 2 }])
    expect(loser.log.damagedIndexes()).toEqual([2, 3])
  })

  it("a candidate that lost its term keeps a hole rather than taking the winner's entry as its own (review of 4ed59f3)", () => {
    const h = new RaftHarness(ids(3))
    const [a, b, c] = ids(3) as [NodeId, NodeId, NodeId]
    // Term 1: a wrote (2, 1) on itself. Term 2: c led and wrote (2, 2), (3, 2) on itself. Term 3:
    // c campaigned and lost; b voted for a, which replicated (2, 1), (3, 3) to b.
    h.durable.set(a, { hardState: { term: 3, vote: a, commit: 3, led: true }, entries: [e(1, 1), e(2, 1), e(3, 3)], snapshot: undefined })
    h.durable.set(b, { hardState: { term: 3, vote: a, commit: 1 }, entries: [e(1, 1), e(2, 1), e(3, 3)], snapshot: undefined })
    h.durable.set(c, { hardState: { term: 3, vote: c, commit: 1 }, entries: [e(1, 1), e(2, 2), e(3, 2)], snapshot: undefined })
    h.boot(a)
    h.boot(b)
    h.boot(c, [{ index: 3, term: undefined }])
    h.isolate(a)
    h.tick(6, [c])
    expect(h.raft(c).log.damagedIndexes()).toEqual([3])
    const leader = h.electLeader()
    h.raft(leader).propose([cmd("x")])
    h.deliverAll()
    h.tick(5)
    // Whoever leads, a's committed (2, 1) is what everyone applies.
    for (const id of [b, c]) expect(h.applied.get(id)!.find((x) => x.index === 2)?.term).toBe(1)
  })

  it("one entry per message: a follower's lost-term hole before another branch ends up holding the leader's branch, never a mix (review of 50a70e7)", () => {
    const [a, b, c, d, e5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId]
    const h = new RaftHarness([a, b, c, d, e5], { maxBytesPerMessage: 1 })
    // Term 2: b wrote (2, 2) on b and d. Term 3: c wrote (2, 3), (3, 3) on c and a. a lost entry 2.
    h.durable.set(a, { hardState: { term: 3, vote: c, commit: 1 }, entries: [e(1, 1), e(2, 3), e(3, 3)], snapshot: undefined })
    h.durable.set(c, { hardState: { term: 3, vote: c, commit: 1 }, entries: [e(1, 1), e(2, 3), e(3, 3)], snapshot: undefined })
    for (const id of [b, d]) h.durable.set(id, { hardState: { term: 3, vote: c, commit: 1 }, entries: [e(1, 1), e(2, 2)], snapshot: undefined })
    h.durable.set(e5, { hardState: { term: 3, vote: c, commit: 1 }, entries: [e(1, 1)], snapshot: undefined })
    for (const id of [b, c, d, e5]) h.boot(id)
    h.boot(a, [{ index: 2, term: undefined }])
    h.isolate(c)
    h.raft(b).campaignNow()
    h.deliverAll()
    h.tick(4, [a, b, d, e5])
    expect(h.raft(b).role).toBe("leader")
    // a never takes (2, 2) and keeps (3, 3) after it: a batch reaching past the hole settles both.
    expect([1, 2, 3].map((i) => h.raft(a).log.term(i))).toEqual([1, 2, 4])
    expect(h.raft(a).log.hasDamage()).toBe(false)
  })

  it("a committed suffix after a lost-term hole is neither dropped nor vouched for by a fill that stops at the hole (reviews of 4ed59f3, 50a70e7)", () => {
    const h = new RaftHarness(ids(3))
    const [a, b, c] = ids(3) as [NodeId, NodeId, NodeId]
    const log = [1, 2, 3, 4].map((i) => e(i, 1)).concat([e(5, 4)], [6, 7, 8, 9, 10].map((i) => e(i, 5)))
    // a led term 5 and committed 10 with b; b's durable commit index lagged at 4; c holds 1..5.
    h.durable.set(a, { hardState: { term: 5, vote: a, commit: 10, led: true }, entries: log.slice(), snapshot: undefined })
    h.durable.set(b, { hardState: { term: 5, vote: a, commit: 4 }, entries: log.slice(), snapshot: undefined })
    h.durable.set(c, { hardState: { term: 5, vote: a, commit: 5 }, entries: log.slice(0, 5), snapshot: undefined })
    h.boot(a)
    h.boot(c)
    h.boot(b, [{ index: 5, term: undefined }])
    h.isolate(a)
    h.tick(12, [b])
    // c's committed run stops at 5: filling it would leave b's 6..10 vouched for by nothing.
    expect(h.raft(b).log.lastIndex()).toBe(10)
    expect(h.raft(b).log.damagedIndexes()).toEqual([5])
    // Without a, neither b nor c may lead: c lacks 6..10, which may be (and are) committed.
    h.tick(60, [b, c])
    expect(h.leader()).toBeUndefined()
    h.heal()
    const leader = h.electLeader()
    h.raft(leader).propose([cmd("x")])
    h.deliverAll()
    h.tick(5)
    for (const id of [a, b, c]) expect(h.raft(id).log.entry(6)?.term).toBe(5)
    expect(h.raft(b).log.hasDamage()).toBe(false)
  })

  it("held-back fills whose suffix a conflict earlier in the batch truncated are simply appended (review of 505722a)", () => {
    const [n1, n2, n3, n4, n5] = ids(5) as [NodeId, NodeId, NodeId, NodeId, NodeId]
    const h = new RaftHarness([n1, n2, n3, n4, n5], { maxBytesPerMessage: 1 })
    // Term 2: n1 wrote 2..4 on n1, n2. Term 3: n3 wrote 2..4 on n3, n4. Term 4: n1 wrote (5, 4) on
    // n1, n2. n2 lost 3 and 4 with their terms; n3 campaigns in term 5 with n4 and n5.
    for (const id of [n1, n2]) h.durable.set(id, { hardState: { term: 4, vote: n1, commit: 1 }, entries: [e(1, 1), e(2, 2), e(3, 2), e(4, 2), e(5, 4)], snapshot: undefined })
    for (const id of [n3, n4]) h.durable.set(id, { hardState: { term: 4, vote: n1, commit: 1 }, entries: [e(1, 1), e(2, 3), e(3, 3), e(4, 3)], snapshot: undefined })
    h.durable.set(n5, { hardState: { term: 4, vote: n1, commit: 1 }, entries: [e(1, 1)], snapshot: undefined })
    for (const id of [n1, n3, n4, n5]) h.boot(id)
    h.boot(n2, [3, 4].map((index) => ({ index, term: undefined })))
    h.raft(n3).campaignNow()
    // The probe [(2, 3), (3, 3)] holds (3, 3) back for n2's (5, 4), but (2, 3) conflicts and cuts it.
    expect(h.deliverAll(10_000)).toBeLessThan(10_000)
    expect(h.raft(n3).role).toBe("leader")
    expect([2, 3, 4].map((i) => h.raft(n2).log.term(i))).toEqual([3, 3, 3])
    expect(h.raft(n2).log.hasDamage()).toBe(false)
  })

  it("a long probe stopped short by the leader's own damage waits for the next heartbeat, not a storm (review of 505722a)", () => {
    const [a, b, c] = ids(3) as [NodeId, NodeId, NodeId]
    const h = new RaftHarness([a, b, c])
    bootLostTermRun(h, a, b, c)
    h.isolate(a)
    h.raft(b).campaignNow()
    h.deliverAll()
    // The leader finds its entry 4 rotten; c, the only other copy, is cut off.
    h.raft(b).markDamaged(4, 2)
    h.heal()
    h.isolate(c)
    h.raft(b).propose([cmd("x")])
    expect(h.deliverAll(5_000)).toBeLessThan(5_000)
    let deliveries = 0
    for (let t = 0; t < 20; t++) {
      h.raft(a).tick()
      h.raft(b).tick()
      deliveries += h.deliverAll(5_000)
    }
    // A few messages per heartbeat, not thousands.
    expect(deliveries).toBeLessThan(500)
  })

  it("holes far past the commit index are repaired from peers without a leader (seed 712)", () => {
    const [a, b, c] = ids(3) as [NodeId, NodeId, NodeId]
    const h = new RaftHarness([a, b, c])
    const log = Array.from({ length: 70 }, (_, i) => e(i + 1, i < 60 ? 1 : 2))
    // Durable commit indexes lagged at 1. a and b hold the longest log, each with a hole the
    // other holds, beyond the run after the commit index that repair requests cover; c is short.
    for (const id of [a, b]) h.durable.set(id, { hardState: { term: 2, vote: undefined, commit: 1 }, entries: log.slice(), snapshot: undefined })
    h.durable.set(c, { hardState: { term: 2, vote: undefined, commit: 1 }, entries: log.slice(0, 60), snapshot: undefined })
    h.boot(a, [{ index: 50, term: undefined }])
    h.boot(b, [{ index: 55, term: undefined }])
    h.boot(c)
    const leader = h.electLeader()
    expect([a, b]).toContain(leader)
    for (const id of [a, b]) expect(h.raft(id).log.hasDamage()).toBe(false)
    expect(h.raft(a).log.entry(50)?.term).toBe(1)
  })

  it("a run of lost-term holes longer than one message still gets filled: the follower names the batch it needs (review of c7de9f6)", () => {
    const [a, b, c] = ids(3) as [NodeId, NodeId, NodeId]
    // One entry per message, so a probe (two entries) cannot reach past a's three holes.
    const h = new RaftHarness([a, b, c], { maxBytesPerMessage: 1 })
    bootLostTermRun(h, a, b, c)
    h.raft(b).campaignNow()
    h.deliverAll()
    expect(h.raft(b).role).toBe("leader")
    // From here b needs a for every commit.
    h.isolate(c)
    h.raft(b).propose([cmd("x")])
    // Without the follower's hint, probe, short success and rejection chased each other forever.
    expect(h.deliverAll(1_000)).toBeLessThan(1_000)
    expect(h.commands(b)).toContain("x")
    expect(h.raft(a).log.hasDamage()).toBe(false)
    expect([2, 3, 4, 5].map((i) => h.raft(a).log.term(i))).toEqual([2, 2, 2, 4])
  })
})

describe("Raft decisions under a configuration not yet known committed", () => {
  it("a candidate whose log holds a later configuration needs a quorum of it too", () => {
    const n = (i: number) => nodeId(`n${i}`)
    // n2 applied {n1, n2, n3}; its log also holds the change to {n2, n3, n4}, perhaps committed
    // already (its commit index may lag): {n1, n2} must not be enough to lead.
    const change = encodeConfChange({ kind: "enter-joint", steps: [{ op: "add-voter", node: n(4) }, { op: "remove", node: n(1) }] })
    const raft = new Raft({ ...defaultRaftOptions(n(2), () => 0), preVote: false }, {
      hardState: { term: 1, vote: undefined, commit: 1 },
      snapshot: undefined,
      entries: [
        { index: 1, term: 1, kind: "noop", data: new Uint8Array(0) },
        { index: 2, term: 1, kind: "config", data: change }
      ],
      config: initialConfig([n(1), n(2), n(3)])
    })
    raft.campaignNow()
    const requests = raft.ready().messagesAfterPersist.filter((m) => m.type === "vote").map((m) => m.to).sort()
    expect(requests).toEqual([n(1), n(3), n(4)])
    raft.step({ type: "vote-response", from: n(1), to: n(2), term: 2, preVote: false, granted: true })
    expect(raft.role).toBe("candidate")
    raft.step({ type: "vote-response", from: n(3), to: n(2), term: 2, preVote: false, granted: true })
    expect(raft.role).toBe("leader")
  })
})

describe("Raft repair by a peer's snapshot", () => {
  it("takes the snapshot's configuration along with its state", () => {
    const n = (i: number) => nodeId(`n${i}`)
    // n2's snapshots rotted: entries 1..5 are holes, and it only knows the bootstrap voters.
    const raft = new Raft({ ...defaultRaftOptions(n(2), () => 0), preVote: false }, {
      hardState: { term: 1, vote: undefined, commit: 5 },
      snapshot: undefined,
      entries: [1, 2, 3, 4, 5].map((index) => ({ index, term: 0, kind: "noop" as const, data: new Uint8Array(0) })),
      config: initialConfig([n(1), n(2), n(3)]),
      damaged: [1, 2, 3, 4, 5].map((index) => ({ index, term: undefined }))
    })
    const members = initialConfig([n(2), n(4), n(5)])
    raft.step({ type: "repair-snapshot", from: n(4), to: n(2), term: 1, meta: { index: 5, term: 1, config: members }, data: new Uint8Array([1]) })
    expect(raft.log.hasDamage()).toBe(false)
    expect(raft.config).toEqual(members)
    raft.ready()
    raft.campaignNow()
    expect(raft.ready().messagesAfterPersist.filter((m) => m.type === "vote").map((m) => m.to).sort()).toEqual([n(4), n(5)])
  })
})

describe("Raft repair by a peer's snapshot past the commit index (seed 765, review of 8f67ce1)", () => {
  const n = (i: number) => nodeId(`n${i}`)
  const config = initialConfig([n(1), n(2), n(3)])
  const entry = (index: number, term: number): Entry => ({ index, term, kind: "command", data: cmd(`e${index}`) })
  // n2 holds 1..10 of term 1 on disk with a hole at 3; its durable commit index lagged at 1.
  const damagedNode = () => {
    const raft = new Raft({ ...defaultRaftOptions(n(2), () => 0), preVote: false }, {
      hardState: { term: 2, vote: undefined, commit: 1 },
      snapshot: undefined,
      entries: Array.from({ length: 10 }, (_, i) => entry(i + 1, 1)),
      config,
      damaged: [{ index: 3, term: undefined }]
    })
    raft.ready()
    return raft
  }
  const repairSnapshot = (index: number, term: number) =>
    ({ type: "repair-snapshot", from: n(3), to: n(2), term: 2, meta: { index, term, config }, data: cmd(`state@${index}`) }) as const

  it("takes one that ends on an intact entry of ours of its term, and commits that entry", () => {
    const raft = damagedNode()
    raft.step(repairSnapshot(5, 1))
    expect(raft.log.hasDamage()).toBe(false)
    expect(raft.log.committed).toBe(5)
    expect(raft.ready().repairSnapshot?.meta.index).toBe(5)
  })

  it("refuses one whose term differs from our entry there, or that ends past what our disk holds", () => {
    const raft = damagedNode()
    raft.step(repairSnapshot(5, 2))
    expect(raft.log.hasDamage()).toBe(true)
    raft.step({ type: "append", from: n(1), to: n(2), term: 2, prevIndex: 10, prevTerm: 1, entries: [entry(11, 2), entry(12, 2)], commit: 1 })
    raft.step(repairSnapshot(12, 2))
    expect(raft.log.hasDamage()).toBe(true)
    expect(raft.log.committed).toBe(1)
  })

  it("a leader's snapshot in the same batch supersedes it: the state machine never goes back", () => {
    const raft = damagedNode()
    raft.step(repairSnapshot(5, 1))
    const image = cmd("state@30")
    raft.step({ type: "snapshot", from: n(1), to: n(2), term: 2, meta: { index: 30, term: 2, config }, offset: 0, total: image.length, chunk: image })
    const ready = raft.ready()
    expect(ready.snapshot?.meta.index).toBe(30)
    expect(ready.repairSnapshot).toBeUndefined()
  })

  it("a snapshot transfer from a leader that went quiet does not keep the node from campaigning (review of ec873ae)", () => {
    const raft = new Raft({ ...defaultRaftOptions(n(2), () => 0), preVote: false }, {
      hardState: { term: 2, vote: undefined, commit: 1 }, snapshot: undefined, entries: [entry(1, 1)], config
    })
    raft.ready()
    const image = cmd("state@5")
    raft.step({ type: "snapshot", from: n(1), to: n(2), term: 2, meta: { index: 5, term: 1, config }, offset: 0, total: 2 * image.length, chunk: image })
    for (let t = 0; t < 50 && raft.role === "follower"; t++) raft.tick()
    expect(raft.role).toBe("candidate")
  })

  it("a snapshot transfer it overtakes does not keep the node from campaigning", () => {
    const raft = damagedNode()
    const image = cmd("state@5")
    raft.step({ type: "snapshot", from: n(1), to: n(2), term: 2, meta: { index: 5, term: 1, config }, offset: 0, total: 2 * image.length, chunk: image })
    raft.step(repairSnapshot(5, 1))
    raft.step({ type: "snapshot", from: n(1), to: n(2), term: 2, meta: { index: 5, term: 1, config }, offset: image.length, total: 2 * image.length, chunk: image })
    raft.ready()
    raft.campaignNow()
    expect(raft.role).toBe("candidate")
  })
})

describe("Raft flow control", () => {
  it("a follower that answers nothing holds at most maxInflightBytes of appends in flight", () => {
    const h = new RaftHarness(ids(3), { maxInflightBytes: 2500 })
    const leader = h.electLeader()
    const slow = ids(3).find((id) => id !== leader)!
    h.isolate(slow)
    for (let i = 0; i < 10; i++) {
      h.raft(leader).propose([new Uint8Array(1000).fill(i)])
      h.deliverAll()
    }
    // Three appends of 1,000 bytes reach the cap; the other seven wait (and still commit on the others).
    expect(h.raft(leader).describe()).toMatch(new RegExp(`${slow}:replicate/m\\d+/n\\d+/i3\\b`))
    expect(h.raft(leader).log.committed).toBe(h.raft(leader).log.lastIndex())
  })
})
