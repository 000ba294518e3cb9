/**
 * The admin routes, open to the admin's key only (403 otherwise):
 * `/v1/admin/members` (list; add, remove, drain and promote go to the leader) and
 * `/v1/admin/s3/users` (S3 access keys: list, create — the secret is shown
 * only in that answer — and revoke).
 */
import { Effect } from "effect"
import { Clock } from "../clock/clock.ts"
import type { Digest } from "../s3/digest.ts"
import type { Users } from "../s3/users.ts"
import { checkSignedBody, parseJson, readBody } from "./body.ts"
import type { RequestContext } from "./context.ts"
import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  type KvApiError,
  MethodNotAllowedError,
  NotFoundError,
  NotImplementedError,
  OutcomeUnknownError,
  TooLargeError,
  UnavailableError
} from "./errors.ts"
import { leaderError } from "./kv-calls.ts"
import type { BodyReadError } from "./request.ts"
import { jsonResponse, type KvApiResponseHead } from "./response.ts"

type Served = Effect.Effect<KvApiResponseHead, KvApiError | BodyReadError, Digest | Clock>

/** Admin request bodies are small JSON documents. */
const ADMIN_BODY_LIMIT = 64 * 1024

export const requireAdmin = (ctx: RequestContext): Effect.Effect<void, ForbiddenError> => {
  if (ctx.principal.admin) return Effect.void
  ctx.tally.errorKinds.push("unauthorized")
  return Effect.fail(new ForbiddenError({ message: `admin endpoints need the admin's access key; ${ctx.principal.accessKey} belongs to user ${ctx.principal.user}` }))
}

/** A small JSON body, its signed hash checked; undefined when it is not JSON. */
const jsonBody = (ctx: RequestContext) =>
  Effect.gen(function*() {
    const body = yield* readBody(ctx.request, ADMIN_BODY_LIMIT, () => new TooLargeError({ code: "too-large", message: "the request body is too large", closeConnection: false }))
    yield* checkSignedBody(ctx.principal, body)
    return parseJson(body)
  })

const addMember = (ctx: RequestContext): Served =>
  Effect.gen(function*() {
    const parsed = yield* jsonBody(ctx)
    if (parsed === undefined) {
      return yield* new InvalidRequestError({ code: "bad-json", message: 'expected a JSON body {"id": "n4", "peerAddress": "host:port", "apiAddress": "host:port", "learner": false}' })
    }
    const outcome = yield* ctx.config.members.add(parsed)
    if (typeof outcome !== "string") return jsonResponse(200, outcome)
    return yield* (outcome.startsWith("busy") ? new ConflictError({ code: "busy", message: outcome }) : new InvalidRequestError({ code: "bad-member", message: outcome }))
  })

const removeMember = (ctx: RequestContext, id: string): Served =>
  Effect.gen(function*() {
    const outcome = yield* ctx.config.members.remove(id)
    if (typeof outcome !== "string") return jsonResponse(200, outcome)
    if (outcome.startsWith("busy")) return yield* new ConflictError({ code: "bad-member", message: outcome })
    if (outcome.startsWith("unknown")) return yield* new NotFoundError({ code: "bad-member", message: outcome })
    return yield* new InvalidRequestError({ code: "bad-member", message: outcome })
  })

const drainMember = (ctx: RequestContext, id: string, draining: boolean): Served =>
  Effect.gen(function*() {
    const outcome = yield* ctx.config.members.drain(id, draining)
    if (typeof outcome !== "string") return jsonResponse(200, outcome)
    if (outcome.startsWith("busy")) return yield* new ConflictError({ code: "busy", message: outcome })
    if (outcome.startsWith("unknown")) return yield* new NotFoundError({ code: "bad-member", message: outcome })
    return yield* new InvalidRequestError({ code: "bad-member", message: outcome })
  })

const promoteMember = (ctx: RequestContext, id: string): Served =>
  Effect.gen(function*() {
    const outcome = yield* ctx.config.members.promote(id)
    if (typeof outcome !== "string") return jsonResponse(200, outcome)
    if (outcome.startsWith("busy")) return yield* new ConflictError({ code: "busy", message: outcome })
    if (outcome.startsWith("unknown")) return yield* new NotFoundError({ code: "bad-member", message: outcome })
    return yield* new InvalidRequestError({ code: "bad-member", message: outcome })
  })

