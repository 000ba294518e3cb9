import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FENCED_INSTANCE_ID, MEMBER_ID_REQUIRED, NONE, UNKNOWN_MEMBER_ID } from "./error-codes.ts"
import { MachineHarness } from "./machine-harness.test-support.ts"
import { checkCommit } from "./offset-commit-check.ts"

/** Four clients; the last is static ("s3"). Each remembers what a real consumer would. */
interface Client {
  readonly instanceId: string | null
  memberId: string
  generation: number
  leaderOf: ReadonlyArray<{ readonly memberId: string; readonly identity: string }> | undefined
  join: number | undefined
  sync: number | undefined
  /** The coordinator said to rejoin (or the client never joined). */
  needsJoin: boolean
  /** It has its assignment for `generation`. */
  synced: boolean
}

/**
 * "act": the client's next step as a consumer takes it (join when told to,
 * sync once joined, heartbeat otherwise); the others break the routine:
 * an extra join, a sync or heartbeat out of turn, a leave, a restart, time.
 */
type Action =
  | { readonly kind: "act" | "join" | "sync" | "heartbeat" | "leave" | "restart"; readonly c: number }
  | { readonly kind: "advance"; readonly ms: number }

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant("act" as const), c: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("join" as const), c: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sync" as const), c: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("heartbeat" as const), c: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), c: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), c: fc.nat(3) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 4_000 }) }) }
)

const assignmentOf = (generation: number, identity: string) => `${generation}/${identity}`

/** Every member of a Stable group holds what the current generation's leader assigned it. */
const checkStableAssignments = (h: MachineHarness) => {
  for (const m of h.group.members.values()) expect(new TextDecoder().decode(m.assignment)).toBe(assignmentOf(h.group.generation, m.instanceId ?? m.memberId))
}

/** How much of the state space the runs reached, so a generator that never forms a group fails the test. */
const coverage = { stable: 0, stableShared: 0, maxGeneration: 0 }

