/**
 * A member's Raft groups on the cluster page: a button in its row that
 * says how many groups it leads and follows, and opens, in a row of its
 * own below, its role in each — the KV's group and one per log partition
 * ("<topic>/<partition>") — with the leader it knows, term, commit,
 * applied and its lag behind the highest commit any member reports for
 * that group.
 */
import type { MemberRow } from "../../../runtime-node/src/console/contract.ts"

export const groupCounts = (groups: NonNullable<MemberRow["groups"]>): string => {
  const leads = groups.filter((g) => g.role === "leader").length
  const follows = groups.filter((g) => g.role === "follower").length
  const other = groups.length - leads - follows
  return `leads ${leads} · follows ${follows}${other > 0 ? ` · ${other} electing` : ""}`
}

/** The button in the member's row; `open` says whether its groups' row is shown. */
export const GroupsToggle = ({ member, open, onToggle }: { readonly member: MemberRow; readonly open: boolean; readonly onToggle: () => void }) => {
  if (member.groups === null) return <>—</>
  return (
    <button type="button" class="small link" data-testid={`groups-${member.id}`} aria-expanded={open} aria-controls={`group-table-${member.id}`} onClick={onToggle}>
      {open ? "▾" : "▸"} {groupCounts(member.groups)}
    </button>
  )
}

/** The row under a member that lists its groups, spanning the whole table. */
export const GroupsRow = ({ member, columns }: { readonly member: MemberRow; readonly columns: number }) => (
  <tr class="groups-row">
    <td colSpan={columns}>
      <table class="compact" id={`group-table-${member.id}`} data-testid={`group-table-${member.id}`}>
        <caption>Raft groups of {member.id}</caption>
        <thead>
          <tr><th scope="col">Group</th><th scope="col">Role</th><th scope="col">Leader</th><th scope="col">Term</th><th scope="col">Commit</th><th scope="col">Applied</th><th scope="col">Lag</th></tr>
        </thead>
        <tbody>
          {(member.groups ?? []).map((g) => (
            <tr key={g.group} data-group={g.group}>
              <th scope="row" title={g.group === g.name ? undefined : `group ${g.group}`}>{g.name === "kv" ? "kv (metadata)" : g.name}</th>
              <td>{g.role === "leader" ? <strong>leader</strong> : g.role}</td>
              <td>{g.leader ?? "none known"}</td>
              <td>{g.term}</td>
              <td>{g.commit}</td>
              <td>{g.applied}</td>
              <td>{g.lag}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </td>
  </tr>
)
