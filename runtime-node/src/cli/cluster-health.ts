/**
 * What `cairn cluster list` shows for each member: its Raft role, whether it
 * is healthy, and how far it trails the cluster. Pure: the command fetches
 * each member's `/v1/status` and hands the answers here, so the judgement is
 * unit-tested without a cluster.
 *
 * Lag is counted in log entries: the highest commit index any member reports
 * (the leader's, when it answered) minus what this member has applied. It
 * covers replication and apply together, which is what a reader of that
 * member waits for.
 *
 * Below the table, one line on rebalancing: whether the shards sit where
 * the current members (and their capacity weights) place them, and how far
 * the leader's pass has got.
 */
import type { RaftGroupStatus } from "@cairn/core/kv-api/context"

/** One member as `/v1/admin/members` lists it. */
export interface MemberEntry {
  readonly id: string
  readonly apiAddress: string | null
  /** Configured membership: voter or learner. */
  readonly role: "voter" | "learner"
  /** The failure domain the node published with `--zone` (absent from servers that predate zones). */
  readonly zone?: string | null
  /** Marked draining (absent from servers that predate draining). */
  readonly draining?: boolean
  /** The capacity weight the node published (absent from servers that predate weights: 1). */
  readonly weight?: number
}

/** Rebalancing as `/v1/admin/members` reports it (members.ts `RebalanceView`). */
export interface RebalanceEntry {
  readonly state: "done" | "moving" | "settling" | "waiting"
  readonly pass: number
  readonly records: number
  readonly shardsMoved: number
  readonly bytesMoved: number
  readonly shardsPending: number
}

/** One Raft group as a member's `/v1/status` reports it (absent from servers that predate groups): the node's own view less its last index. */
export type GroupStatus = Omit<RaftGroupStatus, "lastIndex">

/** The fields of `/v1/status` this view reads. */
export interface MemberStatus {
  readonly role: string
  readonly term: number
  readonly leader: string | null
  readonly commit: number
  readonly applied: number
  /** "io_uring" or "libuv"; null from servers that do not say. */
  readonly disk?: string | null
  readonly groups?: ReadonlyArray<GroupStatus>
}

/** A member's answer: its status, or why there is none. */
export type StatusProbe =
  | { readonly ok: true; readonly status: MemberStatus }
  | { readonly ok: false; readonly error: string }

export type Health = "healthy" | "lagging" | "no-leader" | "unreachable" | "unknown-address"

export interface MemberRow {
  readonly id: string
  readonly membership: "voter" | "learner" | "voter,draining" | "learner,draining"
  readonly zone: string | null
  readonly weight: number
  /** The Raft role the member reports, or null when it did not answer. */
  readonly raftRole: string | null
  readonly health: Health
  readonly term: number | null
  readonly commit: number | null
  readonly applied: number | null
  /** Entries behind the cluster's highest known commit; null when unknown. */
  readonly lag: number | null
  readonly apiAddress: string | null
  /** The Disk implementation it runs on ("io_uring" or "libuv"); null when unknown. */
  readonly disk: string | null
  /** Its role in every Raft group it holds a replica of (the KV's and the log partitions'); null when unknown. */
  readonly groups: ReadonlyArray<GroupRow> | null
  readonly error?: string
}

/** A member's replica of one Raft group, with its lag behind the highest commit any member reports for that group. */
export interface GroupRow extends GroupStatus {
  readonly lag: number
}

/** A member more than this many entries behind is reported as lagging. */
export const LAG_WARN_ENTRIES = 1000

/** Per Raft group, the highest commit any member reports: its leader's, or beyond what a partitioned old leader knows. */
const highestCommits = (answered: ReadonlyArray<MemberStatus>): Map<string, number> => {
  const commits = new Map<string, number>()
  for (const g of answered.flatMap((s) => s.groups ?? [])) commits.set(g.group, Math.max(commits.get(g.group) ?? 0, g.commit))
  return commits
}

export const memberRows = (
  members: ReadonlyArray<MemberEntry>,
  probes: ReadonlyMap<string, StatusProbe>
): Array<MemberRow> => {
  const answered = [...probes.values()].flatMap((p) => (p.ok ? [p.status] : []))
  const leaderStatus = answered.find((s) => s.role === "leader")
  const clusterCommit = leaderStatus?.commit ?? Math.max(0, ...answered.map((s) => s.commit))
  const groupCommits = highestCommits(answered)
  return members.map((member) => {
    const base = { id: member.id, membership: member.draining === true ? `${member.role},draining` as const : member.role, zone: member.zone ?? null, weight: member.weight ?? 1, apiAddress: member.apiAddress }
    const probe = probes.get(member.id)
    const unknown = { raftRole: null, term: null, commit: null, applied: null, lag: null, disk: null, groups: null }
    if (member.apiAddress === null || probe === undefined) return { ...base, ...unknown, health: "unknown-address" }
    if (!probe.ok) return { ...base, ...unknown, health: "unreachable", error: probe.error }
    const s = probe.status
    const lag = Math.max(0, clusterCommit - s.applied)
    const health: Health = s.leader === null ? "no-leader" : lag > LAG_WARN_ENTRIES ? "lagging" : "healthy"
    const groups = s.groups === undefined ? null : s.groups.map((g) => ({ ...g, lag: Math.max(0, (groupCommits.get(g.group) ?? g.commit) - g.applied) }))
    return { ...base, raftRole: s.role, health, term: s.term, commit: s.commit, applied: s.applied, lag, disk: s.disk ?? null, groups }
  })
}

/** A fixed-width table, one member a line, for people. */
export const formatMemberTable = (rows: ReadonlyArray<MemberRow>): string => {
  const header = ["ID", "MEMBERSHIP", "ZONE", "WEIGHT", "ROLE", "HEALTH", "TERM", "COMMIT", "APPLIED", "LAG", "API"]
  const cell = (v: string | number | null) => (v === null ? "-" : String(v))
  const lines = [
    header,
    ...rows.map((r) => [r.id, r.membership, cell(r.zone), String(r.weight), cell(r.raftRole), r.health, cell(r.term), cell(r.commit), cell(r.applied), cell(r.lag), cell(r.apiAddress)])
  ]
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)))
  const table = lines.map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd())
  const errors = rows.flatMap((r) => (r.error === undefined ? [] : [`${r.id}: ${r.error}`]))
  return [...table, ...errors].join("\n")
}

const megabytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`

/** The rebalancing line under the table (null or absent: no pass has run, or a server that predates rebalancing). */
export const formatRebalance = (r: RebalanceEntry | null | undefined): string => {
  if (r === null || r === undefined) return "rebalance: no pass has run yet"
  const moved = `${r.shardsMoved} shards moved (${megabytes(r.bytesMoved)})`
  const pending = r.shardsPending > 0 ? `, ${r.shardsPending} misplaced shards waiting to be retried` : ""
  switch (r.state) {
    case "waiting":
      return "rebalance: the members changed; the leader starts a pass within seconds"
    case "moving":
      return `rebalance: moving (pass ${r.pass}): ${r.records} records checked, ${moved}${pending}`
    case "settling":
      return `rebalance: settling (pass ${r.pass}: writes in flight at the change, pending shards): ${r.records} records checked, ${moved}${pending}`
    case "done":
      return `rebalance: done for the current members: ${r.records} records checked, ${moved}`
  }
}
