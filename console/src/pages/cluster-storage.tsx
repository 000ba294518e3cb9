/**
 * The cluster's storage (GET /api/cluster/storage, every 10 s): the
 * erasure scheme, the object catalog, and per member its disk use and free
 * space, shards, Raft log, and its repair and GC sweeps, as each member's
 * own /metrics reports them.
 */
import type { NodeStorage, StorageView } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { usePolling } from "../api/poll.ts"
import { formatBytes } from "../format.ts"
import { ErrorMessage } from "../messages.tsx"

const bytes = (v: number | null) => (v === null ? "—" : formatBytes(v))
const count = (v: number | null) => (v === null ? "—" : v.toLocaleString())
const ago = (ms: number | null, now: number) => {
  if (ms === null) return "not yet"
  const s = Math.max(0, Math.round((now - ms) / 1000))
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
}

const DiskUse = ({ n }: { readonly n: NodeStorage }) => {
  if (n.diskSizeBytes === null || n.diskAvailableBytes === null) return <>—</>
  const used = n.diskSizeBytes - n.diskAvailableBytes
  const share = n.diskSizeBytes > 0 ? used / n.diskSizeBytes : 0
  return (
    <span class="disk">
      <meter min={0} max={1} low={0.8} high={0.9} optimum={0} value={share} aria-label={`Disk of ${n.id} ${Math.round(share * 100)}% used`} />{" "}
      {formatBytes(used)} of {formatBytes(n.diskSizeBytes)} used · <span data-testid={`free-${n.id}`}>{formatBytes(n.diskAvailableBytes)} free</span>
    </span>
  )
}

/** Repair runs on the Raft leader only: the others show their own past sweeps, the leader the stripes left degraded. */
const Repair = ({ n, now }: { readonly n: NodeStorage; readonly now: number }) => {
  const r = n.repair
  const degraded = r.unrepairedLost === null ? null : r.unrepairedLost + (r.unrepairedUnavailable ?? 0)
  if (r.sweeps === 0 && degraded === null) return <span class="detail">no sweep yet (the leader sweeps every 5 minutes)</span>
  return (
    <>
      {count(r.sweeps)} sweeps, last {ago(r.lastSweepMs, now)}, {count(r.shardsRebuilt)} shards rebuilt
      {degraded === null ? null : degraded === 0
        ? <> · <span class="badge good">fully redundant</span></>
        : <> · <span class="badge bad">{r.unrepairedLost} lost, {r.unrepairedUnavailable} degraded stripes</span></>}
    </>
  )
}

const NodeRow = ({ n, now }: { readonly n: NodeStorage; readonly now: number }) => (
  <tr data-node={n.id}>
    <th scope="row">{n.id}</th>
    <td>{n.error === undefined ? <DiskUse n={n} /> : <span class="badge bad" title={n.error}>unreachable</span>}</td>
    <td>
      {count(n.shards)} · {bytes(n.shardBytes)}
      {n.draining ? <> <span class="badge warn" data-testid={`drain-left-${n.id}`}>draining: {n.shards === 0 ? "no shards left" : `${count(n.shards)} shards left to move`}</span></> : null}
    </td>
    <td>{bytes(n.raftBytes)}</td>
    <td><Repair n={n} now={now} /></td>
    <td>
      {n.gc.sweeps === 0
        ? <span class="detail">no sweep yet (every minute)</span>
        : <>{count(n.gc.sweeps)} sweeps, last {ago(n.gc.lastSweepMs, now)}, {count(n.gc.orphanShards)} orphan shards, {count(n.gc.shardsRemoved)} removed</>}
    </td>
  </tr>
)

export const ClusterStorage = () => {
  const polled = usePolling(() => callJson<StorageView>("GET", "/api/cluster/storage"), 10_000)
  const view = polled.value
  const now = polled.at?.getTime() ?? 0
  return (
    <section aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      <ErrorMessage error={polled.error} />
      {view === undefined ? <p>Loading…</p> : (
        <>
          <dl class="facts" aria-label="Cluster storage">
            <dt>Erasure scheme</dt>
            <dd data-testid="erasure-scheme">{view.scheme === null ? view.schemeNote ?? "unknown" : `${view.scheme} (data + parity shards per stripe)`}</dd>
            <dt>Objects</dt><dd>{count(view.catalog.objects)} current, {count(view.catalog.noncurrentVersions)} older versions, {count(view.catalog.deleteMarkers)} delete markers</dd>
            <dt>Logical bytes</dt><dd>{bytes(view.catalog.objectBytes)} (before erasure coding)</dd>
            <dt>Multipart uploads</dt><dd>{count(view.catalog.multipartUploads)} in progress</dd>
          </dl>
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Storage of each member</caption>
              <thead>
                <tr><th scope="col">Node</th><th scope="col">Disk</th><th scope="col">Shards</th><th scope="col">Raft log</th><th scope="col">Repair</th><th scope="col">GC</th></tr>
              </thead>
              <tbody>{view.nodes.map((n) => <NodeRow key={n.id} n={n} now={now} />)}</tbody>
            </table>
          </div>
          <p class="detail">Figures from each member's /metrics; disk walks and the catalog count are refreshed by the node every 30 s or so.</p>
        </>
      )}
    </section>
  )
}
