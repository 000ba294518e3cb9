/**
 * The Reports page (admin only): the HTML reports of simulation, check
 * and Jepsen runs found in the node's `--console-reports-dir`
 * (GET /api/reports), newest first. A report opens in a new tab, served by
 * the node under its own sandbox policy (no script, nothing loaded); the
 * files beside it (history, summary, the nodes' logs) download.
 */
import type { ReportsView } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { usePolling } from "../api/poll.ts"
import { ErrorMessage } from "../messages.tsx"

/** Each segment encoded: names are plain already (the node refuses anything else), this keeps them so. */
const fileUrl = (path: string, file: string) => `/api/reports/${[...path.split("/"), file].map(encodeURIComponent).join("/")}`

export const Reports = () => {
  const polled = usePolling(() => callJson<ReportsView>("GET", "/api/reports"), 30_000)
  const view = polled.value
  return (
    <section aria-labelledby="reports-title">
      <h1 id="reports-title">Reports</h1>
      <p class="detail">
        HTML reports of <code>cairn sim --report DIR</code>, <code>cairn check --report DIR</code> and <code>cairn jepsen</code> runs
        {view === undefined ? "" : <> found in <code>{view.dir}</code> (the node's <code>--console-reports-dir</code>)</>}. They open in a new tab,
        sandboxed: no script runs in them.
      </p>
      <ErrorMessage error={polled.error} />
      {view === undefined ? <p>Loading…</p> : view.reports.length === 0 ? <p data-testid="no-reports">No reports yet. Write one with <code>cairn jepsen</code> (into ./reports), or <code>cairn sim --seed N --report {view.dir}/sim</code>.</p> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Reports, newest first</caption>
            <thead><tr><th scope="col">Report</th><th scope="col">Folder</th><th scope="col">Written</th><th scope="col">Files</th></tr></thead>
            <tbody>
              {view.reports.map((r) => (
                <tr key={r.path} data-report={r.path}>
                  <th scope="row"><a href={fileUrl(r.path, "index.html")} target="_blank" rel="noopener noreferrer">{r.title ?? r.path}</a></th>
                  <td><code>{r.path}</code></td>
                  <td>{new Date(r.modifiedMs).toLocaleString()}</td>
                  <td>{r.files.length === 1 ? <span class="detail">the report only</span> : r.files.filter((f) => f !== "index.html").map((f, i) => <span key={f}>{i === 0 ? "" : ", "}<a href={fileUrl(r.path, f)} download>{f}</a></span>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {view.more > 0 ? <p class="detail">{view.more} older reports are not listed.</p> : null}
        </div>
      )}
    </section>
  )
}
