/**
 * The Reports page's files: the HTML reports `cairn sim --report DIR`,
 * `cairn check --report DIR` and `cairn jepsen` (default
 * `./reports/jepsen-<time>/`) write, found under the node's
 * `--console-reports-dir` (default `./reports`).
 *
 * `GET /api/reports` lists every folder up to two levels down that holds an
 * `index.html` (`jepsen-…/`, `sim/seed-42/`), newest first, with the files
 * beside it (the history, the summary, the nodes' logs).
 * `GET /api/reports/<folder>[/<folder>]/<file>` serves one of them: the
 * report itself as a page under its own policy — `sandbox`, no script, no
 * request anywhere (the reports are self-contained: inline styles and SVG)
 * — and every other file as a download, sandboxed too.
 *
 * Names are checked before the disk is touched: 2 or 3 path segments of
 * letters, digits, `.`, `_` and `-`, none starting with a dot (no `..`, no
 * hidden files, no separators, no encoded tricks once decoded), and the
 * file's real path, links followed, must still lie inside the reports
 * folder. Reports can hold cluster logs, so both routes are for the admin:
 * the admin API decides, with the session's own key.
 */
import type { ServerResponse } from "node:http"
import { open, readdir, realpath, stat } from "node:fs/promises"
import { join, resolve, sep } from "node:path"
import { apiAuthorization } from "../server/api-credentials.ts"
import type { ReportEntry, ReportsView } from "./contract.ts"
import { json, refuse } from "./http-replies.ts"
import type { Session } from "./sessions.ts"
import { fetchJson, type Upstream } from "./upstream.ts"

export interface ReportsOptions {
  readonly api: Upstream
  /** The folder the Reports page lists (resolved against the node's working directory). */
  readonly reportsDir: string
}

export const REPORTS_PREFIX = "/api/reports"
const REPORT_PAGE = "index.html"
/** At most this many reports are listed (the newest). */
const LISTED = 200
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** A report's HTML: its inline styles draw it; nothing may run, load or be sent anywhere. */
export const reportPageHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

/** The path segments of a report file, or why the path is refused. */
export const reportPathOf = (rest: string): { readonly ok: true; readonly segments: ReadonlyArray<string> } | { readonly ok: false; readonly reason: string } => {
  let segments: Array<string>
  try {
    segments = rest.split("/").map(decodeURIComponent)
  } catch {
    return { ok: false, reason: "the path is not valid percent-encoding" }
  }
  if (segments.length < 2 || segments.length > 3) return { ok: false, reason: "name a report folder (one or two levels deep) and a file in it" }
  const bad = segments.find((s) => !SEGMENT.test(s))
  if (bad !== undefined) return { ok: false, reason: `"${bad}" is not a report's name: letters, digits, ".", "_" and "-", not starting with "."` }
  return { ok: true, segments }
}

const isInside = (root: string, path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)

/** The report's <title>, from its first 4 KiB (the renderer writes it first). */
const titleOf = async (file: string): Promise<string | null> => {
  const handle = await open(file, "r")
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0)
    const m = /<title>([^<]{0,300})<\/title>/i.exec(buffer.subarray(0, bytesRead).toString("utf8"))
    return m === null ? null : m[1]!.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&#39;/g, "'").replace(/&amp;/g, "&")
  } finally {
    await handle.close()
  }
}

const entries = async (dir: string) => {
  try {
    return await readdir(dir, { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return []
    throw e
  }
}

/** One folder holding a report page, if it does, with the files beside it. */
const reportAt = async (root: string, path: ReadonlyArray<string>): Promise<ReportEntry | undefined> => {
  const dir = join(root, ...path)
  const files = (await entries(dir)).filter((d) => d.isFile() && SEGMENT.test(d.name)).map((d) => d.name).sort()
  if (!files.includes(REPORT_PAGE)) return undefined
  const page = join(dir, REPORT_PAGE)
  const info = await stat(page)
  return { path: path.join("/"), title: await titleOf(page), modifiedMs: Math.round(info.mtimeMs), files }
}

/** Every report one or two folders down, newest first. */
export const listReports = async (reportsDir: string): Promise<ReportsView> => {
  const root = resolve(reportsDir)
  const found: Array<ReportEntry> = []
  for (const top of await entries(root)) {
    if (!top.isDirectory() || !SEGMENT.test(top.name)) continue
    const own = await reportAt(root, [top.name])
    if (own !== undefined) found.push(own)
    for (const sub of await entries(join(root, top.name))) {
      if (!sub.isDirectory() || !SEGMENT.test(sub.name)) continue
      const nested = await reportAt(root, [top.name, sub.name])
      if (nested !== undefined) found.push(nested)
    }
  }
  found.sort((a, b) => b.modifiedMs - a.modifiedMs || a.path.localeCompare(b.path))
  return { dir: root, reports: found.slice(0, LISTED), more: Math.max(0, found.length - LISTED) }
}

const contentTypeOf = (name: string) =>
  name.endsWith(".json") ? "application/json" : name.endsWith(".log") || name.endsWith(".jsonl") || name.endsWith(".txt") ? "text/plain; charset=utf-8" : "application/octet-stream"

const serveFile = async (root: string, segments: ReadonlyArray<string>, res: ServerResponse): Promise<void> => {
  const wanted = join(root, ...segments)
  let real: string
  try {
    real = await realpath(wanted)
  } catch {
    return refuse(res, 404, "not-found", `no report file ${segments.join("/")}`)
  }
  // A link inside the folder may not lead out of it.
  if (!isInside(await realpath(root), real)) return refuse(res, 404, "not-found", `no report file ${segments.join("/")}`)
  const info = await stat(real)
  if (!info.isFile()) return refuse(res, 404, "not-found", `no report file ${segments.join("/")}`)
  const handle = await open(real, "r")
  try {
    const body = await handle.readFile()
    const name = segments.at(-1)!
    const page = name === REPORT_PAGE
    res.writeHead(200, {
      ...reportPageHeaders,
      "content-type": page ? "text/html; charset=utf-8" : contentTypeOf(name),
      "content-length": String(body.length),
      ...(page ? {} : { "content-disposition": `attachment; filename="${segments.join("-")}"` })
    })
    res.end(body)
  } finally {
    await handle.close()
  }
}

/** `GET /api/reports` and `GET /api/reports/…`, for the admin only (asked of the admin API). */
export const serveReports = async (options: ReportsOptions, res: ServerResponse, url: URL, session: Session): Promise<void> => {
  const rest = url.pathname.slice(REPORTS_PREFIX.length).replace(/^\//, "")
  // The path is checked before anyone is asked anything: a refused name costs nothing.
  const path = rest === "" ? undefined : reportPathOf(rest)
  if (path !== undefined && !path.ok) return refuse(res, 400, "bad-request", path.reason)
  const gate = await fetchJson(options.api, "/v1/admin/members", { authorization: apiAuthorization(session.credentials) })
  if (gate.status !== 200) return json(res, gate.status, gate.body)
  if (path === undefined) return json(res, 200, await listReports(options.reportsDir))
  return serveFile(resolve(options.reportsDir), path.segments, res)
}
