/**
 * Every member of the cluster with its Raft role, health, term, commit and
 * apply lag, as `cairn cluster list` computes them (cluster-health.ts),
 * refreshed every two seconds; below, the cluster's storage and this
 * node's metrics over time.
 */
import type { ClusterView } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { usePolling } from "../api/poll.ts"
import { ErrorMessage } from "../messages.tsx"
import { ClusterStorage } from "./cluster-storage.tsx"
import { MetricCharts } from "./metric-charts.tsx"

const REFRESH_MS = 2000

const cell = (v: string | number | null) => (v === null ? "—" : String(v))

export const Cluster = () => {
  const polled = usePolling(() => callJson<ClusterView>("GET", "/api/cluster"), REFRESH_MS)
  const view = polled.value
  const error = polled.error
  const checked = polled.at
  const healthy = view?.members.filter((m) => m.health === "healthy").length ?? 0

  return (
    <section aria-labelledby="cluster-title">
      <h1 id="cluster-title">Cluster</h1>
      <ErrorMessage error={error} />
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
                  <th scope="col">Node</th><th scope="col">Membership</th><th scope="col">Raft role</th><th scope="col">Health</th>
                  <th scope="col">Term</th><th scope="col">Commit</th><th scope="col">Applied</th><th scope="col">Lag (entries)</th><th scope="col">API</th>
                </tr>
              </thead>
              <tbody>
                {view.members.map((m) => (
                  <tr key={m.id} data-node={m.id}>
                    <th scope="row">{m.id}</th>
                    <td>{m.membership}</td>
                    <td>{cell(m.raftRole)}</td>
                    <td><span class={`badge ${m.health === "healthy" ? "good" : m.health === "lagging" ? "warn" : "bad"}`} data-testid={`health-${m.id}`}>{m.health}</span>{m.error === undefined ? null : <span class="detail" title={m.error}> {m.error}</span>}</td>
                    <td>{cell(m.term)}</td>
                    <td>{cell(m.commit)}</td>
                    <td>{cell(m.applied)}</td>
                    <td>{cell(m.lag)}</td>
                    <td>{cell(m.apiAddress)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <ClusterStorage />
      <MetricCharts />
    </section>
  )
}
