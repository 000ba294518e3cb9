/**
 * `GET /api/metrics?node=<id>&range=<seconds>`: another member's charts, so
 * that one console can show every node's. Each node samples its own
 * metrics (metric-sampler.ts) and its KV API serves that history at
 * `/v1/metrics/history` to whoever may read its `/metrics`; the console
 * finds the member's API address in the admin API's member list (so this
 * is for the admin, as the cluster page is) and asks it with the session's
 * key, within 2 s so that a dead member cannot stall the page.
 */
import type { ServerResponse } from "node:http"
import type { MemberEntry } from "../cli/cluster-health.ts"
import { apiAuthorization } from "../server/api-credentials.ts"
import { json, refuse } from "./http-replies.ts"
import { METRIC_HISTORY_PATH } from "./metric-sampler.ts"
import type { Session } from "./sessions.ts"
import { fetchJson, type Upstream } from "./upstream.ts"

export interface MemberMetricsOptions {
  readonly api: Upstream
  readonly apiScheme: "http" | "https"
}

export const serveMemberMetrics = async (options: MemberMetricsOptions, res: ServerResponse, session: Session, node: string, range: number): Promise<void> => {
  const authorization = apiAuthorization(session.credentials)
  const listed = await fetchJson(options.api, "/v1/admin/members", { authorization })
  if (listed.status !== 200) return json(res, listed.status, listed.body)
  const members = ((listed.body as { readonly members?: unknown }).members ?? []) as ReadonlyArray<MemberEntry>
  const member = Array.isArray(members) ? members.find((m) => m.id === node) : undefined
  if (member === undefined) return refuse(res, 404, "not-found", `${node} is not a member of this cluster`)
  if (member.apiAddress === null) return refuse(res, 503, "unavailable", `${node}'s API address is not known (it was added without one)`)
  const url = `${options.apiScheme}://${member.apiAddress}${METRIC_HISTORY_PATH}?range=${range}`
  try {
    const answer = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(2000) })
    if (answer.status === 404) return refuse(res, 502, "upstream", `${node} keeps no chart history (a server older than this one)`)
    if (!answer.ok) return refuse(res, 502, "upstream", `${url}: HTTP ${answer.status}`)
    return json(res, 200, await answer.json())
  } catch (e) {
    return refuse(res, 502, "upstream", `${node} did not answer: ${e instanceof Error ? e.message : String(e)}`)
  }
}
