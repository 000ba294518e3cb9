/**
 * The KV HTTP API as pure protocol code: request in (a `KvApiRequest`, its
 * caller already checked by the runtime's authentication gate), response
 * out. The KV store under `/v1/kv`, `/v1/status`, membership under
 * `/v1/admin/members`, S3 access keys under `/v1/admin/s3/users`, the
 * streaming log under `/v1/log` (docs/log.md); see docs/server.md for the
 * contract.
 *
 * The handler never fails: a refusal is its typed error's status and JSON
 * body (errors.ts, the one table), a bug a 500 `internal` whose cause is
 * handed to the runtime's log. A caller the gate refused gets its 401 (or
 * 400, 503) before anything is read or done; admin routes also need the
 * admin's key (403).
 *
 * Tracing: run inside the request's span, it annotates that span
 * (`cairn.key_length`, `cairn.consistency`), and the KV calls' spans are
 * its children.
 */
import { Cause, Effect } from "effect"
import type { Clock } from "../clock/clock.ts"
import type { Digest } from "../s3/digest.ts"
import { membersOperation, s3UsersOperation } from "./admin-operations.ts"
import type { KvApiConfig, RequestContext, Tally } from "./context.ts"
import { AuthenticationError, errorResponse, internalErrorResponse, type KvApiError, NotFoundError } from "./errors.ts"
import { keyOperation, listOperation } from "./key-operations.ts"
import { logOperation } from "./log-operations.ts"
import { type BodyReadError, hasBody, isPrincipal, type KvApiRequest, requestUrl } from "./request.ts"
import { jsonResponse, type KvApiResponse, type KvApiResponseHead } from "./response.ts"
import { routeOf } from "./routes.ts"

export type KvApiHandler = (request: KvApiRequest) => Effect.Effect<KvApiResponse, never, Digest | Clock>

type Served = Effect.Effect<KvApiResponseHead, KvApiError | BodyReadError, Digest | Clock>

const status = (ctx: RequestContext): Served =>
  Effect.flatMap(ctx.config.kv.raft.status, (s) => {
    const body = {
      id: ctx.config.id,
      ...s,
      leader: s.leader ?? null,
      leaderApi: s.leader === undefined ? null : ctx.config.members.apiAddress(s.leader) ?? null
    }
    const facts = ctx.config.nodeFacts
    // The disk backend and every Raft group, when the runtime tells them (the console's cluster page shows them).
    return facts === undefined
      ? Effect.succeed(jsonResponse(200, body))
      : Effect.map(facts, (f) => jsonResponse(200, { ...body, disk: f.diskBackend, groups: f.groups }))
  })

const route = (ctx: RequestContext): Served => {
  const path = ctx.url.pathname
  const r = routeOf(path)
  switch (r.kind) {
    case "key":
      return keyOperation(ctx, r.encodedKey)
    case "list":
      return listOperation(ctx)
    case "status":
      return status(ctx)
    case "members":
      return membersOperation(ctx, r.rest)
    case "s3-users":
      return s3UsersOperation(ctx, r.rest)
    case "log":
      return logOperation(ctx, r.rest)
    case "none":
      return Effect.fail(new NotFoundError({ code: "no-route", message: `no route ${path}: see docs/server.md` }))
  }
}

/** The gate's verdict, then the route: a refused caller reaches no operation. */
const serve = (config: KvApiConfig, request: KvApiRequest, tally: Tally, newClientId: () => string): Served =>
  Effect.suspend(() => {
    const caller = request.caller
    if (!isPrincipal(caller)) {
      if (caller.status === 401) tally.errorKinds.push("unauthorized")
      return Effect.fail(new AuthenticationError({ ...caller, unreadBody: hasBody(request.headers) }))
    }
    return route({ config, request, url: requestUrl(request.target), principal: caller, tally, newClientId })
  })

export const makeKvApiHandler = (config: KvApiConfig): KvApiHandler => {
  let sessions = 0
  const newClientId = () => `${config.sessionPrefix}-${++sessions}`
  return (request) => {
    const tally: Tally = { errorKinds: [], bytesIn: 0 }
    const answer = (head: KvApiResponseHead, defect?: string): KvApiResponse => ({ ...head, ...tally, ...(defect === undefined ? {} : { defect }) })
    const internal = (defect: string): KvApiResponse => {
      tally.errorKinds.push("internal")
      return answer(internalErrorResponse(), defect)
    }
    return serve(config, request, tally, newClientId).pipe(
      Effect.map((head) => answer(head)),
      Effect.catch((e: KvApiError | BodyReadError) => {
        // A body that could not be read leaves no client to answer: a failure of the exchange, not a refusal.
        if (e._tag === "BodyReadError") return Effect.succeed(internal(`the request body could not be read: ${e.message}`))
        const head = errorResponse(e)
        if (head.status >= 400 && head.status < 500) tally.errorKinds.push("bad_request")
        return Effect.succeed(answer(head))
      }),
      Effect.catchCause((cause) => Effect.succeed(internal(Cause.pretty(cause))))
    )
  }
}
