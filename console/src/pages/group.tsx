/**
 * One consumer group: its state, protocol, assignor, generation and leader,
 * its members (client id, host, static id, assigned partitions), and per
 * partition the committed offset, the high watermark and the lag. The
 * admin deletes an Empty group (and its committed offsets) here.
 */
import { useEffect, useState } from "preact/hooks"
import { deleteGroup, getGroup, type GroupMemberView, type GroupView } from "../api/log.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"
import { PartitionLagTable, StateBadge } from "./groups.tsx"

const assigned = (m: GroupMemberView): string =>
  m.assignment === null ? "(not a consumer-protocol assignment)" : m.assignment.length === 0 ? "none" : m.assignment.map((a) => `${a.topic}: ${a.partitions.join(", ")}`).join("; ")

const MembersTable = ({ group }: { readonly group: GroupView }) =>
  group.members.length === 0
    ? <p>No members: the group has been empty since its last rebalance (its committed offsets stay).</p>
    : (
      <div class="table-wrap">
        <table>
          <caption>Members of {group.group}</caption>
          <thead>
            <tr><th scope="col">Member</th><th scope="col">Client id</th><th scope="col">Host</th><th scope="col">Static id</th><th scope="col">Partitions</th></tr>
          </thead>
          <tbody>
            {group.members.map((m) => (
              <tr key={m.memberId}>
                <th scope="row"><code>{m.memberId}</code>{m.memberId === group.leader ? <> <span class="badge">leader</span></> : null}</th>
                <td>{m.clientId}</td>
                <td>{m.clientHost}</td>
                <td>{m.instanceId ?? "—"}</td>
                <td>{assigned(m)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )

/** Delete an Empty group, asked twice: its committed offsets go with it. */
const DeleteGroup = ({ group, onDeleted, onError }: { readonly group: string; readonly onDeleted: (offsets: number) => void; readonly onError: (e: string) => void }) => {
  const [confirming, setConfirming] = useState(false)
  const remove = async () => {
    try {
      onDeleted(await deleteGroup(group))
    } catch (e) {
      setConfirming(false)
      onError(messageOf(e))
    }
  }
  return confirming
    ? (
      <div class="inline" role="group" aria-label={`Confirm deleting group ${group}`}>
        Delete {group} and its committed offsets? Its consumers start again from their reset policy.
        <button type="button" class="danger" onClick={remove}>Delete</button>
        <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
      </div>
    )
    : <div class="inline"><button type="button" onClick={() => setConfirming(true)}>Delete group…</button></div>
}

export const GroupDetails = ({ group, admin }: { readonly group: string; readonly admin: boolean }) => {
  const [view, setView] = useState<GroupView | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [deleted, setDeleted] = useState<string | undefined>(undefined)
  const load = () => getGroup(group).then((g) => (setView(g), setError(undefined)), (e) => setError(messageOf(e)))
  useEffect(() => {
    setView(undefined)
    setDeleted(undefined)
    void load()
  }, [group])
  return (
    <section aria-labelledby="group-title">
      <p><a href={href({ page: "groups" })}>← Consumer groups</a></p>
      <h1 id="group-title">Group {group}</h1>
      <ErrorMessage error={error} />
      <Notice text={deleted} />
      {deleted !== undefined ? null : view === undefined ? (error === undefined ? <p>Loading…</p> : null) : (
        <>
          <dl class="facts">
            <dt>State</dt><dd><StateBadge state={view.state} /></dd>
            <dt>Protocol</dt><dd>{view.protocolType ?? "none (offsets only)"}</dd>
            <dt>Assignor</dt><dd>{view.protocol ?? "—"}</dd>
            <dt>Generation</dt><dd>{view.generation}</dd>
            <dt>Members</dt><dd>{view.members.length}</dd>
            <dt>Total lag</dt><dd data-testid="group-total-lag">{view.totalLag}</dd>
          </dl>
          <div class="inline"><button type="button" onClick={() => void load()}>Refresh</button></div>
          {admin && view.state === "Empty" && view.members.length === 0
            ? <DeleteGroup group={group} onError={setError} onDeleted={(n) => (setError(undefined), setDeleted(`Deleted group ${group} and its ${n} committed offset${n === 1 ? "" : "s"}.`))} />
            : null}
          <MembersTable group={view} />
          <PartitionLagTable caption={`Offsets and lag of ${view.group}`} partitions={view.partitions} />
        </>
      )}
    </section>
  )
}