/** `/v1/admin/members` with `rest` the path after it ("", "/{id}", "/{id}/drain" or "/{id}/promote"). */
export const membersOperation = (ctx: RequestContext, rest: string): Served =>
  Effect.gen(function*() {
    yield* requireAdmin(ctx)
    const method = ctx.request.method
    if (rest === "" && method === "GET") return jsonResponse(200, yield* ctx.config.members.list)
    const status = yield* ctx.config.kv.raft.status
    if (method !== "GET" && status.role !== "leader") {
      return yield* leaderError(ctx.config, status.leader === ctx.config.id ? undefined : status.leader, "membership changes go to the leader")
    }
    if (rest === "" && method === "POST") return yield* addMember(ctx)
    const drain = /^\/([^/]+)\/drain$/.exec(rest)
    if (drain !== null && (method === "POST" || method === "DELETE")) return yield* drainMember(ctx, decodeURIComponent(drain[1]!), method === "POST")
    const promote = /^\/([^/]+)\/promote$/.exec(rest)
    if (promote !== null && method === "POST") return yield* promoteMember(ctx, decodeURIComponent(promote[1]!))
    if (rest.startsWith("/") && !rest.slice(1).includes("/") && method === "DELETE") return yield* removeMember(ctx, decodeURIComponent(rest.slice(1)))
    return yield* new MethodNotAllowedError({
      message: "use GET or POST /v1/admin/members, DELETE /v1/admin/members/{id}, POST or DELETE /v1/admin/members/{id}/drain, POST /v1/admin/members/{id}/promote"
    })
  })

/** A user directory failure as the API's error: a bad name is the client's, an unknown outcome a 504, the rest a 503. */
const directoryCall = <A>(effect: Effect.Effect<A, { readonly _tag: string; readonly message: string; readonly ambiguous?: boolean }>): Effect.Effect<A, KvApiError> =>
  Effect.mapError(effect, (failure): KvApiError => {
    if (failure._tag === "InvalidUserError") return new InvalidRequestError({ code: "bad-user", message: failure.message })
    if (failure.ambiguous === true) return new OutcomeUnknownError({ message: `${failure.message}; list the keys to find out whether it took effect` })
    return new UnavailableError({ message: failure.message })
  })

const addUserKey = (ctx: RequestContext, users: Users): Served =>
  Effect.gen(function*() {
    const parsed = yield* jsonBody(ctx)
    const user = typeof parsed === "object" && parsed !== null ? (parsed as { readonly user?: unknown }).user : undefined
    if (typeof user !== "string") return yield* new InvalidRequestError({ code: "bad-json", message: 'expected a JSON body {"user": "NAME"}' })
    const { accessKey, secretKey } = yield* ctx.config.newKeyPair
    const createdMs = yield* (yield* Clock).wallMs
    const created = yield* directoryCall(users.addKey({ user, accessKey, secretKey, createdMs }))
    return jsonResponse(200, { ...created, secretKey })
  })

/** `/v1/admin/s3/users` with `rest` the path after it ("" or "/{accessKey}"). */
export const s3UsersOperation = (ctx: RequestContext, rest: string): Served =>
  Effect.gen(function*() {
    yield* requireAdmin(ctx)
    const users = ctx.config.users
    // Not a 503: nothing will change by retrying until the server runs the S3 layer.
    if (users === undefined) return yield* new NotImplementedError({ code: "s3-not-running", message: "the S3 layer is not running on this node" })
    const method = ctx.request.method
    if (rest === "" && method === "GET") return jsonResponse(200, { keys: yield* directoryCall(users.listKeys) })
    if (rest === "" && method === "POST") return yield* addUserKey(ctx, users)
    if (rest.startsWith("/") && method === "DELETE") {
      const accessKey = decodeURIComponent(rest.slice(1))
      if (!(yield* directoryCall(users.revoke(accessKey)))) return yield* new NotFoundError({ code: "not-found", message: `no access key ${accessKey}` })
      return jsonResponse(200, { accessKey, revoked: true })
    }
    return yield* new MethodNotAllowedError({ message: "use GET or POST /v1/admin/s3/users, DELETE /v1/admin/s3/users/{accessKey}" })
  })
