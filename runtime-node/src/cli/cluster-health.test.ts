import { describe, expect, it } from "vitest"
import { memberStatusOf } from "./member-probe.ts"
import { formatMemberTable, formatRebalance, LAG_WARN_ENTRIES, type MemberEntry, memberRows, type StatusProbe } from "./cluster-health.ts"

const members: ReadonlyArray<MemberEntry> = [
  { id: "n1", apiAddress: "127.0.0.1:9100", role: "voter" },
  { id: "n2", apiAddress: "127.0.0.1:9101", role: "voter" },
  { id: "n3", apiAddress: "127.0.0.1:9102", role: "voter" },
  { id: "n4", apiAddress: null, role: "learner" }
]
const up = (role: string, commit: number, applied: number, leader: string | null = "n1"): StatusProbe => ({ ok: true, status: { role, term: 3, leader, commit, applied } })

describe("cluster list rows", () => {
  it("reports each member's role, health and lag behind the leader's commit", () => {
    const rows = memberRows(members, new Map([
      ["n1", up("leader", 5000, 5000)],
      ["n2", up("follower", 4990, 4980)],
      ["n3", up("follower", 3000, 3000 - 1)]
    ]))
    expect(rows.map((r) => [r.id, r.raftRole, r.health, r.lag])).toEqual([
      ["n1", "leader", "healthy", 0],
      ["n2", "follower", "healthy", 20],
      ["n3", "follower", "lagging", 2001],
      ["n4", null, "unknown-address", null]
    ])
  })

  it("calls a member that did not answer unreachable, with the reason", () => {
    const rows = memberRows(members.slice(0, 2), new Map<string, StatusProbe>([["n1", up("leader", 10, 10)], ["n2", { ok: false, error: "connect ECONNREFUSED" }]]))
    expect(rows[1]).toMatchObject({ id: "n2", health: "unreachable", lag: null, error: "connect ECONNREFUSED" })
    expect(formatMemberTable(rows)).toContain("n2: connect ECONNREFUSED")
  })

  it("without a leader, measures lag against the highest commit seen and says no-leader", () => {
    const rows = memberRows(members.slice(0, 2), new Map([["n1", up("candidate", 100, 100, null)], ["n2", up("follower", 40, 40, null)]]))
    expect(rows.map((r) => [r.health, r.lag])).toEqual([["no-leader", 0], ["no-leader", 60]])
  })

  it("draws the threshold at LAG_WARN_ENTRIES", () => {
    const at = memberRows(members.slice(0, 2), new Map([["n1", up("leader", LAG_WARN_ENTRIES, LAG_WARN_ENTRIES)], ["n2", up("follower", 0, 0)]]))
    const past = memberRows(members.slice(0, 2), new Map([["n1", up("leader", LAG_WARN_ENTRIES + 1, LAG_WARN_ENTRIES + 1)], ["n2", up("follower", 0, 0)]]))
    expect(at[1]!.health).toBe("healthy")
    expect(past[1]!.health).toBe("lagging")
  })

  it("formats an aligned table with a header", () => {
    const zoned = [{ ...members[0]!, zone: "rack-a", weight: 2 }, members[1]!]
    const table = formatMemberTable(memberRows(zoned, new Map([["n1", up("leader", 7, 7)], ["n2", up("follower", 7, 7)]]))).split("\n")
    expect(table[0]).toMatch(/^ID\s+MEMBERSHIP\s+ZONE\s+WEIGHT\s+ROLE\s+HEALTH\s+TERM\s+COMMIT\s+APPLIED\s+LAG\s+API$/)
    expect(table[1]).toMatch(/^n1\s+voter\s+rack-a\s+2\s+leader\s+healthy\s+3\s+7\s+7\s+0\s+127\.0\.0\.1:9100$/)
    // A member without a zone (or a server that predates zones) shows "-"; without a weight, 1.
    expect(table[2]).toMatch(/^n2\s+voter\s+-\s+1\s+follower\s/)
  })

  it("gives each member's disk backend and its role and lag in every Raft group it reports", () => {
    const g = (group: string, role: string, leader: string, commit: number, applied: number) => ({ group, name: group, role, leader, term: 2, commit, applied })
    const rows = memberRows(members.slice(0, 3), new Map<string, StatusProbe>([
      ["n1", { ok: true, status: { role: "leader", term: 3, leader: "n1", commit: 9, applied: 9, disk: "io_uring", groups: [g("kv", "leader", "n1", 9, 9), g("log/t/0", "follower", "n2", 40, 38)] } }],
      ["n2", { ok: true, status: { role: "follower", term: 3, leader: "n1", commit: 9, applied: 9, disk: "libuv", groups: [g("kv", "follower", "n1", 9, 7), g("log/t/0", "leader", "n2", 45, 45)] } }],
      // A server that predates groups and disk reports says neither.
      ["n3", up("follower", 9, 9)]
    ]))
    expect(rows.map((r) => r.disk)).toEqual(["io_uring", "libuv", null])
    expect(rows[0]!.groups!.map((x) => [x.group, x.role, x.lag])).toEqual([["kv", "leader", 0], ["log/t/0", "follower", 7]])
    // Lag in a group is behind the highest commit any member reports for that group (its leader's 45), not the KV's.
    expect(rows[1]!.groups!.map((x) => [x.group, x.role, x.lag])).toEqual([["kv", "follower", 2], ["log/t/0", "leader", 0]])
    expect(rows[2]!.groups).toBeNull()
  })

  it("reads the disk and groups of a /v1/status answer, dropping malformed groups", () => {
    const s = memberStatusOf({ role: "leader", term: 4, leader: "n1", commit: 5, applied: 5, disk: "io_uring", groups: [{ group: "kv", name: "kv", role: "leader", leader: "n1", term: 4, commit: 5, applied: 5 }, { group: "t1.0", role: "follower" }, { role: "x" }, 7] })
    expect(s.disk).toBe("io_uring")
    // A group without a name is called by its id; one without a group id is dropped.
    expect(s.groups).toEqual([{ group: "kv", name: "kv", role: "leader", leader: "n1", term: 4, commit: 5, applied: 5 }, { group: "t1.0", name: "t1.0", role: "follower", leader: null, term: 0, commit: 0, applied: 0 }])
    const old = memberStatusOf({ role: "follower", term: 1, leader: null, commit: 0, applied: 0 })
    expect(old.disk).toBeNull()
    expect(old.groups).toBeUndefined()
  })

  it("says where rebalancing stands", () => {
    const base = { pass: 1, records: 120, shardsMoved: 30, bytesMoved: 3 * 1024 * 1024, shardsPending: 0 }
    expect(formatRebalance(null)).toBe("rebalance: no pass has run yet")
    expect(formatRebalance({ ...base, state: "moving", shardsPending: 2 })).toBe("rebalance: moving (pass 1): 120 records checked, 30 shards moved (3.0 MiB), 2 misplaced shards waiting to be retried")
    expect(formatRebalance({ ...base, state: "done" })).toBe("rebalance: done for the current members: 120 records checked, 30 shards moved (3.0 MiB)")
    expect(formatRebalance({ ...base, state: "waiting" })).toMatch(/members changed/)
    expect(formatRebalance({ ...base, state: "settling", pass: 2, records: 0 })).toBe("rebalance: settling (pass 2: writes in flight at the change, pending shards): 0 records checked, 30 shards moved (3.0 MiB)")
  })
})