/** Runs the actions, checking the invariants after each; returns the harness for the final checks. */
const simulate = (actions: ReadonlyArray<Action>) => {
  const h = new MachineHarness({ initialRebalanceDelayMs: 2_000 })
  const clients: Array<Client> = [0, 1, 2, 3].map((i) => ({ instanceId: i === 3 ? "s3" : null, memberId: "", generation: -1, leaderOf: undefined, join: undefined, sync: undefined, needsJoin: true, synced: false }))
  const issued = new Set<number>()
  let lastGeneration = 0

  const collect = () => {
    for (const c of clients) {
      const j = c.join === undefined ? undefined : h.joins.get(c.join)
      if (j !== undefined) {
        c.join = undefined
        c.needsJoin = j.errorCode !== NONE
        if (j.errorCode === NONE) {
          expect(j.generationId).toBeGreaterThanOrEqual(c.generation)
          if (j.generationId !== c.generation) c.synced = false
          c.memberId = j.memberId
          c.generation = j.generationId
          c.leaderOf = j.leader === j.memberId ? j.members.map((m) => ({ memberId: m.memberId, identity: m.groupInstanceId ?? m.memberId })) : undefined
          if (c.leaderOf !== undefined && !j.skipAssignment) expect(c.leaderOf.some((m) => m.memberId === j.memberId)).toBe(true)
        } else if (j.errorCode === MEMBER_ID_REQUIRED) c.memberId = j.memberId
        else if (j.errorCode === UNKNOWN_MEMBER_ID || j.errorCode === FENCED_INSTANCE_ID) c.memberId = ""
      }
      const s = c.sync === undefined ? undefined : h.syncs.get(c.sync)
      if (s !== undefined) {
        c.sync = undefined
        // An assignment is the one the leader gave this member for the generation it synced in.
        if (s.errorCode === NONE) expect(new TextDecoder().decode(s.assignment)).toBe(assignmentOf(c.generation, c.instanceId ?? c.memberId))
        c.synced = s.errorCode === NONE
        if (s.errorCode !== NONE) c.needsJoin = true
      }
    }
  }

  const check = () => {
    const g = h.group
    expect(g.generation).toBeGreaterThanOrEqual(lastGeneration)
    lastGeneration = g.generation
    if (g.state === "Stable") {
      checkStableAssignments(h)
      coverage.stable += 1
      if (g.members.size >= 2) coverage.stableShared += 1
    }
    coverage.maxGeneration = Math.max(coverage.maxGeneration, g.generation)
    // Nobody commits as a member of an older generation.
    for (const m of g.members.values()) if (g.generation > 1) expect(checkCommit(g, { memberId: m.memberId, instanceId: m.instanceId, generation: g.generation - 1 })).not.toBe(NONE)
  }

  const step = (a: Action): void => {
    if (a.kind === "advance") return h.advance(a.ms)
    const c = clients[a.c]!
    switch (a.kind) {
      case "act":
        if (c.join !== undefined || c.sync !== undefined) return // waiting at a barrier
        return step({ kind: c.needsJoin || c.memberId === "" ? "join" : c.synced ? "heartbeat" : "sync", c: a.c })
      case "join": {
        c.join = h.join(c.memberId, { instanceId: c.instanceId, requireKnownMemberId: true })
        issued.add(c.join)
        return
      }
      case "sync": {
        if (c.generation < 0 || c.memberId === "") return
        const assignments = (c.leaderOf ?? []).map((m) => [m.memberId, assignmentOf(c.generation, m.identity)] as const)
        c.sync = h.sync(c.memberId, c.generation, assignments, c.instanceId)
        issued.add(c.sync)
        return
      }
      case "heartbeat": {
        if (c.memberId === "") return
        const code = h.heartbeat(c.memberId, c.generation, c.instanceId)
        if (code === UNKNOWN_MEMBER_ID || code === FENCED_INSTANCE_ID) c.memberId = ""
        if (code !== NONE) c.needsJoin = true
        return
      }
      case "leave":
        if (c.memberId !== "") h.leave([{ memberId: c.memberId, instanceId: c.instanceId }])
        c.memberId = ""
        c.needsJoin = true
        return
      case "restart":
        // The process restarts: it forgets its member id (a static member comes back by instance id).
        c.memberId = ""
        c.generation = -1
        c.join = undefined
        c.sync = undefined
        c.needsJoin = true
        c.synced = false
        return
    }
  }

  for (const a of actions) {
    step(a)
    collect()
    check()
  }
  return { h, issued }
}

describe("the group state machine under random joins, syncs, heartbeats, leaves, restarts and time", () => {
  it("keeps its invariants, and once everyone goes quiet answers every parked request and empties", () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 20, maxLength: 150, size: "max" }), (actions) => {
        const { h, issued } = simulate(actions)
        // Nobody heartbeats any more: within the longest timeouts every member is gone.
        h.advance(120_000, 1_000)
        expect(h.group.state).toBe("Empty")
        expect(h.group.members.size).toBe(0)
        for (const w of issued) expect(h.joins.has(w) || h.syncs.has(w)).toBe(true)
      }),
      { numRuns: 300 }
    )
    expect(coverage.stableShared).toBeGreaterThan(100)
    expect(coverage.maxGeneration).toBeGreaterThan(5)
  })

  it("would notice a Stable member holding another member's assignment (the check can fail)", () => {
    const { h } = simulate([
      { kind: "join", c: 0 },
      { kind: "join", c: 0 },
      { kind: "advance", ms: 2_000 },
      { kind: "sync", c: 0 }
    ])
    expect(h.group.state).toBe("Stable")
    const m = [...h.group.members.values()][0]!
    checkStableAssignments(h)
    m.assignment = new TextEncoder().encode(assignmentOf(h.group.generation, "someone-else"))
    expect(() => checkStableAssignments(h)).toThrow()
  })
})
