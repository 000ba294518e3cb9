/**
 * `GET /api/cluster`: the members as the admin API lists them, each asked
 * for its `/v1/status`, judged as `cairn cluster list` judges them
 * (cluster-health.ts). All with the session's own key: a key that is not the
 * admin's gets the admin API's refusal, passed on.
 */
import type { ServerResponse } from "node:http"
import { type MemberEntry, memberRows, type RebalanceEntry, type StatusProbe } from "../cli/cluster-health.ts"
import { memberStatusOf, probeStatus } from "../cli/member-probe.ts"
import { apiAuthorization } from "../server/api-credentials.ts"
import type { ClusterView } from "./contract.ts"
import { json } from "./http-replies.ts"
import type { Session } from "./sessions.ts"
import { fetchJson, type Upstream } from "./upstream.ts"

export interface ClusterOptions {
  readonly nodeId: string
  /** This node's KV API. */
  readonly api: Upstream
  /** The scheme of every member's KV API. */
  readonly apiScheme: "http" | "https"
}

/**
 * A member's status. This node is asked through its own listener (its pinned certificate, whatever address it
 * advertises); the others at their advertised API address, trusted as Node.js trusts any https server.
 */
const probe = async (options: ClusterOptions, m: MemberEntry, authorization: string): Promise<StatusProbe> => {
  if (m.id === options.nodeId) {
    try {
      const own = await fetchJson(options.api, "/v1/status", { authorization })
      if (own.status !== 200) return { ok: false, error: `this node's /v1/status: HTTP ${own.status}` }
      return { ok: true, status: memberStatusOf(own.body as Record<string, unknown>) }
    } catch (e) {
      return { ok: false, error: `this node's /v1/status: ${e instanceof Error ? e.message : String(e)}` }
    }
  }
  if (m.apiAddress === null) return { ok: false, error: "no API address known" }
  return probeStatus(authorization, `${options.apiScheme}://${m.apiAddress}/v1/status`)
}

export const serveCluster = async (options: ClusterOptions, res: ServerResponse, session: Session): Promise<void> => {
  const authorization = apiAuthorization(session.credentials)
  const listed = await fetchJson(options.api, "/v1/admin/members", { authorization })
  // A user who is not the admin is refused by the admin API itself; its message is passed on.
  if (listed.status !== 200) return json(res, listed.status, listed.body)
  const body = listed.body as { readonly members?: unknown; readonly rebalance?: RebalanceEntry | null }
  const members = (Array.isArray(body.members) ? body.members : []) as ReadonlyArray<MemberEntry>
  const probes = new Map(await Promise.all(members.map(async (m) => [m.id, await probe(options, m, authorization)] as const)))
  json(res, 200, { node: options.nodeId, members: memberRows(members, probes), rebalance: body.rebalance ?? null } satisfies ClusterView)
}
