/**
 * Every member of the cluster with its Raft role, health, term, commit and
 * apply lag, as `cairn cluster list` computes them (cluster-health.ts), its
 * role in every Raft group (raft-groups.tsx) and its disk backend, and the
 * leader's rebalancing pass,
 * refreshed every two seconds, with the admin's membership changes
 * (member-admin.tsx); below, the cluster's storage and this node's metrics
 * over time.
 */
import { Fragment } from "preact"
import { useState } from "preact/hooks"
import type { ClusterView } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { usePolling } from "../api/poll.ts"
import { ErrorMessage, Notice } from "../messages.tsx"
import { ClusterStorage } from "./cluster-storage.tsx"
import { AddMember, MemberActions, type Outcome } from "./member-admin.tsx"
import { MetricCharts, NodeCharts } from "./metric-charts.tsx"
import { GroupsRow, GroupsToggle } from "./raft-groups.tsx"

const REFRESH_MS = 2000

const cell = (v: string | number | null) => (v === null ? "—" : String(v))

/** "voter" and whether it drains, from the member list's "voter,draining". */
const Membership = ({ membership }: { readonly membership: string }) => {
  const [role, draining] = membership.split(",")
  return <>{role}{draining === undefined ? null : <> <span class="badge warn">draining</span></>}</>
}

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`

/** The leader's rebalancing pass, as `cairn cluster list` says it (cluster-health.ts formatRebalance). */
const Rebalance = ({ rebalance: r }: { readonly rebalance: ClusterView["rebalance"] }) => {
  if (r === null) return <p data-testid="rebalance">Rebalancing: no pass has run yet.</p>
  const state = r.state === "waiting" ? "waiting (the members changed; the leader starts a new pass)" : r.state === "settling" ? `settling (pass ${r.pass})` : `${r.state} (pass ${r.pass})`
  return (
    <p data-testid="rebalance">
      Rebalancing: {state}: {r.records.toLocaleString()} records checked, {r.shardsMoved.toLocaleString()} shards moved ({mib(r.bytesMoved)})
      {r.shardsPending > 0 ? `, ${r.shardsPending} misplaced shards waiting to be retried` : ""}.
    </p>
  )
}

export const Cluster = ({ admin }: { readonly admin: boolean }) => {
  const polled = usePolling(() => callJson<ClusterView>("GET", "/api/cluster"), REFRESH_MS)
  const [outcome, setOutcome] = useState<Outcome>({})
  // Members whose Raft groups are shown, kept across refreshes.
  const [opened, setOpened] = useState<ReadonlySet<string>>(new Set())
  const toggle = (id: string) => setOpened((was) => (was.has(id) ? new Set([...was].filter((x) => x !== id)) : new Set([...was, id])))
  const view = polled.value
  const error = outcome.error ?? polled.error
  const checked = polled.at
  const healthy = view?.members.filter((m) => m.health === "healthy").length ?? 0

  return (
    <section aria-labelledby="cluster-title">
      <h1 id="cluster-title">Cluster</h1>
      <ErrorMessage error={error} />
      <Notice text={outcome.notice} />
      {view === undefined ? <p>Loading…</p> : (
        <>
          <p class="summary" data-testid="cluster-summary">
            {healthy} of {view.members.length} members healthy · seen from node {view.node}
            {checked === undefined ? "" : ` · checked ${checked.toLocaleTimeString()}`}
          </p>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Members</caption>
              <thead>
                <tr>
                  <th scope="col">Node</th><th scope="col">Membership</th><th scope="col">Zone</th><th scope="col">Raft role</th><th scope="col">Health</th>
                  <th scope="col">Term</th><th scope="col">Commit</th><th scope="col">Applied</th><th scope="col">Lag (entries)</th>
                  <th scope="col">Raft groups</th><th scope="col">Disk I/O</th><th scope="col">API</th>
                  {admin ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {view.members.map((m) => (
                  <Fragment key={m.id}>
                  <tr data-node={m.id}>
                    <th scope="row">{m.id}</th>
                    <td data-testid={`membership-${m.id}`}><Membership membership={m.membership} /></td>
                    <td>{cell(m.zone)}</td>
                    <td>{cell(m.raftRole)}</td>
                    <td><span class={`badge ${m.health === "healthy" ? "good" : m.health === "lagging" ? "warn" : "bad"}`} data-testid={`health-${m.id}`}>{m.health}</span>{m.error === undefined ? null : <span class="detail" title={m.error}> {m.error}</span>}</td>
                    <td>{cell(m.term)}</td>
                    <td>{cell(m.commit)}</td>
                    <td>{cell(m.applied)}</td>
                    <td>{cell(m.lag)}</td>
                    <td><GroupsToggle member={m} open={opened.has(m.id)} onToggle={() => toggle(m.id)} /></td>
                    <td data-testid={`disk-${m.id}`}>{cell(m.disk)}</td>
                    <td>{cell(m.apiAddress)}</td>
                    {admin ? <td><MemberActions member={m} onDone={setOutcome} /></td> : null}
                  </tr>
                  {opened.has(m.id) && m.groups !== null ? <GroupsRow member={m} columns={admin ? 13 : 12} /> : null}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
          <p class="detail">
            Term, commit, applied and lag are the metadata KV's Raft group; <em>Raft groups</em> opens each member's role in every group it holds (the KV's and one per
            log partition). Disk I/O is io_uring, or libuv where the kernel refuses io_uring.
          </p>
          <Rebalance rebalance={view.rebalance} />
          {admin ? <AddMember onDone={setOutcome} /> : null}
        </>
      )}
      <ClusterStorage />
      {view === undefined ? <MetricCharts /> : <NodeCharts self={view.node} members={view.members.map((m) => m.id)} />}
    </section>
  )
}
