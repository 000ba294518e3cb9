/**
 * A member's Raft groups on the cluster page: how many it leads and
 * follows, and, opened, its role in each — the KV's group and one per log
 * partition — with the leader it knows, term, commit, applied and its lag
 * behind the highest commit any member reports for that group.
 */
import type { GroupRow, MemberRow } from "../../../runtime-node/src/console/contract.ts"

/** "kv" stays; a log partition's group id is shown as it is stored. */
const groupName = (g: GroupRow) => (g.group === "kv" ? "kv (metadata)" : g.group)

export const groupCounts = (groups: ReadonlyArray<GroupRow>): string => {
  const leads = groups.filter((g) => g.role === "leader").length
  const follows = groups.filter((g) => g.role === "follower").length
  const other = groups.length - leads - follows
  return `leads ${leads} · follows ${follows}${other > 0 ? ` · ${other} electing` : ""}`
}

export const RaftGroups = ({ member }: { readonly member: MemberRow }) => {
  const groups = member.groups
  if (groups === null) return <>—</>
  return (
    <details class="groups" data-testid={`groups-${member.id}`}>
      <summary>{groupCounts(groups)}</summary>
      <table class="compact">
        <caption class="visually-hidden">Raft groups of {member.id}</caption>
        <thead>
          <tr><th scope="col">Group</th><th scope="col">Role</th><th scope="col">Leader</th><th scope="col">Term</th><th scope="col">Commit</th><th scope="col">Applied</th><th scope="col">Lag</th></tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={g.group} data-group={g.group}>
              <th scope="row">{groupName(g)}</th>
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
    </details>
  )
}
