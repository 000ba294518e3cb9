/**
 * The cluster page's membership changes, for the admin: drain a member (its
 * shards move to the others; `cairn cluster drain`) or stop draining it,
 * promote a learner to voter, remove a member (asked twice), and add one. Each goes to the Raft leader through
 * the console (`/api/cluster/members`), and the page shows the admin API's
 * own answer.
 */
import { useState } from "preact/hooks"
import type { AddMemberRequest, MemberRow } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { messageOf } from "../messages.tsx"

const MEMBERS = "/api/cluster/members"

export interface Outcome {
  readonly notice?: string
  readonly error?: string
}

const isDraining = (m: MemberRow) => m.membership.endsWith(",draining")

/** One member's buttons: Drain / Stop draining, and Remove… with its confirmation. */
export const MemberActions = ({ member, onDone }: { readonly member: MemberRow; readonly onDone: (outcome: Outcome) => void }) => {
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const run = async (method: "POST" | "DELETE", path: string, notice: string) => {
    setBusy(true)
    try {
      await callJson(method, path)
      onDone({ notice })
    } catch (e) {
      onDone({ error: messageOf(e) })
    } finally {
      setBusy(false)
      setConfirming(false)
    }
  }
  const at = `${MEMBERS}/${encodeURIComponent(member.id)}`
  const draining = isDraining(member)
  return (
    <span class="actions">
      <button
        type="button"
        class="small"
        disabled={busy}
        aria-label={`${draining ? "Stop draining" : "Drain"} ${member.id}`}
        onClick={() => run(draining ? "DELETE" : "POST", `${at}/drain`, draining ? `${member.id} takes new shards again.` : `Draining ${member.id}: its shards move to the other members.`)}
      >
        {draining ? "Stop draining" : "Drain"}
      </button>{" "}
      {member.membership.startsWith("learner")
        ? (
          <>
            <button type="button" class="small" disabled={busy} aria-label={`Promote ${member.id} to voter`} onClick={() => run("POST", `${at}/promote`, `${member.id} is a voter now.`)}>
              Promote
            </button>{" "}
          </>
        )
        : null}
      {confirming
        ? (
          <span role="group" aria-label={`Confirm removing ${member.id}`}>
            <button type="button" class="small danger" disabled={busy} onClick={() => run("DELETE", at, `Removed ${member.id} from the cluster.`)}>Remove</button>{" "}
            <button type="button" class="small" onClick={() => setConfirming(false)}>Cancel</button>
          </span>
        )
        : <button type="button" class="small" disabled={busy} onClick={() => setConfirming(true)} aria-label={`Remove ${member.id}…`}>Remove…</button>}
    </span>
  )
}

const emptyMember: AddMemberRequest = { id: "", peerAddress: "", apiAddress: "", learner: false }

/** The form that adds a member: its id, peer address and API address, as `cairn cluster add` takes them. */
export const AddMember = ({ onDone }: { readonly onDone: (outcome: Outcome) => void }) => {
  const [member, setMember] = useState<AddMemberRequest>(emptyMember)
  const field = (name: "id" | "peerAddress" | "apiAddress") => (e: { readonly currentTarget: HTMLInputElement }) => setMember({ ...member, [name]: e.currentTarget.value.trim() })
  const add = async (e: Event) => {
    e.preventDefault()
    try {
      await callJson("POST", MEMBERS, member)
      onDone({ notice: `Added ${member.id}${member.learner ? " as a learner" : ""}. Start its server with --join if it is not running yet.` })
      setMember(emptyMember)
    } catch (err) {
      onDone({ error: messageOf(err) })
    }
  }
  return (
    <details class="add-member">
      <summary>Add a member</summary>
      <form class="inline" onSubmit={add}>
        <label for="member-id">Id</label>
        <input id="member-id" required value={member.id} onInput={field("id")} placeholder="n4" />
        <label for="member-peer">Peer address</label>
        <input id="member-peer" required value={member.peerAddress} onInput={field("peerAddress")} placeholder="host:9200" />
        <label for="member-api">API address</label>
        <input id="member-api" required value={member.apiAddress} onInput={field("apiAddress")} placeholder="host:9100" />
        <label><input type="checkbox" checked={member.learner} onChange={(e) => setMember({ ...member, learner: e.currentTarget.checked })} /> learner</label>
        <button type="submit">Add</button>
      </form>
    </details>
  )
}
