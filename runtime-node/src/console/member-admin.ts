/**
 * The cluster page's membership changes, under `/api/cluster/members`:
 *
 *   POST   /api/cluster/members             {id, peerAddress, apiAddress, learner}: add a member
 *   DELETE /api/cluster/members/{id}        remove a member
 *   POST   /api/cluster/members/{id}/drain  move its shards off it (`cairn cluster drain`)
 *   DELETE /api/cluster/members/{id}/drain  stop draining it
 *   POST   /api/cluster/members/{id}/promote  make a learner a voter
 *
 * Each goes to the admin API's `/v1/admin/members` with the session's own
 * key, so a user who is not the admin gets the admin API's refusal. Only the
 * Raft leader changes membership: a follower answers 503 with the leader's
 * API address in `x-cairn-leader-api`, and the change follows it there, as
 * `cairn cluster` does, a bounded number of times.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { apiAuthorization } from "../server/api-credentials.ts"
import { json, readSmallBody, refuse } from "./http-replies.ts"
import type { Session } from "./sessions.ts"
import { exchangeText, type Upstream } from "./upstream.ts"

export interface MemberAdminOptions {
  /** This node's KV API. */
  readonly api: Upstream
  /** The scheme of every member's KV API. */
  readonly apiScheme: "http" | "https"
}

export const MEMBERS_PREFIX = "/api/cluster/members"

/** Leader hints followed before giving up: one is normal, two mean the leadership moved meanwhile. */
const MAX_LEADER_HOPS = 3
/** A member's add request is a few short strings. */
const ADD_BODY_LIMIT = 4096

interface Answer {
  readonly status: number
  readonly leaderApi: string | undefined
  readonly text: string
}

/** One exchange with this node's API (through its pinned listener) or with another member's (by its advertised address). */
const ask = async (options: MemberAdminOptions, at: string | undefined, method: string, target: string, headers: Record<string, string>, body?: string): Promise<Answer> => {
  if (at === undefined) {
    const answer = await exchangeText(options.api, { method, target, headers, ...(body === undefined ? {} : { body }) })
    const hint = answer.headers["x-cairn-leader-api"]
    return { status: answer.status, leaderApi: typeof hint === "string" ? hint : undefined, text: answer.text }
  }
  const res = await fetch(`${options.apiScheme}://${at}${target}`, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(5000) })
  return { status: res.status, leaderApi: res.headers.get("x-cairn-leader-api") ?? undefined, text: await res.text() }
}

/** Sends the change, following leader hints; answers the browser with the admin API's final answer. */
const sendToLeader = async (options: MemberAdminOptions, res: ServerResponse, session: Session, method: string, target: string, body?: string): Promise<void> => {
  const headers: Record<string, string> = { authorization: apiAuthorization(session.credentials), ...(body === undefined ? {} : { "content-type": "application/json" }) }
  let at: string | undefined
  for (let hop = 0; hop <= MAX_LEADER_HOPS; hop++) {
    let answer: Answer
    try {
      answer = await ask(options, at, method, target, headers, body)
    } catch (e) {
      return refuse(res, 502, "upstream", `${at === undefined ? "this node's API" : `the leader's API at ${at}`} did not answer: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (answer.status === 503 && answer.leaderApi !== undefined && answer.leaderApi !== at) {
      at = answer.leaderApi
      continue
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(answer.text)
    } catch {
      parsed = { error: "upstream", message: answer.text.slice(0, 500) }
    }
    return json(res, answer.status, parsed)
  }
  return refuse(res, 503, "unavailable", "the leadership kept moving while the change was sent: try again in a moment")
}

/** A member id as the admin API takes it in a path; undefined when the path names none. */
const memberOf = (segment: string | undefined): string | undefined => {
  if (segment === undefined || segment === "") return undefined
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** Routes a request under `/api/cluster/members`. */
export const serveMemberChange = async (options: MemberAdminOptions, req: IncomingMessage, res: ServerResponse, url: URL, session: Session): Promise<void> => {
  const method = req.method ?? "GET"
  const rest = url.pathname.slice(MEMBERS_PREFIX.length).split("/").slice(1)
  if (rest.length === 0 && method === "POST") {
    const body = await readSmallBody(req, ADD_BODY_LIMIT)
    if (body === undefined) return refuse(res, 400, "bad-request", `give the new member as JSON of at most ${ADD_BODY_LIMIT} bytes: {"id", "peerAddress", "apiAddress", "learner"}`)
    return sendToLeader(options, res, session, "POST", "/v1/admin/members", body)
  }
  const id = memberOf(rest[0])
  if (id === undefined) return refuse(res, 400, "bad-request", "name the member: /api/cluster/members/{id} or /api/cluster/members/{id}/drain")
  const target = `/v1/admin/members/${encodeURIComponent(id)}`
  if (rest.length === 1 && method === "DELETE") return sendToLeader(options, res, session, "DELETE", target)
  if (rest.length === 2 && rest[1] === "drain" && (method === "POST" || method === "DELETE")) return sendToLeader(options, res, session, method, `${target}/drain`)
  if (rest.length === 2 && rest[1] === "promote" && method === "POST") return sendToLeader(options, res, session, "POST", `${target}/promote`)
  return refuse(
    res,
    404,
    "not-found",
    `no console route ${method} ${url.pathname}: use POST ${MEMBERS_PREFIX}, DELETE ${MEMBERS_PREFIX}/{id}, POST or DELETE ${MEMBERS_PREFIX}/{id}/drain, POST ${MEMBERS_PREFIX}/{id}/promote`
  )
}
